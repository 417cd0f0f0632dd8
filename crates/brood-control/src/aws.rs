//! What `brood run --backend aws` checks before any instance starts: the worker binary against
//! each region's image and instance type (before anything is created), the deployment (set up
//! implicitly for missing regions), the target allow-list, the fleet's size and the cost preview.

use std::time::Duration;

use brood_aws_fleet::ami::{check_binary, Host, Verdict};
use brood_aws_fleet::pricing::instance_info;
use brood_aws_fleet::{
    demand, plan_targets, setup, size_regions, Aws, CostInput, CostPreview, CreditMode,
    DeploymentConfig, InstanceCpu, SetupOptions, SizingRules,
};
use brood_plan::PlanError;

use crate::error::Error;
use crate::settings::{AwsRunSettings, DistSettings, Settings};

/// Time an instance bills beyond the run: boot, fetching the binary, the barrier, and the
/// worker's idle exit after the run.
pub const BILLED_OVERHEAD: Duration = Duration::from_secs(5 * 60);
/// The workers' `--idle-exit` on instances.
pub const IDLE_EXIT: &str = "3m";
/// Workers launch into the default VPC's subnets, which give every instance a public IPv4
/// address: billed per hour beside the instance.
pub const PUBLIC_IPV4: bool = true;

/// What a cloud run's fleet costs while it runs (instances and their public IPv4 addresses), and
/// the most the run may spend.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpendCap {
    pub usd_per_hour: f64,
    pub max_usd: f64,
}

impl SpendCap {
    /// The cap on the fleet of `preview`, when its hourly price is known.
    pub fn of(preview: &CostPreview, max_usd: f64) -> Option<SpendCap> {
        preview.per_hour().map(|usd_per_hour| SpendCap {
            usd_per_hour,
            max_usd,
        })
    }

    /// The estimate of what `running` of the whole fleet has cost. AWS's minute minimum per
    /// instance is left out here: the preview, which bills at least the run time plus
    /// [`BILLED_OVERHEAD`], already refused a cap below it.
    pub fn spent(&self, running: std::time::Duration) -> f64 {
        self.usd_per_hour * running.as_secs_f64() / 3600.0
    }
}

/// Before any instance starts: the worker binary is checked to start on every region's image and
/// instance type (before setup creates anything), the deployment is set up for the run's
/// regions, every target is on its allow-list, the fleet is sized (unless `--workers`) and capped, and the cost preview is
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
    let vcpus = check_worker_binary(&aws, dist, aws_settings).await?;
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
    let (fleet, preview) = size_fleet_with(settings, dist, aws_settings, Some(vcpus))?;
    for region in &mut dist.regions {
        if let Some((_, n)) = fleet.iter().find(|(r, _)| r == &region.name) {
            region.workers = *n;
        }
    }
    print!("{}", preview.render());
    preview.check_cap(aws_settings.max_cost)?;
    let cap = aws_settings
        .max_cost
        .and_then(|max_usd| SpendCap::of(&preview, max_usd));
    Ok((aws, report.deployment, config, cap))
}

/// Refuses, before anything is created, a worker binary that would not start in some region of
/// the run: not a Linux build, another architecture than the instance type's (as EC2 describes
/// the type in that region), or a glibc newer than the image's. Returns the type's vCPUs.
async fn check_worker_binary(
    aws: &Aws,
    dist: &DistSettings,
    aws_settings: &AwsRunSettings,
) -> Result<u32, Error> {
    let binary = brood_aws_fleet::elf::inspect_path(&aws_settings.worker_binary)?;
    let instance_type = aws_settings.instance_type.clone().unwrap_or_else(|| {
        brood_aws_fleet::pricing::default_instance_type(binary.arch).to_string()
    });
    let mut vcpus = 0;
    for region in &dist.regions {
        let spec = brood_aws_fleet::instance::describe(aws, &region.name, &instance_type).await?;
        let host = Host {
            region: &region.name,
            instance_type: &instance_type,
            archs: &spec.archs,
            ami: aws_settings.ami.get(&region.name),
            ami_glibc: aws_settings.ami_glibc,
        };
        if let Verdict::Unchecked { warning } = check_binary(&binary, &host)? {
            eprintln!("brood: warning: {warning}");
        }
        vcpus = spec.vcpus;
    }
    Ok(vcpus)
}

/// The fleet per region (from `--workers`, or sized from each region's share of the load) and its
/// cost preview: no AWS call, so the web UI's preview shows the same figures a run would (with
/// the vCPUs of the built-in instance list).
pub fn size_fleet(
    settings: &Settings,
    dist: &DistSettings,
    aws_settings: &AwsRunSettings,
) -> Result<(Vec<(String, u32)>, CostPreview), Error> {
    size_fleet_with(settings, dist, aws_settings, None)
}

/// [`size_fleet`] with the instance type's vCPUs as EC2 gave them (`None`: the built-in list).
pub fn size_fleet_with(
    settings: &Settings,
    dist: &DistSettings,
    aws_settings: &AwsRunSettings,
    described_vcpus: Option<u32>,
) -> Result<(Vec<(String, u32)>, CostPreview), Error> {
    let binary_head = read_head(&aws_settings.worker_binary)?;
    let arch = brood_aws_fleet::elf::elf_arch(&binary_head)?;
    let instance_type = aws_settings
        .instance_type
        .clone()
        .unwrap_or_else(|| brood_aws_fleet::pricing::default_instance_type(arch).to_string());
    let rules = SizingRules {
        requests_per_vcpu: aws_settings.requests_per_vcpu,
        max_instances: aws_settings.max_instances,
    };
    let (fleet, sizing) = if aws_settings.workers_given {
        let fleet: Vec<(String, u32)> = dist
            .regions
            .iter()
            .map(|r| (r.name.clone(), r.workers))
            .collect();
        (
            fleet,
            vec!["instances per region from --workers".to_string()],
        )
    } else {
        let vcpus = described_vcpus
            .or_else(|| instance_info(&instance_type).map(|(v, _)| v))
            .ok_or_else(|| PlanError::InvalidOption {
                flag: "--instance-type".into(),
                message: format!("{instance_type}: vCPUs unknown to brood"),
                hint: Some("give --workers".into()),
            })?;
        let weights: Vec<(String, f64)> = dist
            .regions
            .iter()
            .map(|r| (r.name.clone(), r.weight))
            .collect();
        let cpu = InstanceCpu {
            vcpus,
            credits: CreditMode::of(&instance_type),
        };
        let sized = size_regions(&demand(&settings.plan), &weights, cpu, &rules)?;
        let lines = sized.lines();
        (sized.regions, lines)
    };
    brood_aws_fleet::sizing::check_cap(&fleet, aws_settings.max_instances)?;
    let billed = settings.plan.run_time().map(|t| t + BILLED_OVERHEAD);
    let mut preview = CostPreview::new(
        &aws_settings.prices,
        &CostInput {
            instance_type: &instance_type,
            fleet: &fleet,
            billed,
            spot: aws_settings.spot,
            public_ipv4: PUBLIC_IPV4,
        },
    );
    preview.sizing = sizing;
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use brood_aws_fleet::PriceTable;

    use super::*;

    #[test]
    fn the_spending_cap_counts_the_ipv4_addresses() {
        let fleet = vec![("us-east-1".to_string(), 10)];
        let preview = CostPreview::new(
            &PriceTable::builtin(),
            &CostInput {
                instance_type: "c6i.large",
                fleet: &fleet,
                billed: Some(Duration::from_secs(3600)),
                spot: false,
                public_ipv4: true,
            },
        );
        let cap = SpendCap::of(&preview, 0.88).unwrap();
        // 10 × ($0.085 + $0.005) an hour.
        assert!((cap.usd_per_hour - 0.90).abs() < 1e-9, "{cap:?}");
        // The cap is reached before the hour is over, by the addresses' share.
        let at = |minutes: u64| cap.spent(Duration::from_secs(minutes * 60));
        assert!(at(58) < cap.max_usd && at(59) >= cap.max_usd, "{}", at(59));
        // A cap below the preview's billed time (with its minute minimum) never gets this far:
        // 5 s bill as 60 s, 10 × $0.09/h × 1/60 h = $0.015.
        let short = CostPreview::new(
            &PriceTable::builtin(),
            &CostInput {
                instance_type: "c6i.large",
                fleet: &fleet,
                billed: Some(Duration::from_secs(5)),
                spot: false,
                public_ipv4: true,
            },
        );
        assert!((short.total().unwrap() - 0.015).abs() < 1e-12);
        let e = short.check_cap(Some(0.012)).unwrap_err().to_string();
        assert!(e.contains("--max-cost"), "{e}");
    }
}
