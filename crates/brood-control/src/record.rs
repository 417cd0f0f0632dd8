//! What a run is called and how it is described in its reports: the run id and the run's
//! information block (target, model, users, version).

use brood_plan::{Plan, Profile};
use brood_report::RunInfo;
use brood_stats::RunStats;

use crate::settings::Settings;

pub fn run_info(settings: &Settings, stats: &RunStats, started_ms: u64, ended_ms: u64) -> RunInfo {
    RunInfo {
        run_id: run_id(started_ms),
        scenario: settings.scenario_label.clone(),
        target: settings.target.clone(),
        started_ms,
        ended_ms,
        users_peak: stats.users_peak(),
        model: describe(&settings.plan),
        regions: Vec::new(),
        workers: 1,
        version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// A sortable, readable id from the start time, e.g. `20261124T201500Z-123`.
pub fn run_id(unix_ms: u64) -> String {
    let stamp = brood_report::utc_timestamp(unix_ms / 1000).replace(['-', ':'], "");
    format!("{stamp}-{:03}", unix_ms % 1000)
}

/// The load model in a few lines, for reports and `--dry-run`.
pub fn describe(plan: &Plan) -> Vec<String> {
    let (kind, curve) = match &plan.profile {
        Profile::Users { curve } => ("users", curve),
        Profile::Arrivals {
            curve,
            unit,
            max_users,
        } => {
            let mut lines = describe_curve("arrivals/s", curve);
            lines.push(
                format!("open model: one arrival = one {unit:?}, at most {max_users} users")
                    .to_lowercase(),
            );
            return lines;
        }
    };
    describe_curve(kind, curve)
}

fn describe_curve(kind: &str, curve: &brood_plan::Curve) -> Vec<String> {
    let mut lines = Vec::new();
    for pair in curve.points.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        lines.push(format!(
            "{kind}: {} → {} from {:.1}s to {:.1}s",
            a.value,
            b.value,
            a.at.as_secs_f64(),
            b.at.as_secs_f64()
        ));
    }
    if curve.points.len() == 1 {
        lines.push(format!("{kind}: {}", curve.points[0].value));
    }
    lines.push(match curve.end {
        Some(end) => format!("run time: {:.1}s", end.as_secs_f64()),
        None => "run time: until stopped".into(),
    });
    lines
}
