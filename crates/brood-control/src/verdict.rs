//! The outcome of a run from its figures: thresholds, failed requests and whether its files were
//! written; and the abort thresholds watched while it runs.

use brood_plan::Plan;
use brood_report::{evaluate, ThresholdResult};
use brood_stats::RunStats;

use crate::outcome::Outcome;

/// The exit outcome, most serious first. A run in which no request completed never passes,
/// whatever its thresholds say: it measured nothing.
pub fn decide(
    stats: &RunStats,
    results: &[ThresholdResult],
    io_failed: bool,
    on_error: u8,
) -> Outcome {
    if io_failed {
        Outcome::Infrastructure
    } else if stats.aggregated().requests == 0 {
        Outcome::NoLoad
    } else if results.iter().any(|r| !r.passed) {
        Outcome::ThresholdsFailed
    } else if on_error != 0 && stats.aggregated().failures > 0 {
        Outcome::RequestsFailed(on_error)
    } else {
        Outcome::Success
    }
}

/// What the console says of a run that generated no load.
pub const NO_LOAD: &str = "no request completed: the run generated no load, so it did not pass \
     (exit code 4); give the users time to start (--spawn-rate, --run-time) and check the target";

/// [`NO_LOAD`] with what the figures say of why: requests the end cut off unanswered (a target
/// that never answered), and scenario errors that ended tasks before a request was sent.
pub fn no_load_note(stats: &RunStats) -> String {
    let totals = stats.totals();
    let mut note = NO_LOAD.to_string();
    if let Some(line) = brood_report::cut_off_line(totals.cut_off) {
        note.push_str(&format!(
            "; {line}: the target did not answer before the end (see the requests' timeout and \
             --stop-timeout)"
        ));
    }
    let exceptions: u64 = totals.exceptions.values().map(|e| e.count).sum();
    if exceptions > 0 {
        note.push_str(&format!(
            "; {exceptions} scenario error(s) ended tasks before their requests were sent (see \
             the scenario errors above)"
        ));
    }
    note
}

pub fn failed_abort_threshold(plan: &Plan, stats: &RunStats) -> Option<String> {
    let watched: Vec<_> = plan
        .thresholds
        .iter()
        .filter(|t| t.abort_on_fail)
        .cloned()
        .collect();
    if watched.is_empty() {
        return None;
    }
    evaluate(&watched, stats)
        .into_iter()
        .find(|r| !r.passed && r.actual.is_some())
        .map(|r| r.threshold.source)
}
