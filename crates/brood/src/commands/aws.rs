//! `brood aws setup` (the deployment, idempotently) and `brood aws leave-group` (an idle instance
//! leaves its AutoScaling group).

use brood_aws_fleet::{setup, Aws, SetupOptions};
use brood_control::Outcome;

use crate::cli::AwsCommand;

/// `brood aws setup` and `brood aws leave-group`.
pub fn aws(command: &AwsCommand) -> Outcome {
    let Some(rt) = super::runtime() else {
        return Outcome::Infrastructure;
    };
    let result: Result<(), brood_aws_fleet::FleetError> = rt.block_on(async {
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
            let e = brood_control::Error::from(e);
            eprintln!("brood: {e}");
            e.outcome()
        }
    }
}
