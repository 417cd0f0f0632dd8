//! The JSON summary of a run, schema in `docs/json-summary.md`: what CI jobs, comparisons and
//! dashboards read instead of parsing CSV.
//!
//! Every time is in milliseconds (fractional, from µs-precise stats), every instant in Unix
//! milliseconds. Rates use Locust's divisor (last request − run start), as the stats CSV does.

use std::io::Write;

use brood_plan::EntryName;
use brood_stats::{EntryStats, RunStats, PERCENTILES};
use serde::{Deserialize, Serialize};

use crate::threshold::{metric_name, metric_unit, op_text, ThresholdResult};
use crate::units::ms;
use crate::utc::utc_timestamp;
use crate::ReportError;

/// Bumped when a field changes meaning or disappears; adding a field does not bump it.
pub const SCHEMA_VERSION: u32 = 1;

/// What the caller knows about the run that the stats do not.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub run_id: String,
    /// The scenario file, as given.
    pub scenario: Option<String>,
    /// The target host or base URL.
    pub target: String,
    /// Unix ms.
    pub started_ms: u64,
    pub ended_ms: u64,
    pub users_peak: u64,
    /// Human-readable lines describing the load model, e.g. `users: 0 → 100 over 60s`.
    pub model: Vec<String>,
    /// Regions the load came from; empty for a local run.
    pub regions: Vec<String>,
    /// Worker processes that took part (1 for a local run).
    pub workers: u64,
    /// The brood version that ran.
    pub version: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub schema_version: u32,
    pub run: RunSummary,
    /// All entries merged (Locust's Aggregated row); `method` is null.
    pub totals: EntrySummary,
    /// Sorted by name, then method.
    pub entries: Vec<EntrySummary>,
    pub failures: Vec<FailureSummary>,
    pub exceptions: Vec<ExceptionSummary>,
    pub dropped_arrivals: u64,
    /// Requests still waiting for a response when the run ended, cut off and in no count.
    #[serde(default)]
    pub cut_off_requests: u64,
    pub thresholds: ThresholdsSummary,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    #[serde(flatten)]
    pub info: RunInfo,
    /// `ended_ms − started_ms`, in seconds.
    pub duration_s: f64,
    /// The seconds rates divide by: last request − run start.
    pub rate_duration_s: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EntrySummary {
    pub method: Option<String>,
    pub name: String,
    pub requests: u64,
    pub failures: u64,
    /// failures ÷ requests, 0 without requests.
    pub failure_rate: f64,
    pub rps: f64,
    pub failures_per_s: f64,
    /// Null without requests.
    pub response_time_ms: Option<ResponseTimes>,
    pub content_bytes_total: u64,
    pub content_bytes_avg: f64,
    pub timing_ms: TimingSummary,
    pub first_request_ms: Option<u64>,
    pub last_request_ms: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponseTimes {
    pub min: f64,
    pub avg: f64,
    pub max: f64,
    /// Locust's list: 50, 66, 75, 80, 90, 95, 98, 99, 99.9, 99.99, 100.
    pub percentiles: Vec<Percentile>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Percentile {
    /// In percent, e.g. 99.9.
    pub p: f64,
    pub ms: f64,
}

/// Means of the connection phases; null when the phase never happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimingSummary {
    pub connect_avg: Option<f64>,
    pub connects: u64,
    pub tls_avg: Option<f64>,
    pub tls_handshakes: u64,
    pub ttfb_avg: Option<f64>,
    pub ttfb_count: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailureSummary {
    pub method: String,
    pub name: String,
    pub error: String,
    pub occurrences: u64,
    pub first_seen_ms: u64,
    pub last_seen_ms: u64,
    /// The same instants as `YYYY-MM-DDTHH:MM:SSZ`.
    pub first_seen: String,
    pub last_seen: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExceptionSummary {
    pub message: String,
    pub count: u64,
    pub traceback: String,
    pub nodes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdsSummary {
    /// True when every threshold passed (also when there are none).
    pub passed: bool,
    pub results: Vec<ThresholdSummary>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdSummary {
    pub source: String,
    /// Null for the aggregated figures.
    pub entry: Option<EntrySelectorSummary>,
    pub metric: String,
    pub op: String,
    pub bound: f64,
    pub unit: String,
    pub actual: Option<f64>,
    pub passed: bool,
    pub abort_on_fail: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EntrySelectorSummary {
    /// Null: any method.
    pub method: Option<String>,
    pub name: String,
}

/// Builds the summary of a finished (or running) run.
pub fn summary(info: &RunInfo, stats: &RunStats, thresholds: &[ThresholdResult]) -> Summary {
    let totals = stats.totals();
    let rate_secs = stats.rate_secs();
    let mut names: Vec<&EntryName> = totals.entries.keys().collect();
    names.sort_by(|a, b| (&a.name, &a.method).cmp(&(&b.name, &b.method)));
    let entries = names
        .into_iter()
        .map(|n| {
            let method = Some(n.method.clone());
            entry_summary(method, &n.name, &totals.entries[n], rate_secs)
        })
        .collect();
    let mut failures: Vec<_> = totals.failures.iter().collect();
    failures.sort_by(|(a, _), (b, _)| {
        (&a.name, &a.method, &a.error).cmp(&(&b.name, &b.method, &b.error))
    });
    let failures = failures
        .into_iter()
        .map(|(k, f)| FailureSummary {
            method: k.method.clone(),
            name: k.name.clone(),
            error: k.error.clone(),
            occurrences: f.occurrences,
            first_seen_ms: f.first_seen_ms,
            last_seen_ms: f.last_seen_ms,
            first_seen: utc_timestamp(f.first_seen_ms / 1000),
            last_seen: utc_timestamp(f.last_seen_ms / 1000),
        })
        .collect();
    let exceptions = totals
        .exceptions
        .iter()
        .map(|(message, e)| ExceptionSummary {
            message: message.clone(),
            count: e.count,
            traceback: e.traceback.clone(),
            nodes: e.nodes.iter().cloned().collect(),
        })
        .collect();
    Summary {
        schema_version: SCHEMA_VERSION,
        run: RunSummary {
            info: info.clone(),
            duration_s: info.ended_ms.saturating_sub(info.started_ms) as f64 / 1000.0,
            rate_duration_s: rate_secs,
        },
        totals: entry_summary(None, "Aggregated", stats.aggregated(), rate_secs),
        entries,
        failures,
        exceptions,
        dropped_arrivals: totals.dropped_arrivals,
        cut_off_requests: totals.cut_off,
        thresholds: ThresholdsSummary {
            passed: thresholds.iter().all(|r| r.passed),
            results: thresholds.iter().map(threshold_summary).collect(),
        },
    }
}

fn entry_summary(
    method: Option<String>,
    name: &str,
    e: &EntryStats,
    rate_secs: f64,
) -> EntrySummary {
    let response_time_ms = (e.requests > 0).then(|| ResponseTimes {
        min: ms(e.min_us as f64),
        avg: ms(e.avg_us()),
        max: ms(e.max_us as f64),
        percentiles: PERCENTILES
            .iter()
            .map(|&p| Percentile {
                p,
                ms: ms(e.hist.value_at_percentile(p) as f64),
            })
            .collect(),
    });
    let t = &e.timing;
    EntrySummary {
        method,
        name: name.to_owned(),
        requests: e.requests,
        failures: e.failures,
        failure_rate: e.failure_rate(),
        rps: brood_stats::per_second(e.requests, rate_secs),
        failures_per_s: brood_stats::per_second(e.failures, rate_secs),
        response_time_ms,
        content_bytes_total: e.content_bytes,
        content_bytes_avg: e.avg_content_bytes(),
        timing_ms: TimingSummary {
            connect_avg: t.avg_connect_us().map(ms),
            connects: t.connects,
            tls_avg: t.avg_tls_us().map(ms),
            tls_handshakes: t.tls_handshakes,
            ttfb_avg: t.avg_ttfb_us().map(ms),
            ttfb_count: t.ttfb_count,
        },
        first_request_ms: e.first_request_ms,
        last_request_ms: e.last_request_ms,
    }
}

fn threshold_summary(r: &ThresholdResult) -> ThresholdSummary {
    let t = &r.threshold;
    ThresholdSummary {
        source: t.source.clone(),
        entry: t.entry.as_ref().map(|s| EntrySelectorSummary {
            method: s.method.clone(),
            name: s.name.clone(),
        }),
        metric: metric_name(t.metric),
        op: op_text(t.op).to_owned(),
        bound: t.value,
        unit: metric_unit(t.metric).to_owned(),
        actual: r.actual,
        passed: r.passed,
        abort_on_fail: t.abort_on_fail,
    }
}

/// Writes `summary` as pretty-printed JSON followed by a newline.
pub fn write_json_summary(mut w: impl Write, summary: &Summary) -> Result<(), ReportError> {
    serde_json::to_writer_pretty(&mut w, summary).map_err(ReportError::WriteJson)?;
    w.write_all(b"\n")
        .and_then(|()| w.flush())
        .map_err(|source| ReportError::Write {
            what: "the JSON summary",
            source,
        })
}
