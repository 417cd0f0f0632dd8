//! What the API sends and receives: the new-test form, field errors, previews, live state and
//! run history. These are the web's own types; the binary fills them from its engine-side types,
//! so this crate never sees a plan, a coordinator or a backend.

use serde::{Deserialize, Serialize};

/// The new-test form, as typed: every value is text and is checked exactly as the command line's
/// flag of the same name would be (`users` as `--users`, `regions` as `--regions`, …).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunRequest {
    /// Quick mode: the URL to load (GET). With the demo target, a path such as `/shop/`.
    pub url: String,
    /// A scenario's text (YAML or TOML), instead of a URL.
    pub scenario: String,
    /// `yaml` (default) or `toml`.
    pub scenario_format: String,
    /// Host for the scenario's relative URLs (`--host`).
    pub host: String,
    /// `closed` (users and spawn rate), `stages` or `arrival` (arrival rate, open model).
    pub shape: String,
    pub users: String,
    pub spawn_rate: String,
    pub run_time: String,
    pub stages: String,
    pub arrival_rate: String,
    pub max_users: String,
    /// One threshold per line, as `--threshold`.
    pub thresholds: String,
    pub abort_on_fail: bool,
    /// `local`, or another backend the server says is configured.
    pub backend: String,
    /// `name` or `name:weight`, comma-separated, as `--regions`.
    pub regions: String,
    /// Workers per region, as `--workers`.
    pub workers: String,
    /// Local backend: `region:duration` added to each request, as `--region-latency`.
    pub region_latency: String,
    /// AWS: the deployment to run in (default `default`).
    pub deployment: String,
    /// AWS: the workers' instance type (default from the binary's architecture).
    pub instance_type: String,
    /// AWS: most instances over all regions (default 20).
    pub max_instances: String,
    /// AWS: refuse to start above this estimated cost, in US dollars.
    pub max_cost: String,
    /// AWS: spot instances.
    pub spot: bool,
    /// AWS: the VPC, as `--vpc` (`vpc-…`, or `REGION=vpc-…,…` for several regions).
    #[serde(default)]
    pub vpc: String,
    /// AWS: the subnets, as `--subnets` (`subnet-a,subnet-b`, or `REGION=subnet-a,…`).
    #[serde(default)]
    pub subnets: String,
    /// AWS: the workers' security group, as `--security-group`.
    #[serde(default)]
    pub security_group: String,
}

/// A problem with one form field, shown next to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The [`RunRequest`] field name.
    pub field: String,
    pub message: String,
    /// For the scenario: where in the text (1-based), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.to_string(),
            message: message.into(),
            line: None,
            column: None,
        }
    }
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the form has errors")]
    Invalid(Vec<FieldError>),
    #[error("run {0} is still going; stop it first")]
    Busy(String),
    #[error("{0}")]
    Internal(String),
}

/// What a valid form would run, before it runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Preview {
    pub backend: String,
    pub regions: Vec<RegionPreview>,
    /// Lines describing the load model and the plan.
    pub plan: Vec<String>,
    /// Estimated cost of the run's machines in US dollars (0 on the local backend).
    pub cost_usd: f64,
    /// How the cost was estimated.
    pub cost_note: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegionPreview {
    pub name: String,
    /// Share of the load, 0 to 1.
    pub share: f64,
    pub workers: u32,
    /// Machines started for the region (worker processes on the local backend).
    pub instances: u32,
    pub instance_type: String,
}

/// A backend the form may choose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BackendInfo {
    pub name: String,
    pub label: String,
    /// Regions offered by default.
    pub regions: String,
}

/// What the page needs to draw the form.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UiConfig {
    pub version: String,
    pub backends: Vec<BackendInfo>,
    /// Values the form starts with (e.g. aimed at the embedded demo target).
    pub defaults: RunRequest,
    /// The embedded demo target's base URL, when one runs.
    pub demo_target: Option<String>,
}

/// One point of a chart: a second of the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Unix seconds.
    pub t: u64,
    pub rps: f64,
    pub fps: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub users: u64,
    /// Arrivals dropped in this second (open model).
    pub dropped: u64,
}

/// One row of the statistics table; `method` is empty for the Aggregated row.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EntryRow {
    pub method: String,
    pub name: String,
    pub requests: u64,
    pub failures: u64,
    pub median_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub avg_ms: Option<f64>,
    pub min_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub avg_size: f64,
    pub current_rps: f64,
    pub current_fps: f64,
    /// Response times as `/metrics` shows them; not part of the JSON API.
    #[serde(skip)]
    pub latency: Latency,
}

/// Upper bounds, in seconds, of the `/metrics` response-time histogram's buckets (`le`), below
/// the implicit `+Inf`.
pub const LATENCY_BOUNDS_S: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// One entry's response times at [`LATENCY_BOUNDS_S`]: what a Prometheus histogram needs, read
/// from the entry's HDR histogram since the start of the run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Latency {
    /// Requests at or below each bound (cumulative), within the HDR histogram's 0.1%.
    pub at_or_below: Vec<u64>,
    /// Every request (the `+Inf` bucket).
    pub count: u64,
    /// Sum of all response times, microseconds.
    pub sum_us: u64,
}

impl Latency {
    pub fn of(hist: &brood_stats::Histogram) -> Latency {
        let sparse = hist.to_sparse();
        let mut buckets = sparse.buckets.iter().peekable();
        let mut below = 0;
        let at_or_below = LATENCY_BOUNDS_S
            .iter()
            .map(|bound| {
                // A bucket counts below a bound when its lowest value does: values that share
                // an HDR bucket cannot be told apart.
                let bound_us = (bound * 1e6).round() as u64;
                while let Some((_, n)) = buckets.next_if(|(value, _)| *value <= bound_us) {
                    below += n;
                }
                below
            })
            .collect();
        Latency {
            at_or_below,
            count: hist.count(),
            sum_us: hist.sum(),
        }
    }
}

/// Figures of all regions together (`name` "all") or of one region.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct View {
    pub name: String,
    pub series: Vec<Point>,
    /// Per entry, then the Aggregated row.
    pub table: Vec<EntryRow>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerRow {
    pub worker: String,
    pub region: String,
    pub state: String,
    /// Unix ms.
    pub last_heartbeat_ms: u64,
    pub cpu_percent: Option<f32>,
    pub users: u64,
    pub requests: u64,
    pub failures: u64,
}

/// One region's fleet while it comes up: the instances (or processes) asked for, those still
/// starting, those in service, and those that exited.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProvisionRow {
    pub region: String,
    pub requested: u32,
    pub starting: u32,
    pub in_service: u32,
    pub exited: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FailureRow {
    pub method: String,
    pub name: String,
    pub error: String,
    pub occurrences: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExceptionRow {
    pub count: u64,
    pub message: String,
    pub traceback: String,
    pub nodes: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub at_ms: u64,
    pub text: String,
}

/// Everything the live view shows, replaced every second.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveState {
    pub run_id: String,
    /// `starting`, `running`, `stopping` or `finished`.
    pub state: String,
    pub started_ms: u64,
    /// The common start, once set.
    pub start_at_ms: Option<u64>,
    pub run_time_s: Option<u64>,
    pub all: View,
    pub regions: Vec<View>,
    pub workers: Vec<WorkerRow>,
    /// Each region's fleet during the provisioning phase, last as seen.
    #[serde(default)]
    pub provisioning: Vec<ProvisionRow>,
    pub failures: Vec<FailureRow>,
    pub exceptions: Vec<ExceptionRow>,
    pub notes: Vec<Note>,
    pub verdicts: Vec<String>,
    /// How the run ended (`completed`, `stopped`, `aborted`, `failed: …`), once it has.
    pub end: Option<String>,
}

impl LiveState {
    /// The same state with only the last `points` of each series: what a live update carries.
    pub fn tail(&self, points: usize) -> LiveState {
        let cut = |v: &View| View {
            name: v.name.clone(),
            series: v.series[v.series.len().saturating_sub(points)..].to_vec(),
            table: v.table.clone(),
        };
        LiveState {
            all: cut(&self.all),
            regions: self.regions.iter().map(cut).collect(),
            ..self.clone()
        }
    }
}

/// A run's headline figures.
pub use brood_stats::Headline;

/// One run of the history.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub id: String,
    pub started_ms: u64,
    pub ended_ms: Option<u64>,
    pub status: String,
    pub backend: String,
    pub regions: Vec<String>,
    /// What ran, in a line (target and load model).
    pub description: String,
    pub headline: Option<Headline>,
    pub note: Option<String>,
}

/// A file of a run that can be downloaded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    /// Path below the run's folder, with `/` separators: `merged_stats.csv`, `eu/region_stats.csv`.
    pub name: String,
    pub bytes: u64,
    /// A label for the page, e.g. "merged stats CSV".
    pub label: String,
    #[serde(skip)]
    pub path: std::path::PathBuf,
}

/// A run with its downloads, for its page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: RunSummary,
    /// The run's settings as recorded (the plan).
    pub settings: serde_json::Value,
    pub artifacts: Vec<Artifact>,
    /// True while the run can be watched live in this server.
    pub live: bool,
    /// True when the form it was started from is known ("run again").
    pub rerunnable: bool,
}
