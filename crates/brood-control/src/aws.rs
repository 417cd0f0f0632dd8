//! The AWS backend's commands (`brood aws setup`, `brood aws leave-group`, `brood cleanup`) and
//! what `brood run --backend aws` checks before any instance starts: the deployment (set up
//! implicitly for missing regions), the target allow-list, the fleet's size and the cost preview.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use brood_aws_fleet::{
    cleanup, plan_targets, setup, size_regions, sizing, Aws, CleanupOptions, CostPreview,
    DeploymentConfig, Load, PriceTable, SetupOptions, SizingRules,
};
use brood_plan::Profile;

use crate::cli::{AwsCommand, CleanupArgs, RunArgs};
use crate::distributed::DistSettings;
use crate::exit::Outcome;
use crate::settings::Settings;

/// What an aws run needs beyond the distributed settings.
#[derive(Debug)]
pub struct AwsRunSettings {
    pub deployment: String,
    pub profile: Option<String>,
    pub instance_type: Option<String>,
    pub ami: Option<String>,
    pub spot: bool,
    pub worker_binary: PathBuf,
    pub max_instances: u32,
    pub max_cost: Option<f64>,
    pub prices: PriceTable,
    pub users_per_vcpu: f64,
    /// `--workers` was given: no sizing from the load.
    pub workers_given: bool,
}

/// Time an instance bills beyond the run: boot, fetching the binary, the barrier, and the
/// worker's idle exit after the run.
pub const BILLED_OVERHEAD: Duration = Duration::from_secs(5 * 60);
/// The workers' `--idle-exit` on instances.
pub const IDLE_EXIT: &str = "3m";

pub fn run_settings(args: &RunArgs) -> Result<AwsRunSettings, String> {
    if let Some(c) = args.max_cost {
        if !(c.is_finite() && c >= 0.0) {
            return Err(format!("--max-cost: {c} is not an amount of US dollars"));
        }
    }
    let users_per_vcpu = args
        .users_per_vcpu
        .unwrap_or(sizing::DEFAULT_USERS_PER_VCPU);
    if !(users_per_vcpu.is_finite() && users_per_vcpu > 0.0) {
        return Err(format!(
            "--users-per-vcpu: {users_per_vcpu} must be above 0"
        ));
    }
    if args.max_instances == 0 {
        return Err("--max-instances: must be at least 1".into());
    }
    let prices = match &args.price_file {
        None => PriceTable::builtin(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--price-file {}: {e}", path.display()))?;
            PriceTable::from_json(&text, &path.display().to_string()).map_err(|e| e.to_string())?
        }
    };
    let worker_binary = match &args.worker_binary {
        Some(p) => p.clone(),
        None => std::env::current_exe().map_err(|e| format!("--worker-binary: {e}"))?,
    };
    Ok(AwsRunSettings {
        deployment: args.deployment.clone(),
        profile: args.profile.clone(),
        instance_type: args.instance_type.clone(),
        ami: args.ami.clone(),
        spot: args.spot,
        worker_binary,
        max_instances: args.max_instances,
        max_cost: args.max_cost,
        prices,
        users_per_vcpu,
        workers_given: args.workers.is_some(),
    })
}

/// Before any instance starts: the deployment is set up for the run's regions, every target is
/// on its allow-list, the fleet is sized (unless `--workers`) and capped, and the cost preview is
/// shown and held against `--max-cost`. Returns the AWS connection and the deployment's settings.
pub async fn prepare(
    settings: &Settings,
    dist: &mut DistSettings,
    aws_settings: &AwsRunSettings,
) -> Result<(Aws, brood_aws::Deployment, DeploymentConfig)> {
    let aws = Aws::load(aws_settings.profile.as_deref()).await?;
    let report = setup(
        &aws,
        &SetupOptions {
            deployment: aws_settings.deployment.clone(),
            regions: dist.regions.iter().map(|r| r.name.clone()).collect(),
            ..Default::default()
        },
    )
    .await?;
    let config = report.config;
    config.check_targets(&plan_targets(&settings.plan)?)?;
    let (fleet, preview) = size_fleet(settings, dist, aws_settings)?;
    for region in &mut dist.regions {
        if let Some((_, n)) = fleet.iter().find(|(r, _)| r == &region.name) {
            region.workers = *n;
        }
    }
    print!("{}", preview.render());
    preview.check_cap(aws_settings.max_cost)?;
    Ok((aws, report.deployment, config))
}

/// The fleet per region (from `--workers`, or sized from each region's share of the load) and its
/// cost preview: no AWS call, so the web UI's preview shows the same figures a run would.
pub fn size_fleet(
    settings: &Settings,
    dist: &DistSettings,
    aws_settings: &AwsRunSettings,
) -> Result<(Vec<(String, u32)>, CostPreview)> {
    let binary_head = read_head(&aws_settings.worker_binary)?;
    let arch = brood_aws_fleet::fleet::elf_arch(&binary_head)?;
    let instance_type = aws_settings
        .instance_type
        .clone()
        .unwrap_or_else(|| brood_aws_fleet::pricing::default_instance_type(arch).to_string());
    let rules = SizingRules {
        users_per_vcpu: aws_settings.users_per_vcpu,
        arrivals_per_vcpu: aws_settings.users_per_vcpu * 10.0,
        max_instances: aws_settings.max_instances,
    };
    let fleet: Vec<(String, u32)> = if aws_settings.workers_given {
        dist.regions
            .iter()
            .map(|r| (r.name.clone(), r.workers))
            .collect()
    } else {
        let vcpus = brood_aws_fleet::pricing::instance_info(&instance_type)
            .map(|(v, _)| v)
            .with_context(|| {
                format!("--instance-type {instance_type}: vCPUs unknown to brood; give --workers")
            })?;
        let load = match &settings.plan.profile {
            Profile::Users { curve } => Load::Users(curve.peak()),
            Profile::Arrivals { curve, .. } => Load::Arrivals(curve.peak()),
        };
        let weights: Vec<(String, f64)> = dist
            .regions
            .iter()
            .map(|r| (r.name.clone(), r.weight))
            .collect();
        size_regions(load, &weights, vcpus, &rules)?
    };
    brood_aws_fleet::sizing::check_cap(&fleet, aws_settings.max_instances)?;
    let billed = settings.plan.run_time().map(|t| t + BILLED_OVERHEAD);
    let preview = CostPreview::new(
        &aws_settings.prices,
        &instance_type,
        &fleet,
        billed,
        aws_settings.spot,
    );
    Ok((fleet, preview))
}

fn read_head(path: &std::path::Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut head = vec![0u8; 64];
    let mut file =
        std::fs::File::open(path).with_context(|| format!("--worker-binary {}", path.display()))?;
    let n = file.read(&mut head)?;
    head.truncate(n);
    Ok(head)
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("brood: {e}");
            None
        }
    }
}

/// An AWS failure is infrastructure; a refused input is invalid input.
fn outcome_of(e: &brood_aws_fleet::FleetError) -> Outcome {
    use brood_aws_fleet::FleetError;
    match e {
        FleetError::Invalid { .. } | FleetError::TargetNotAllowed { .. } => Outcome::InvalidInput,
        _ => Outcome::Infrastructure,
    }
}

/// A run refused before it started (allow-list, size, cost) is invalid input; anything else that
/// failed is infrastructure.
pub fn outcome_of_error(e: &anyhow::Error) -> Outcome {
    e.downcast_ref::<brood_aws_fleet::FleetError>()
        .map_or(Outcome::Infrastructure, outcome_of)
}

pub fn aws_command(command: &AwsCommand) -> Outcome {
    let Some(rt) = runtime() else {
        return Outcome::Infrastructure;
    };
    let result = rt.block_on(async {
        match command {
            AwsCommand::Setup(args) => {
                let aws = Aws::load(args.profile.as_deref()).await?;
                let report = setup(
                    &aws,
                    &SetupOptions {
                        deployment: args.deployment.clone(),
                        regions: args.regions.iter().map(|r| r.trim().to_string()).collect(),
                        bucket: args.bucket.clone(),
                        allow_targets: args.allow_targets.clone(),
                        retention_days: args.retention_days,
                    },
                )
                .await?;
                for line in &report.lines {
                    println!("  {line}");
                }
                let allowed: Vec<&str> = report
                    .config
                    .allowed_targets
                    .iter()
                    .map(String::as_str)
                    .collect();
                println!(
                    "deployment {} (home {}, regions {}) ready in {:.1}s; allowed targets: {}",
                    report.deployment.name,
                    report.deployment.home_region,
                    report
                        .config
                        .regions
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(","),
                    report.elapsed.as_secs_f64(),
                    if allowed.is_empty() {
                        "none yet (--allow-target HOST)".into()
                    } else {
                        allowed.join(", ")
                    }
                );
                Ok(())
            }
            AwsCommand::LeaveGroup(args) => {
                brood_aws_fleet::setup::check_region(&args.region)?;
                let aws = Aws::load_in(&args.region, None).await;
                let id = brood_aws_fleet::leave::leave_group(&aws, &args.region).await?;
                println!("instance {id} left its group in {}", args.region);
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => Outcome::Success,
        Err(e) => {
            eprintln!("brood: {e}");
            outcome_of(&e)
        }
    }
}

pub fn cleanup_command(args: &CleanupArgs) -> Outcome {
    let Some(rt) = runtime() else {
        return Outcome::Infrastructure;
    };
    let result = rt.block_on(async {
        let aws = Aws::load(args.profile.as_deref()).await?;
        cleanup(
            &aws,
            &CleanupOptions {
                deployment: args.deployment.clone(),
                dry_run: args.dry_run,
                purge_results: args.purge_results,
                regions: Vec::new(),
            },
        )
        .await
    });
    match result {
        Ok(report) => {
            print!("{}", report.render());
            if report.errors.is_empty() {
                Outcome::Success
            } else {
                Outcome::Infrastructure
            }
        }
        Err(e) => {
            eprintln!("brood: {e}");
            outcome_of(&e)
        }
    }
}
