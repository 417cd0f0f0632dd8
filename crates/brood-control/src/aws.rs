//! What `brood run --backend aws` checks before any instance starts: the deployment (set up
//! implicitly for missing regions), the target allow-list, the fleet's size and the cost preview.

use std::time::Duration;

use brood_aws_fleet::{
    plan_targets, setup, size_regions, Aws, CostPreview, DeploymentConfig, Load, SetupOptions,
    SizingRules,
};
use brood_plan::{PlanError, Profile};

use crate::error::Error;
use crate::settings::{AwsRunSettings, DistSettings, Settings};

/// Time an instance bills beyond the run: boot, fetching the binary, the barrier, and the
/// worker's idle exit after the run.
pub const BILLED_OVERHEAD: Duration = Duration::from_secs(5 * 60);
/// The workers' `--idle-exit` on instances.
pub const IDLE_EXIT: &str = "3m";

/// What a cloud run's fleet costs while it runs, and the most the run may spend.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpendCap {
    pub usd_per_hour: f64,
    pub max_usd: f64,
}

impl SpendCap {
    /// The estimate of what `running` of the whole fleet has cost.
    pub fn spent(&self, running: std::time::Duration) -> f64 {
        self.usd_per_hour * running.as_secs_f64() / 3600.0
    }
}

/// Before any instance starts: the deployment is set up for the run's regions, every target is
/// on its allow-list, the fleet is sized (unless `--workers`) and capped, and the cost preview is
/// shown and held against `--max-cost`. Returns the AWS connection, the deployment's settings
/// and, with `--max-cost`, the cap the run's spending is held to while it runs.
pub async fn prepare(
    settings: &Settings,
    dist: &mut DistSettings,
    aws_settings: &AwsRunSettings,
) -> Result<
    (
        Aws,
        brood_aws::Deployment,
        DeploymentConfig,
        Option<SpendCap>,
    ),
    Error,
> {
    let aws = Aws::load(aws_settings.profile.as_deref()).await?;
    let report = setup(
        &aws,
        &SetupOptions {
            deployment: aws_settings.deployment.clone(),
            regions: dist.regions.iter().map(|r| r.name.clone()).collect(),
            networks: aws_settings.networks.clone(),
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
    let cap = aws_settings
        .max_cost
        .zip(preview.per_hour())
        .map(|(max_usd, usd_per_hour)| SpendCap {
            usd_per_hour,
            max_usd,
        });
    Ok((aws, report.deployment, config, cap))
}

/// The fleet per region (from `--workers`, or sized from each region's share of the load) and its
/// cost preview: no AWS call, so the web UI's preview shows the same figures a run would.
pub fn size_fleet(
    settings: &Settings,
    dist: &DistSettings,
    aws_settings: &AwsRunSettings,
) -> Result<(Vec<(String, u32)>, CostPreview), Error> {
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
            .ok_or_else(|| PlanError::InvalidOption {
                flag: "--instance-type".into(),
                message: format!("{instance_type}: vCPUs unknown to brood"),
                hint: Some("give --workers".into()),
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

fn read_head(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let mut head = vec![0u8; 64];
    let unreadable = || Error::file("--worker-binary: cannot read", path);
    let mut file = std::fs::File::open(path).map_err(unreadable())?;
    let n = file.read(&mut head).map_err(unreadable())?;
    head.truncate(n);
    Ok(head)
}
