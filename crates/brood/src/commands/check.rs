//! `brood check`: a scenario checked without running it.

use brood_control::Outcome;

use crate::cli::CheckArgs;

/// Prints what the scenario holds, or its first mistake with file, line and field.
pub fn check(args: &CheckArgs) -> Outcome {
    match brood_control::check::check(&args.scenario, args.host.as_deref()) {
        Ok(plan) => {
            let tasks: usize = plan.user_types.iter().map(|t| t.tasks.len()).sum();
            println!(
                "{}: ok ({} user types, {tasks} tasks, {} stats entries)",
                args.scenario.display(),
                plan.user_types.len(),
                plan.entries.len()
            );
            Outcome::Success
        }
        Err(e) => {
            eprintln!("brood: {e}");
            Outcome::InvalidInput
        }
    }
}
