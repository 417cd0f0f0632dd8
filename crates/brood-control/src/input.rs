//! A run's and a worker's inputs as plain values: what `brood run` and `brood worker` take on
//! the command line, or the web form fills in, before anything is checked. Every field is text or
//! a plain number as given; `settings.rs` checks them, with errors naming the flag.

use std::path::PathBuf;

/// What a run is asked to do: `brood run`'s flags, or the web form's fields.
#[derive(Clone, Debug)]
pub struct RunInput {
    /// Quick mode: the URL to load (GET), instead of a scenario file. With --demo-target, a path.
    pub url: Option<String>,
    /// Scenario file (.yaml, .yml or .toml) describing user types, tasks and requests.
    pub scenario: Option<PathBuf>,
    /// The folder feed files are read from (they must be in it or below it) [default: the
    /// scenario file's folder].
    pub data_dir: Option<PathBuf>,
    /// Host that relative URLs in the scenario are sent to (overrides the file's `host`).
    pub host: Option<String>,
    /// Peak number of concurrent users (closed model). Default 1, or the file's `load.users`.
    pub users: Option<String>,
    /// Users started per second until --users are running. Default 1, or the file's.
    pub spawn_rate: Option<String>,
    /// Stop after this long, e.g. 300s, 20m, 1h30m (a bare number is seconds). Default: until Ctrl-C.
    pub run_time: Option<String>,
    /// Load stages instead of users/spawn rate: `30s:100,1m:100,30s:0` (users, ramped linearly
    /// from the previous stage) or `30s:100/s,1m:500/s` (arrival rates, open model).
    pub stages: Option<String>,
    /// Open model: start this many arrivals per second whatever the response times; latency is
    /// measured from each arrival's intended start (coordinated omission corrected).
    pub arrival_rate: Option<String>,
    /// What one arrival runs: `iterations` (a whole task) or `requests` (one request).
    pub arrival_unit: Option<String>,
    /// Open model: most users busy at once; arrivals beyond them are dropped and counted.
    pub max_users: Option<String>,
    /// Quick mode think time after each request: `1s`, or a range `1s..3s` (uniform).
    pub wait: Option<String>,
    /// How long running tasks may finish after the run ends before they are cut off. Default 0.
    pub stop_timeout: Option<String>,
    /// Pass/fail condition, repeatable: `p95 < 500ms`, `failure_rate < 1%`, `rps > 1000`,
    /// `"GET /cart: p99 < 1s"`. A failed threshold makes the exit code 3.
    pub thresholds: Vec<String>,
    /// Stop the run as soon as a --threshold given on the command line fails (checked every second).
    pub abort_on_fail: bool,
    /// Write Locust's CSV files: PREFIX_stats.csv (rewritten every second), PREFIX_stats_history.csv,
    /// PREFIX_failures.csv and PREFIX_exceptions.csv.
    pub csv: Option<String>,
    /// Write every entry to the history CSV every second, not only the Aggregated row. History
    /// percentiles are over the last 10 seconds, not cumulative.
    pub csv_full_history: bool,
    /// Write the JSON summary here (schema: docs/json-summary.md).
    pub json: Option<PathBuf>,
    /// Write JUnit XML here, one test case per threshold.
    pub junit: Option<PathBuf>,
    /// Write a self-contained HTML report here (charts and tables; opens without a network).
    pub html: Option<PathBuf>,
    /// Exit code when any request failed (Locust's --exit-code-on-error). 0 ignores failures.
    pub exit_code_on_error: u8,
    /// Accept any TLS certificate (for staging hosts with self-signed certificates).
    pub insecure: bool,
    /// Use HTTP/2: ALPN h2 over TLS, prior knowledge (h2c) over plain HTTP.
    pub http2: bool,
    /// Engine threads (one runtime each). Default: one per core.
    pub threads: Option<String>,
    /// The most bytes of a response body kept (checks, extraction) or decoded, e.g. `16MiB`.
    pub max_body: Option<String>,
    /// Run loads past the bounds derived from this machine (users and arrivals per engine thread,
    /// memory per user).
    pub allow_huge_load: bool,
    /// Start the built-in demo target on 127.0.0.1 and aim the run at it.
    pub demo_target: bool,
    /// No live view; only the final summary.
    pub quiet: bool,
    /// Print the plan (user types, weights, steps, expected request mix) and exit without running.
    pub dry_run: bool,
    /// Only run tasks and steps with one of these tags (comma-separated).
    pub tags: Vec<String>,
    /// Leave out tasks and steps with one of these tags (comma-separated).
    pub exclude_tags: Vec<String>,
    /// Run distributed on this backend: `local` (worker processes on this machine) or `aws`
    /// (AutoScaling groups of EC2 instances; see `brood aws setup`). Without it, the run stays in
    /// this process, the fastest way to load from one machine.
    pub backend: Option<String>,
    /// Regions to load from, comma-separated; `name:weight` gives a region a share of the load
    /// (default 1 each). With the local backend, regions are simulated.
    pub regions: Option<String>,
    /// Workers per region: a number for every region, or `region=count,...` region by region
    /// (others get 1). With the aws backend, default: sized from the plan's request rate.
    pub workers: Option<String>,
    /// AWS: the deployment to run in (set up implicitly for missing regions).
    pub deployment: String,
    /// AWS: the workers' instance type (default c6i.large, or c7g.large for an arm64 binary;
    /// burstable t2/t3/t3a/t4g types run with standard CPU credits, sized for their baseline).
    pub instance_type: Option<String>,
    /// AWS: most instances over all regions; a larger fleet is refused.
    pub max_instances: u32,
    /// AWS: refuse to start when the cost preview is above this many US dollars.
    pub max_cost: Option<f64>,
    /// AWS: on-demand prices from this JSON file instead of the built-in dated table.
    pub price_file: Option<PathBuf>,
    /// AWS: requests per second one vCPU sends within the validity threshold, when sizing the
    /// fleet (default: estimated from the plan's protocol, checks and think time; see
    /// docs/aws-cost.md).
    pub requests_per_vcpu: Option<f64>,
    /// AWS: use spot instances.
    pub spot: bool,
    /// AWS: the Linux brood binary workers run (default: this one).
    pub worker_binary: Option<PathBuf>,
    /// AWS: the VPC per region, `[REGION=]vpc-ID`, repeatable (stored in the deployment).
    pub vpc: Vec<String>,
    /// AWS: the subnets per region, `[REGION=]subnet-a,subnet-b`, repeatable.
    pub subnets: Vec<String>,
    /// AWS: the workers' security group per region, `[REGION=]sg-ID`, repeatable.
    pub security_group: Vec<String>,
    /// AWS: the image of a region, `REGION=AMI`, repeatable (default: the current Amazon Linux
    /// 2023 AMI of each region). A bare `AMI` only when the run has one region.
    pub ami: Vec<String>,
    /// AWS: the glibc version of the --ami images, to check the worker binary against.
    pub ami_glibc: Option<String>,
    /// AWS: the profile (default: the standard credential chain).
    pub profile: Option<String>,
    /// Local backend: latency added to every request of a region, `local-b:80ms,local-c:150ms`,
    /// so that region views differ.
    pub region_latency: Option<String>,
    /// How long the workers may take to come into service (instances booted, processes up)
    /// before the run gives up [default: 60s on local, 10m on aws].
    pub provision_timeout: Option<String>,
    /// How long to wait, once the workers are in service, for every one to be ready before the
    /// start [default: 60s on local, 3m on aws].
    pub barrier_timeout: Option<String>,
    /// Start with the workers that are ready when the barrier times out (else the run fails).
    pub start_with_fewer: bool,
    /// A worker silent this long is marked lost; the run goes on without it.
    pub heartbeat_timeout: String,
    /// Where distributed runs keep queues, history and results (`runs/<run-id>/`).
    pub results: PathBuf,
}

impl Default for RunInput {
    /// The command line's defaults.
    fn default() -> RunInput {
        RunInput {
            url: None,
            scenario: None,
            data_dir: None,
            host: None,
            users: None,
            spawn_rate: None,
            run_time: None,
            stages: None,
            arrival_rate: None,
            arrival_unit: None,
            max_users: None,
            wait: None,
            stop_timeout: None,
            thresholds: Vec::new(),
            abort_on_fail: false,
            csv: None,
            csv_full_history: false,
            json: None,
            junit: None,
            html: None,
            exit_code_on_error: 1,
            insecure: false,
            http2: false,
            threads: None,
            max_body: None,
            allow_huge_load: false,
            demo_target: false,
            quiet: false,
            dry_run: false,
            tags: Vec::new(),
            exclude_tags: Vec::new(),
            backend: None,
            regions: None,
            workers: None,
            deployment: "default".into(),
            instance_type: None,
            max_instances: 20,
            max_cost: None,
            price_file: None,
            requests_per_vcpu: None,
            spot: false,
            worker_binary: None,
            vpc: Vec::new(),
            subnets: Vec::new(),
            security_group: Vec::new(),
            ami: Vec::new(),
            ami_glibc: None,
            profile: None,
            region_latency: None,
            provision_timeout: None,
            barrier_timeout: None,
            start_with_fewer: false,
            heartbeat_timeout: "15s".into(),
            results: "brood-results".into(),
        }
    }
}

/// Where a worker takes its jobs from and whom it trusts: `brood worker`'s flags.
#[derive(Clone, Debug)]
pub struct WorkerInput {
    /// The backend whose queues and store to use: `local` or `aws`. On AWS, credentials come
    /// only from the standard chain (the instance profile on EC2), never from a flag.
    pub backend: String,
    /// Local backend: the folder holding the queue database and the results.
    pub dir: Option<PathBuf>,
    /// AWS: the deployment whose queues and bucket to use.
    pub deployment: String,
    /// AWS: the deployment's home region, where the controller's queues and the bucket live.
    /// Default: --region.
    pub home_region: Option<String>,
    /// AWS: the results bucket. Default: the deployment's, `brood-<deployment>-<account>`.
    pub bucket: Option<String>,
    /// Where results wait when the store stays unavailable. Default: `<dir>/spool` on the
    /// local backend, `brood-spool` in the system's temporary folder on AWS.
    pub spool: Option<PathBuf>,
    /// The region this worker loads from.
    pub region: String,
    /// The queue to take jobs from: the local queue's name, or `jobs-<region>` on AWS.
    pub queue: String,
    /// The controller's queue (jobs name their own; this is where a worker reports problems).
    pub controller_queue: String,
    /// The controller's Ed25519 public key (hex): only jobs it signed are run.
    pub controller_key: String,
    /// Exit after this long without a job.
    pub idle_exit: String,
    /// Stop a run when the controller has been silent this long.
    pub dead_man: String,
}

impl Default for WorkerInput {
    /// The command line's defaults.
    fn default() -> WorkerInput {
        WorkerInput {
            backend: "local".into(),
            dir: None,
            deployment: "default".into(),
            home_region: None,
            bucket: None,
            spool: None,
            region: String::new(),
            queue: String::new(),
            controller_queue: String::new(),
            controller_key: String::new(),
            idle_exit: "2m".into(),
            dead_man: "30s".into(),
        }
    }
}

impl WorkerInput {
    /// Latency added to every request, from the fleet's environment variable.
    pub fn added_latency_ms(&self) -> u64 {
        std::env::var(brood_local::LATENCY_ENV)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }
}
