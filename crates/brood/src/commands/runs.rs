//! `brood runs`: the run history, newest first, as a table.

use brood_control::Outcome;

use crate::cli::RunsArgs;

/// Prints the newest `--limit` runs, after recovering those whose controller died.
pub fn runs(args: &RunsArgs) -> Outcome {
    let runs = match brood_control::runs::list(&args.results, args.limit) {
        Ok(Some(runs)) => runs,
        Ok(None) => {
            println!("no runs yet in {}", args.results.display());
            return Outcome::Success;
        }
        Err(e) => {
            eprintln!("brood: {e}");
            return Outcome::Infrastructure;
        }
    };
    println!(
        "{:<22} {:<11} {:<20} {:<18} {:>10} {:>8} {:>9} {:>9}",
        "run", "status", "started (UTC)", "regions", "requests", "failures", "req/s", "p95 ms"
    );
    for run in runs {
        let h = run.headline.clone().unwrap_or_default();
        let started = brood_report::utc_timestamp(run.started_ms / 1000);
        println!(
            "{:<22} {:<11} {:<20} {:<18} {:>10} {:>8} {:>9.1} {:>9.1}",
            run.id,
            run.status.as_str(),
            started,
            run.regions.join(","),
            h.requests,
            h.failures,
            h.rps,
            h.p95_ms
        );
        if let Some(note) = &run.note {
            println!("    {note}");
        }
    }
    Outcome::Success
}
