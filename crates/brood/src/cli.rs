//! The command line as clap sees it: raw flags only. `run.rs` turns them into checked settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "brood",
    version,
    about = "A distributed HTTP load tester with Locust's user model.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

pub const EXIT_CODES: &str = "\
Exit codes:
  0  the run completed, every threshold passed and no request failed
  1  some requests failed (set with --exit-code-on-error; 0 turns it off)
  2  invalid input: a flag, the scenario file or a threshold
  3  a threshold failed (also when it aborted the run)
  4  no load: no request completed, in the whole run or in one of its regions
  5  an infrastructure error: the engine could not start or results could not be written";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a load test headless, with a live view, a summary table, thresholds and exit codes.
    Run(Box<RunArgs>),
    /// Check a scenario file without running it.
    Check(CheckArgs),
    /// Serve the built-in demo target (a small shop API with realistic latencies and errors).
    DemoTarget(DemoTargetArgs),
    /// Take jobs from a region's queue and run them (started by a fleet, not usually by hand).
    Worker(Box<WorkerArgs>),
    /// List past distributed runs with their status and headline figures.
    Runs(RunsArgs),
    /// Serve the web UI and JSON API: start, watch, stop and compare runs in a browser.
    Serve(ServeArgs),
    /// The AWS backend's deployment: `brood aws setup`.
    #[command(subcommand)]
    Aws(AwsCommand),
    /// Delete everything an AWS deployment created, in every region (found by its tags), and its
    /// run lock.
    Cleanup(CleanupArgs),
}

#[derive(Debug, Subcommand)]
pub enum AwsCommand {
    /// Create (or find) the deployment's bucket, role, queues and security groups. Idempotent.
    Setup(AwsSetupArgs),
    /// On a worker instance: leave the AutoScaling group (one fewer desired) and terminate.
    LeaveGroup(LeaveGroupArgs),
    /// Print the least-privilege IAM policy (JSON) for whoever runs `brood aws setup`, `brood
    /// run --backend aws` and `brood cleanup` for a deployment (or, with --workers, the
    /// workers' role policy that setup writes).
    Policy(AwsPolicyArgs),
}

#[derive(Debug, Args)]
pub struct AwsPolicyArgs {
    /// The deployment's name.
    #[arg(long, default_value = "default")]
    pub deployment: String,

    /// Regions the deployment uses, the home region among them, comma-separated. Default: any
    /// region (the policy's ARNs name `*` as the region).
    #[arg(long, value_name = "REGIONS", value_delimiter = ',')]
    pub regions: Vec<String>,

    /// The 12-digit account. Default: the credentials' account (STS GetCallerIdentity, which
    /// needs no permission).
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,

    /// The partition (aws, aws-cn, aws-us-gov). Default: the credentials' (from their ARN), or
    /// aws with --account.
    #[arg(long, value_name = "NAME")]
    pub partition: Option<String>,

    /// The bucket, if set up with --bucket. Default: brood-<deployment>-<account>.
    #[arg(long, value_name = "NAME")]
    pub bucket: Option<String>,

    /// Print the workers' role policy instead (needs --regions and, for the home region's run
    /// queues, --home-region); each group's id shows as `*`.
    #[arg(long)]
    pub workers: bool,

    /// With --workers: the home region (where the run queues are). Default: the first region.
    #[arg(long, value_name = "REGION")]
    pub home_region: Option<String>,

    /// The AWS profile, to find the account and partition (default: the standard chain).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct AwsSetupArgs {
    /// Regions to run workers in, comma-separated (added to those already set up).
    #[arg(long, value_name = "REGIONS", value_delimiter = ',', required = true)]
    pub regions: Vec<String>,

    /// The deployment's name: lowercase letters, digits and `-`.
    #[arg(long, default_value = "default")]
    pub deployment: String,

    /// The bucket for binaries and results. Default: brood-<deployment>-<account>.
    #[arg(long, value_name = "NAME")]
    pub bucket: Option<String>,

    /// A host (or host:port) that cloud runs may load, repeatable; added to the allow-list.
    #[arg(long = "allow-target", value_name = "HOST")]
    pub allow_targets: Vec<String>,

    /// The VPC workers run in, per region: `vpc-ID` with one region, else
    /// `REGION=vpc-ID,...`; repeatable. Default: the region's default VPC.
    #[arg(long, value_name = "[REGION=]VPC")]
    pub vpc: Vec<String>,

    /// The subnets workers run in, per region: `subnet-a,subnet-b` with one region, else
    /// `REGION=subnet-a,subnet-b,REGION2=subnet-c` (ids after `REGION=` belong to it);
    /// repeatable. Named subnets may route out through a NAT gateway; without them brood takes
    /// the VPC's subnets that route 0.0.0.0/0 to an internet gateway.
    #[arg(long, value_name = "[REGION=]SUBNETS")]
    pub subnets: Vec<String>,

    /// A security group of the VPC for the workers instead of brood's own egress-only one,
    /// per region like --vpc.
    #[arg(long = "security-group", value_name = "[REGION=]SG")]
    pub security_group: Vec<String>,

    /// Run data under runs/ expires after this many days (default 30).
    #[arg(long, value_name = "N")]
    pub retention_days: Option<u32>,

    /// The AWS profile (default: the standard chain: environment, default profile, SSO).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct LeaveGroupArgs {
    /// The instance's region.
    #[arg(long)]
    pub region: String,
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// The deployment to remove.
    #[arg(long, default_value = "default")]
    pub deployment: String,

    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,

    /// Also delete the bucket with every run's results.
    #[arg(long)]
    pub purge_results: bool,

    /// The AWS profile.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:5000]. Off loopback a token is required.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,

    /// Access token for the page and the API (generated and printed when the address is not
    /// loopback and none is given).
    #[arg(
        long,
        env = "BROOD_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// Where runs keep queues, history and results [default: brood-results].
    #[arg(long, value_name = "DIR")]
    pub results: Option<PathBuf>,

    /// The folder feed files of scenarios submitted through the page are read from; nothing
    /// outside it can be named [default: RESULTS/scenarios].
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// Start the built-in demo target on 127.0.0.1 and fill the form in aimed at it.
    #[arg(long)]
    pub demo_target: bool,

    /// Longest time a client may take to send a request's head (slow clients are cut off)
    /// [default: 10s].
    #[arg(long, value_name = "DURATION")]
    pub head_timeout: Option<String>,

    /// Most connections open at once; more are closed as they arrive [default: 4096].
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,

    /// A TOML file with any of `bind`, `results`, `data`, `demo_target`, `head_timeout`,
    /// `max_connections` and `token`; flags win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// The results folder given to `brood run --results`.
    #[arg(long, value_name = "DIR", default_value = "brood-results")]
    pub results: std::path::PathBuf,

    /// How many runs to list, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Quick mode: the URL to load (GET), instead of a scenario file. With --demo-target, a path.
    pub url: Option<String>,

    /// Scenario file (.yaml, .yml or .toml) describing user types, tasks and requests.
    #[arg(short = 'f', long = "scenario", value_name = "FILE")]
    pub scenario: Option<PathBuf>,

    /// The folder feed files are read from (they must be in it or below it) [default: the
    /// scenario file's folder].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Host that relative URLs in the scenario are sent to (overrides the file's `host`).
    #[arg(short = 'H', long, value_name = "URL")]
    pub host: Option<String>,

    /// Peak number of concurrent users (closed model). Default 1, or the file's `load.users`.
    #[arg(short = 'u', long, value_name = "N", allow_hyphen_values = true)]
    pub users: Option<String>,

    /// Users started per second until --users are running. Default 1, or the file's.
    #[arg(short = 'r', long, value_name = "RATE", allow_hyphen_values = true)]
    pub spawn_rate: Option<String>,

    /// Stop after this long, e.g. 300s, 20m, 1h30m (a bare number is seconds). Default: until Ctrl-C.
    #[arg(short = 't', long, value_name = "DURATION", allow_hyphen_values = true)]
    pub run_time: Option<String>,

    /// Load stages instead of users/spawn rate: `30s:100,1m:100,30s:0` (users, ramped linearly
    /// from the previous stage) or `30s:100/s,1m:500/s` (arrival rates, open model).
    #[arg(long, value_name = "STAGES")]
    pub stages: Option<String>,

    /// Open model: start this many arrivals per second whatever the response times; latency is
    /// measured from each arrival's intended start (coordinated omission corrected).
    #[arg(long, value_name = "RATE")]
    pub arrival_rate: Option<String>,

    /// What one arrival runs: `iterations` (a whole task) or `requests` (one request).
    #[arg(long, value_name = "UNIT")]
    pub arrival_unit: Option<String>,

    /// Open model: most users busy at once; arrivals beyond them are dropped and counted.
    #[arg(long, value_name = "N")]
    pub max_users: Option<String>,

    /// Quick mode think time after each request: `1s`, or a range `1s..3s` (uniform).
    #[arg(long, value_name = "WAIT")]
    pub wait: Option<String>,

    /// How long running tasks may finish after the run ends before they are cut off. Default 0.
    #[arg(long, value_name = "DURATION")]
    pub stop_timeout: Option<String>,

    /// Pass/fail condition, repeatable: `p95 < 500ms`, `failure_rate < 1%`, `rps > 1000`,
    /// `"GET /cart: p99 < 1s"`. A failed threshold makes the exit code 3.
    #[arg(long = "threshold", value_name = "EXPR")]
    pub thresholds: Vec<String>,

    /// Stop the run as soon as a --threshold given on the command line fails (checked every second).
    #[arg(long)]
    pub abort_on_fail: bool,

    /// Write Locust's CSV files: PREFIX_stats.csv (rewritten every second), PREFIX_stats_history.csv,
    /// PREFIX_failures.csv and PREFIX_exceptions.csv.
    #[arg(long, value_name = "PREFIX")]
    pub csv: Option<String>,

    /// Write every entry to the history CSV every second, not only the Aggregated row. History
    /// percentiles are over the last 10 seconds, not cumulative.
    #[arg(long)]
    pub csv_full_history: bool,

    /// Write the JSON summary here (schema: docs/json-summary.md).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,

    /// Write JUnit XML here, one test case per threshold.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,

    /// Write a self-contained HTML report here (charts and tables; opens without a network).
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,

    /// Exit code when any request failed (Locust's --exit-code-on-error). 0 ignores failures.
    #[arg(long, value_name = "CODE", default_value_t = 1)]
    pub exit_code_on_error: u8,

    /// Accept any TLS certificate (for staging hosts with self-signed certificates).
    #[arg(long)]
    pub insecure: bool,

    /// Use HTTP/2: ALPN h2 over TLS, prior knowledge (h2c) over plain HTTP.
    #[arg(long)]
    pub http2: bool,

    /// Engine threads (one runtime each). Default: one per core.
    #[arg(long, value_name = "N")]
    pub threads: Option<String>,

    /// The most bytes of a response body kept for checks and extraction, or decoded (gzip,
    /// deflate, br): `16MiB` (the default), `512KiB`, `1GiB` or bytes. A larger body fails its
    /// request with "body larger than N" instead of filling memory.
    #[arg(long, value_name = "SIZE")]
    pub max_body: Option<String>,

    /// Run a load past the bounds derived from this machine: at most 100,000 users and 100,000
    /// arrivals per second per engine thread, and users within half the memory (32 KiB each).
    #[arg(long)]
    pub allow_huge_load: bool,

    /// Start the built-in demo target on 127.0.0.1 and aim the run at it.
    #[arg(long)]
    pub demo_target: bool,

    /// No live view; only the final summary.
    #[arg(short, long)]
    pub quiet: bool,

    /// Print the plan (user types, weights, steps, expected request mix) and exit without running.
    #[arg(long)]
    pub dry_run: bool,

    /// Only run tasks and steps with one of these tags (comma-separated).
    #[arg(long, value_name = "TAGS", value_delimiter = ',')]
    pub tags: Vec<String>,

    /// Leave out tasks and steps with one of these tags (comma-separated).
    #[arg(long, value_name = "TAGS", value_delimiter = ',')]
    pub exclude_tags: Vec<String>,

    /// Run distributed on this backend: `local` (worker processes on this machine) or `aws`
    /// (AutoScaling groups of EC2 instances; see `brood aws setup`). Without it, the run stays in
    /// this process, the fastest way to load from one machine.
    #[arg(long, value_name = "BACKEND")]
    pub backend: Option<String>,

    /// Regions to load from, comma-separated; `name:weight` gives a region a share of the load
    /// (default 1 each). With the local backend, regions are simulated.
    #[arg(long, value_name = "REGIONS")]
    pub regions: Option<String>,

    /// Workers per region: a number for every region, or `region=count,...` region by region
    /// (others get 1). With the aws backend, default: sized from the plan's request rate.
    #[arg(long, value_name = "N|REGION=N,...")]
    pub workers: Option<String>,

    /// AWS: the deployment to run in (set up implicitly for missing regions).
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub deployment: String,

    /// AWS: the workers' instance type (default c6i.large, or c7g.large for an arm64 binary;
    /// burstable t2/t3/t3a/t4g types run with standard CPU credits, sized for their baseline).
    #[arg(long, value_name = "TYPE")]
    pub instance_type: Option<String>,

    /// AWS: most instances over all regions; a larger fleet is refused.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub max_instances: u32,

    /// AWS: refuse to start when the cost preview is above this many US dollars.
    #[arg(long, value_name = "USD")]
    pub max_cost: Option<f64>,

    /// AWS: on-demand prices from this JSON file instead of the built-in dated table.
    #[arg(long, value_name = "FILE")]
    pub price_file: Option<PathBuf>,

    /// AWS: requests per second one vCPU sends within the validity threshold, when sizing the
    /// fleet (default: estimated from the plan's protocol, checks and think time; see
    /// docs/aws-cost.md).
    #[arg(long, value_name = "N")]
    pub requests_per_vcpu: Option<f64>,

    /// AWS: use spot instances.
    #[arg(long)]
    pub spot: bool,

    /// AWS: the Linux brood binary workers run (default: this one).
    #[arg(long, value_name = "PATH")]
    pub worker_binary: Option<PathBuf>,

    /// AWS: the VPC workers run in, per region: `vpc-ID` with one region, else
    /// `REGION=vpc-ID,...`; repeatable. Default: what setup stored, else the
    /// region's default VPC. Given, it is stored for later runs.
    #[arg(long, value_name = "[REGION=]VPC")]
    pub vpc: Vec<String>,

    /// AWS: the subnets workers run in, per region: `subnet-a,subnet-b` with one region, else
    /// `REGION=subnet-a,subnet-b,REGION2=subnet-c` (ids after `REGION=` belong to it);
    /// repeatable. Named subnets may route out through a NAT gateway; without them brood takes
    /// the VPC's subnets that route 0.0.0.0/0 to an internet gateway.
    #[arg(long, value_name = "[REGION=]SUBNETS")]
    pub subnets: Vec<String>,

    /// AWS: a security group of the VPC for the workers instead of brood's own egress-only one,
    /// per region like --vpc.
    #[arg(long = "security-group", value_name = "[REGION=]SG")]
    pub security_group: Vec<String>,

    /// AWS: the image of a region, `REGION=AMI`, repeatable (default: the current Amazon Linux
    /// 2023 AMI of each region). A bare `AMI` only when the run has one region: image ids
    /// differ from region to region.
    #[arg(long, value_name = "REGION=AMI")]
    pub ami: Vec<String>,

    /// AWS: the glibc version of the --ami images (e.g. 2.31), to check that the worker binary
    /// starts on them; without it that check is skipped with a warning. Amazon Linux 2023 has
    /// glibc 2.34.
    #[arg(long, value_name = "VERSION")]
    pub ami_glibc: Option<String>,

    /// AWS: the profile (default: the standard credential chain).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Local backend: latency added to every request of a region, `local-b:80ms,local-c:150ms`,
    /// so that region views differ.
    #[arg(long, value_name = "LATENCIES")]
    pub region_latency: Option<String>,

    /// How long the workers may take to come into service (instances booted, processes up)
    /// before the run gives up [default: 60s on local, 10m on aws].
    #[arg(long, value_name = "DURATION")]
    pub provision_timeout: Option<String>,

    /// How long to wait, once the workers are in service, for every one to be ready before the
    /// start [default: 60s on local, 3m on aws].
    #[arg(long, value_name = "DURATION")]
    pub barrier_timeout: Option<String>,

    /// Start with the workers that are ready when the barrier times out (else the run fails).
    #[arg(long)]
    pub start_with_fewer: bool,

    /// A worker silent this long is marked lost; the run goes on without it.
    #[arg(long, value_name = "DURATION", default_value = "15s")]
    pub heartbeat_timeout: String,

    /// Where distributed runs keep queues, history and results (`runs/<run-id>/`).
    #[arg(long, value_name = "DIR", default_value = "brood-results")]
    pub results: std::path::PathBuf,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The backend whose queues and store to use: `local` or `aws`. On AWS, credentials come
    /// only from the standard chain (the instance profile on EC2), never from a flag.
    #[arg(long, default_value = "local")]
    pub backend: String,

    /// Local backend: the folder holding the queue database and the results.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<std::path::PathBuf>,

    /// AWS: the deployment whose queues and bucket to use.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub deployment: String,

    /// AWS: the deployment's home region, where the controller's queues and the bucket live.
    /// Default: --region.
    #[arg(long, value_name = "REGION")]
    pub home_region: Option<String>,

    /// AWS: the results bucket. Default: the deployment's, `brood-<deployment>-<account>`.
    #[arg(long, value_name = "BUCKET")]
    pub bucket: Option<String>,

    /// Where results wait when the store stays unavailable. Default: `<dir>/spool` on the
    /// local backend, `brood-spool` in the system's temporary folder on AWS.
    #[arg(long, value_name = "DIR")]
    pub spool: Option<std::path::PathBuf>,

    /// The region this worker loads from.
    #[arg(long)]
    pub region: String,

    /// The queue to take jobs from: the local queue's name, or `jobs-<region>` on AWS.
    #[arg(long)]
    pub queue: String,

    /// The controller's queue (jobs name their own; this is where a worker reports problems).
    #[arg(long)]
    pub controller_queue: String,

    /// The controller's Ed25519 public key (hex): only jobs it signed are run.
    #[arg(long, value_name = "HEX")]
    pub controller_key: String,

    /// Exit after this long without a job.
    #[arg(long, value_name = "DURATION", default_value = "2m")]
    pub idle_exit: String,

    /// Stop a run when the controller has been silent this long.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub dead_man: String,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Scenario file to check.
    #[arg(short = 'f', long = "scenario", value_name = "FILE")]
    pub scenario: PathBuf,

    /// Host for relative URLs, as `brood run --host`. Without it (and without `host` in the file),
    /// relative URLs are checked against a placeholder host.
    #[arg(short = 'H', long, value_name = "URL")]
    pub host: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoTargetArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8089")]
    pub bind: String,
}
