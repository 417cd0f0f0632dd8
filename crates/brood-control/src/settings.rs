//! A run's inputs turned into checked settings: a compiled plan plus where the results go, and for
//! distributed runs the regions, workers and backend. Every error names the flag or scenario
//! field it is about.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use brood_aws_fleet::ami::Amis;
use brood_aws_fleet::elf::GlibcVersion;
use brood_aws_fleet::network::{parse_network, NetworkFlags, RegionNetwork};
use brood_aws_fleet::PriceTable;
use brood_cluster::RegionSpec;

use brood_plan::{
    compile, load_scenario_with_feeds, parse_arrival_unit, parse_duration, parse_stages,
    parse_threshold, parse_wait, LoadOptions, Plan, PlanError, Scenario,
};

use crate::input::RunInput;
use crate::limits::{self, Machine};

/// Where a run's files go.
#[derive(Debug, Default)]
pub struct Outputs {
    pub csv_prefix: Option<String>,
    pub full_history: bool,
    pub json: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub html: Option<PathBuf>,
}

#[derive(Debug)]
pub struct Settings {
    pub plan: Plan,
    pub scenario_label: Option<String>,
    /// What the run aims at, for reports.
    pub target: String,
    pub outputs: Outputs,
    pub threads: usize,
    pub quiet: bool,
    pub exit_code_on_error: u8,
}

impl Settings {
    /// Checks every flag; `demo_host` is the base URL of a demo target started for this run.
    pub fn from_input(args: &RunInput, demo_host: Option<&str>) -> Result<Settings, PlanError> {
        let scenario = scenario(args, demo_host)?;
        let opts = load_options(args, demo_host)?;
        let plan = compile(&scenario, &opts)?;
        let target = opts
            .host
            .clone()
            .or_else(|| scenario.host.as_ref().map(|h| h.to_string()))
            .or_else(|| first_url(&plan))
            .unwrap_or_default();
        let threads = match &args.threads {
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
            Some(text) => match text.trim().parse::<usize>() {
                Ok(n) if (1..=1024).contains(&n) => n,
                _ => return Err(invalid("--threads", text, "a whole number from 1 to 1024")),
            },
        };
        // An aws run is sized from its load (--users-per-vcpu); every other run's load lands on
        // this machine, in this process or in local workers.
        if !args.allow_huge_load && args.backend.as_deref() != Some("aws") {
            limits::check(&plan, &opts, &Machine::current(threads))?;
        }
        Ok(Settings {
            plan,
            scenario_label: args.scenario.as_ref().map(|p| p.display().to_string()),
            target,
            outputs: Outputs {
                csv_prefix: args.csv.clone(),
                full_history: args.csv_full_history,
                json: args.json.clone(),
                junit: args.junit.clone(),
                html: args.html.clone(),
            },
            threads,
            quiet: args.quiet,
            exit_code_on_error: args.exit_code_on_error,
        })
    }
}

fn scenario(args: &RunInput, demo_host: Option<&str>) -> Result<Scenario, PlanError> {
    match (&args.url, &args.scenario) {
        (Some(_), Some(_)) => Err(PlanError::InvalidOption {
            flag: "URL".into(),
            message: "give either a URL (quick mode) or --scenario, not both".into(),
            hint: Some("put the URL in the scenario's `host` or pass it with --host".into()),
        }),
        (None, None) => match demo_host {
            Some(host) => Scenario::quick(&format!("{host}/")).map_err(|e| e.for_flag("URL")),
            None => Err(PlanError::InvalidOption {
                flag: "URL".into(),
                message: "nothing to load: give a URL or --scenario FILE".into(),
                hint: Some("e.g. brood run http://127.0.0.1:8080/ -u 10 -r 2 -t 30s".into()),
            }),
        },
        (Some(url), None) => {
            let full = match demo_host {
                Some(host) if url.starts_with('/') => format!("{host}{url}"),
                _ => url.clone(),
            };
            Scenario::quick(&full).map_err(|e| e.for_flag("URL"))
        }
        (None, Some(path)) => load_scenario_with_feeds(path, args.data_dir.as_deref()),
    }
}

fn load_options(args: &RunInput, demo_host: Option<&str>) -> Result<LoadOptions, PlanError> {
    let duration = |flag: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| parse_duration(s).map_err(|e| e.for_flag(flag)))
            .transpose()
    };
    let mut thresholds = Vec::new();
    for text in &args.thresholds {
        let mut t = parse_threshold(text).map_err(|e| e.for_flag("--threshold"))?;
        t.abort_on_fail |= args.abort_on_fail;
        thresholds.push(t);
    }
    Ok(LoadOptions {
        host: args.host.clone().or_else(|| demo_host.map(str::to_string)),
        users: number(&args.users, "--users", "a whole number of users, 0 or more")?,
        spawn_rate: rate(&args.spawn_rate, "--spawn-rate")?,
        run_time: duration("--run-time", &args.run_time)?,
        stages: args
            .stages
            .as_deref()
            .map(|s| parse_stages(s).map_err(|e| e.for_flag("--stages")))
            .transpose()?,
        arrival_rate: rate(&args.arrival_rate, "--arrival-rate")?,
        arrival_unit: args
            .arrival_unit
            .as_deref()
            .map(|s| parse_arrival_unit(s).map_err(|e| e.for_flag("--arrival-unit")))
            .transpose()?,
        max_users: number(
            &args.max_users,
            "--max-users",
            "a whole number of users, 1 or more",
        )?
        .map(|n| {
            u32::try_from(n)
                .map_err(|_| invalid("--max-users", &n.to_string(), "at most 4294967295"))
        })
        .transpose()?,
        stop_timeout: duration("--stop-timeout", &args.stop_timeout)?,
        thresholds,
        wait: args
            .wait
            .as_deref()
            .map(|s| parse_wait(s).map_err(|e| e.for_flag("--wait")))
            .transpose()?,
        insecure_tls: args.insecure,
        max_body: args
            .max_body
            .as_deref()
            .map(|s| size(s, "--max-body"))
            .transpose()?,
        http2: args.http2.then_some(true),
        tags: args.tags.clone(),
        exclude_tags: args.exclude_tags.clone(),
    })
}

fn number(value: &Option<String>, flag: &str, expected: &str) -> Result<Option<u64>, PlanError> {
    value
        .as_deref()
        .map(|s| {
            s.trim()
                .parse::<u64>()
                .map_err(|_| invalid(flag, s, expected))
        })
        .transpose()
}

fn rate(value: &Option<String>, flag: &str) -> Result<Option<f64>, PlanError> {
    value
        .as_deref()
        .map(|s| {
            let text = s.trim().trim_end_matches("/s");
            match text.parse::<f64>() {
                Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
                _ => Err(invalid(flag, s, "a number above 0 (per second)")),
            }
        })
        .transpose()
}

/// A size in bytes: `16MiB`, `512KiB`, `1GiB`, `2MB`, or a bare number of bytes; above zero.
fn size(text: &str, flag: &str) -> Result<u64, PlanError> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => 0,
    };
    match digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
    {
        Some(n) if n > 0 => Ok(n),
        _ => Err(invalid(
            flag,
            text,
            "a size above zero: bytes, or a number with KiB, MiB, GiB (or kB, MB, GB)",
        )),
    }
}

fn invalid(flag: &str, got: &str, expected: &str) -> PlanError {
    PlanError::InvalidOption {
        flag: flag.into(),
        message: format!("expected {expected}, got {got:?}"),
        hint: None,
    }
}

fn first_url(plan: &Plan) -> Option<String> {
    let step = plan.user_types.first()?.tasks.first()?.steps.first()?;
    match step {
        brood_plan::StepPlan::Request(r) => Some(r.url.to_string()),
        _ => None,
    }
}

/// A duration flag, with an error that names the flag.
pub fn duration_flag(value: &str, flag: &str) -> Result<std::time::Duration, PlanError> {
    parse_duration(value).map_err(|e| e.for_flag(flag))
}

/// A timeout flag above zero, or `default` when not given.
fn timeout_flag(value: Option<&str>, flag: &str, default: &str) -> Result<Duration, PlanError> {
    let text = value.unwrap_or(default);
    let d = duration_flag(text, flag)?;
    if d.is_zero() {
        return Err(invalid(flag, text, "a duration above zero, e.g. 90s"));
    }
    Ok(d)
}

/// The distributed part of `brood run`: backend, regions with weights, workers, barrier.
pub fn dist_settings(args: &RunInput) -> Result<DistSettings, PlanError> {
    let mut aws = match args.backend.as_deref().unwrap_or("local") {
        "local" => None,
        "aws" => Some(aws_run_settings(args)?),
        other => return Err(invalid("--backend", other, "`local` or `aws`")),
    };
    let (workers, per_region) = workers(args.workers.as_deref())?;
    let mut regions = regions(args.regions.as_deref().unwrap_or("local"), workers)?;
    for (name, n) in per_region {
        match regions.iter_mut().find(|r| r.name == name) {
            Some(region) => region.workers = n,
            None => return Err(invalid("--workers", &name, "a region named in --regions")),
        }
    }
    if let Some(aws) = &mut aws {
        let names: Vec<String> = regions.iter().map(|r| r.name.clone()).collect();
        aws.ami = Amis::parse(&args.ami, &names).map_err(|e| fleet_refusal("--ami", e))?;
        if aws.ami_glibc.is_some() && aws.ami.is_empty() {
            return Err(PlanError::InvalidOption {
                flag: "--ami-glibc".into(),
                message: "the glibc of --ami images, but no --ami is given".into(),
                hint: None,
            });
        }
        for r in &regions {
            brood_aws_fleet::setup::check_region(&r.name).map_err(|e| {
                PlanError::InvalidOption {
                    flag: "--regions".into(),
                    message: e.to_string(),
                    hint: None,
                }
            })?;
        }
        let names: Vec<String> = regions.iter().map(|r| r.name.clone()).collect();
        aws.networks = network_flags(args, &names)?;
    }
    let latencies = latencies(args.region_latency.as_deref(), &regions)?;
    Ok(DistSettings {
        regions,
        latencies,
        results: args.results.clone(),
        provision_timeout: timeout_flag(
            args.provision_timeout.as_deref(),
            "--provision-timeout",
            if aws.is_some() { "10m" } else { "60s" },
        )?,
        barrier_timeout: timeout_flag(
            args.barrier_timeout.as_deref(),
            "--barrier-timeout",
            if aws.is_some() { "3m" } else { "60s" },
        )?,
        start_with_fewer: args.start_with_fewer,
        heartbeat_timeout: duration_flag(&args.heartbeat_timeout, "--heartbeat-timeout")?,
        aws,
    })
}

/// `--workers 2` for every region, or `--workers us-east-1=3,eu-west-1=1` region by region
/// (regions not named get 1): the count for all, and the counts by name.
fn workers(text: Option<&str>) -> Result<(u32, Vec<(String, u32)>), PlanError> {
    let count = |text: &str| match text.trim().parse::<u32>() {
        Ok(n) if (1..=256).contains(&n) => Ok(n),
        _ => Err(invalid(
            "--workers",
            text,
            "a whole number from 1 to 256, or `region=count`, comma-separated",
        )),
    };
    let mut per_region: Vec<(String, u32)> = Vec::new();
    let workers = match text {
        None => 1,
        Some(text) if text.contains('=') => {
            for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let Some((name, n)) = part.split_once('=') else {
                    return Err(invalid("--workers", part, "`region=count`"));
                };
                per_region.push((name.trim().to_string(), count(n)?));
            }
            1
        }
        Some(text) => count(text)?,
    };
    Ok((workers, per_region))
}

/// `--regions a,b:3`: each region once, with its weight and `workers` workers.
fn regions(text: &str, workers: u32) -> Result<Vec<RegionSpec>, PlanError> {
    let mut regions = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weight) = match part.split_once(':') {
            Some((name, w)) => match w.trim().parse::<f64>() {
                Ok(w) if w.is_finite() && w > 0.0 => (name.trim(), w),
                _ => {
                    return Err(invalid(
                        "--regions",
                        part,
                        "`name` or `name:weight` with a weight above 0",
                    ))
                }
            },
            None => (part, 1.0),
        };
        // The protocol's rule for region names is the one rule: jobs and results carry them.
        if let Err(e) = brood_protocol::Region::new(name.to_string()) {
            return Err(PlanError::InvalidOption {
                flag: "--regions".into(),
                message: e.to_string(),
                hint: None,
            });
        }
        if regions
            .iter()
            .any(|r: &brood_cluster::RegionSpec| r.name == name)
        {
            return Err(invalid("--regions", name, "each region once"));
        }
        regions.push(brood_cluster::RegionSpec::new(name, weight, workers));
    }
    if regions.is_empty() {
        return Err(invalid("--regions", text, "at least one region"));
    }
    Ok(regions)
}

/// `--region-latency local-b:80ms`: latency added in regions named in `regions`.
fn latencies(
    text: Option<&str>,
    regions: &[RegionSpec],
) -> Result<Vec<(String, Duration)>, PlanError> {
    let mut latencies = Vec::new();
    if let Some(text) = text {
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((name, d)) = part.split_once(':') else {
                return Err(invalid(
                    "--region-latency",
                    part,
                    "`region:duration`, e.g. local-b:80ms",
                ));
            };
            if !regions.iter().any(|r| r.name == name.trim()) {
                return Err(invalid(
                    "--region-latency",
                    name,
                    "a region named in --regions",
                ));
            }
            latencies.push((
                name.trim().to_string(),
                duration_flag(d, "--region-latency")?,
            ));
        }
    }
    Ok(latencies)
}

/// How the distributed part of a run is set up.
#[derive(Debug)]
pub struct DistSettings {
    pub regions: Vec<RegionSpec>,
    pub latencies: Vec<(String, Duration)>,
    pub results: PathBuf,
    /// How long workers may take to come into service once the fleet was asked for them.
    pub provision_timeout: Duration,
    /// How long, once they are in service, every worker may take to be ready.
    pub barrier_timeout: Duration,
    pub start_with_fewer: bool,
    pub heartbeat_timeout: Duration,
    /// The aws backend's settings; `None` for the local backend.
    pub aws: Option<AwsRunSettings>,
}

/// What an aws run needs beyond the distributed settings.
#[derive(Debug)]
pub struct AwsRunSettings {
    pub deployment: String,
    pub profile: Option<String>,
    pub instance_type: Option<String>,
    /// `--ami`, per region.
    pub ami: Amis,
    /// `--ami-glibc`: the glibc of the `--ami` images.
    pub ami_glibc: Option<GlibcVersion>,
    pub spot: bool,
    pub worker_binary: PathBuf,
    pub max_instances: u32,
    pub max_cost: Option<f64>,
    pub prices: PriceTable,
    /// `--requests-per-vcpu`: replaces the sizing's estimate of the CPU per request.
    pub requests_per_vcpu: Option<f64>,
    /// `--workers` was given: no sizing from the load.
    pub workers_given: bool,
    /// `--vpc`, `--subnets` and `--security-group` per region named (stored by the run's setup).
    pub networks: BTreeMap<String, RegionNetwork>,
}

/// `--vpc`, `--subnets` and `--security-group`, checked against the run's regions.
fn network_flags(
    args: &RunInput,
    regions: &[String],
) -> Result<BTreeMap<String, RegionNetwork>, PlanError> {
    let flags = NetworkFlags {
        vpc: args.vpc.clone(),
        subnets: args.subnets.clone(),
        security_group: args.security_group.clone(),
    };
    parse_network(&flags, regions).map_err(|e| match e {
        // The network flags' own errors name the flag they are about.
        brood_aws_fleet::FleetError::Invalid { field, message } => PlanError::InvalidOption {
            flag: field,
            message,
            hint: None,
        },
        other => fleet_refusal("--subnets", other),
    })
}

/// A flag's value the fleet refused, as the plan's error for that flag.
fn fleet_refusal(flag: &str, e: brood_aws_fleet::FleetError) -> PlanError {
    let message = match e {
        brood_aws_fleet::FleetError::Invalid { message, .. } => message,
        other => other.to_string(),
    };
    PlanError::InvalidOption {
        flag: flag.into(),
        message,
        hint: None,
    }
}

/// The aws backend's flags, checked; each error names its flag.
pub fn aws_run_settings(args: &RunInput) -> Result<AwsRunSettings, PlanError> {
    let refuse = |flag: &str, message: String| PlanError::InvalidOption {
        flag: flag.into(),
        message,
        hint: None,
    };
    if let Some(c) = args.max_cost {
        if !(c.is_finite() && c >= 0.0) {
            return Err(refuse(
                "--max-cost",
                format!("{c} is not an amount of US dollars"),
            ));
        }
    }
    if let Some(rpv) = args.requests_per_vcpu {
        if !(rpv.is_finite() && rpv > 0.0) {
            return Err(refuse(
                "--requests-per-vcpu",
                format!("{rpv} must be above 0"),
            ));
        }
    }
    if args.max_instances == 0 {
        return Err(refuse("--max-instances", "must be at least 1".into()));
    }
    let prices = match &args.price_file {
        None => PriceTable::builtin(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| refuse("--price-file", format!("{}: {e}", path.display())))?;
            PriceTable::from_json(&text, &path.display().to_string())
                .map_err(|e| refuse("--price-file", e.to_string()))?
        }
    };
    let worker_binary = match &args.worker_binary {
        Some(p) => p.clone(),
        None => std::env::current_exe().map_err(|e| refuse("--worker-binary", e.to_string()))?,
    };
    Ok(AwsRunSettings {
        deployment: args.deployment.clone(),
        profile: args.profile.clone(),
        instance_type: args.instance_type.clone(),
        // Checked against the regions by `dist_settings`.
        ami: Amis::default(),
        ami_glibc: args
            .ami_glibc
            .as_deref()
            .map(brood_aws_fleet::ami::parse_glibc)
            .transpose()
            .map_err(|e| fleet_refusal("--ami-glibc", e))?,
        spot: args.spot,
        worker_binary,
        max_instances: args.max_instances,
        max_cost: args.max_cost,
        prices,
        requests_per_vcpu: args.requests_per_vcpu,
        workers_given: args.workers.is_some(),
        networks: BTreeMap::new(),
    })
}
