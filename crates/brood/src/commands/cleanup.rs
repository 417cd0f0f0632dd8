//! `brood cleanup`: removes a deployment's resources, found by their tags.

use brood_aws_fleet::{Aws, CleanupOptions};
use brood_control::Outcome;

use crate::cli::CleanupArgs;

/// `brood cleanup`: everything the deployment's tags name, in every region.
pub fn cleanup(args: &CleanupArgs) -> Outcome {
    let Some(rt) = super::runtime() else {
        return Outcome::Infrastructure;
    };
    let result = rt.block_on(async {
        let aws = Aws::load(args.profile.as_deref()).await?;
        brood_aws_fleet::cleanup(
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
            let e = brood_control::Error::from(e);
            eprintln!("brood: {e}");
            e.outcome()
        }
    }
}
