//! A run's headline figures: what a list of runs shows of each.

use serde::{Deserialize, Serialize};

use crate::run::{per_second, RunStats};

/// Requests, failures, rate and percentiles of the whole run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    pub requests: u64,
    pub failures: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

impl Headline {
    /// The headline of `stats`' aggregated figures.
    pub fn of(stats: &RunStats) -> Headline {
        let a = stats.aggregated();
        let ms = |p: f64| a.hist.value_at_percentile(p) as f64 / 1000.0;
        Headline {
            requests: a.requests,
            failures: a.failures,
            rps: per_second(a.requests, stats.rate_secs()),
            p50_ms: ms(50.0),
            p95_ms: ms(95.0),
            p99_ms: ms(99.0),
        }
    }
}
