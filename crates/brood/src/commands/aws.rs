//! `brood aws setup` (the deployment, idempotently), `brood aws leave-group` (an idle instance
//! leaves its AutoScaling group) and `brood aws policy` (the IAM policy a person or CI role
//! needs to run brood, or the workers' policy, for review).

use brood_aws_fleet::network::{parse_network, NetworkFlags};
use brood_aws_fleet::{setup, Aws, SetupOptions};
use brood_control::Outcome;

use crate::cli::{AwsCommand, AwsPolicyArgs};

/// `brood aws setup`, `brood aws leave-group` and `brood aws policy`.
pub fn aws(command: &AwsCommand) -> Outcome {
    let Some(rt) = super::runtime() else {
        return Outcome::Infrastructure;
    };
    let result: Result<(), brood_aws_fleet::FleetError> = rt.block_on(async {
        match command {
            AwsCommand::Setup(args) => {
                let regions: Vec<String> =
                    args.regions.iter().map(|r| r.trim().to_string()).collect();
                let networks = parse_network(
                    &NetworkFlags {
                        vpc: args.vpc.clone(),
                        subnets: args.subnets.clone(),
                        security_group: args.security_group.clone(),
                    },
                    &regions,
                )?;
                let aws = Aws::load(args.profile.as_deref()).await?;
                let report = setup(
                    &aws,
                    &SetupOptions {
                        deployment: args.deployment.clone(),
                        regions,
                        bucket: args.bucket.clone(),
                        allow_targets: args.allow_targets.clone(),
                        retention_days: args.retention_days,
                        networks,
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
            AwsCommand::Policy(args) => {
                let policy = policy(args).await?;
                let text = serde_json::to_string_pretty(&policy).map_err(|e| {
                    brood_aws_fleet::FleetError::Invalid {
                        field: "policy".into(),
                        message: e.to_string(),
                    }
                })?;
                println!("{text}");
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

/// The policy `brood aws policy` prints, from its flags and, when the account is not given, the
/// credentials' identity.
async fn policy(args: &AwsPolicyArgs) -> Result<serde_json::Value, brood_aws_fleet::FleetError> {
    use brood_aws_fleet::policy::{operator_policy, worker_policy, OperatorScope, PolicyScope};
    use brood_aws_fleet::FleetError;
    let invalid = |field: &str, message: String| FleetError::Invalid {
        field: field.into(),
        message,
    };
    brood_aws::check_deployment_name(&args.deployment)
        .map_err(|e| invalid("--deployment", e.to_string()))?;
    let regions: Vec<String> = args.regions.iter().map(|r| r.trim().to_string()).collect();
    for r in regions.iter().chain(&args.home_region) {
        brood_aws_fleet::setup::check_region(r)?;
    }
    let (account, partition) = match &args.account {
        Some(account) => {
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    "--account",
                    format!("{account:?} is not 12 digits"),
                ));
            }
            let partition = args.partition.clone().unwrap_or_else(|| "aws".into());
            (account.clone(), partition)
        }
        None => {
            let aws = Aws::load(args.profile.as_deref()).await?;
            let caller = aws.caller().await?;
            let partition = args.partition.clone().unwrap_or(caller.partition);
            (caller.account, partition)
        }
    };
    if partition.is_empty()
        || !partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-')
    {
        return Err(invalid(
            "--partition",
            format!("{partition:?} is not a partition (aws, aws-cn, aws-us-gov)"),
        ));
    }
    let deployment = brood_aws::Deployment {
        name: args.deployment.clone(),
        home_region: String::new(),
        account: account.clone(),
    };
    let bucket = args
        .bucket
        .clone()
        .unwrap_or_else(|| deployment.default_bucket());
    if !args.workers {
        return Ok(operator_policy(&OperatorScope {
            deployment: args.deployment.clone(),
            partition,
            account,
            bucket,
            regions,
        }));
    }
    let Some(home) = args
        .home_region
        .clone()
        .or_else(|| regions.first().cloned())
    else {
        return Err(invalid(
            "--regions",
            "--workers needs the deployment's regions".into(),
        ));
    };
    let groups = regions
        .iter()
        .map(|r| {
            format!(
                "arn:{partition}:autoscaling:{r}:{account}:autoScalingGroup:*:autoScalingGroupName/{}",
                deployment.group()
            )
        })
        .collect();
    Ok(worker_policy(&PolicyScope {
        deployment: brood_aws::Deployment {
            home_region: home,
            ..deployment
        },
        partition,
        bucket,
        regions,
        groups,
    }))
}
