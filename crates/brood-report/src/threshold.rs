//! Threshold evaluation: each [`Threshold`] of the plan against the run's figures.
//!
//! Units follow the plan: milliseconds for response times, a fraction for the failure rate,
//! requests per second for rps (Locust's: requests ÷ (last request − run start)), plain counts
//! for requests and failures. An entry selector without a method merges every method of the name.

use std::collections::BTreeMap;

use brood_plan::{Comparison, EntryName, EntrySelector, Metric, Threshold};
use brood_stats::{EntryStats, RunStats};
use serde::{Deserialize, Serialize};

/// The outcome of one threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdResult {
    pub threshold: Threshold,
    /// The measured value in the metric's unit; `None` when the selected entry saw no request
    /// (which fails the threshold: nothing was shown to hold).
    pub actual: Option<f64>,
    pub passed: bool,
}

/// Evaluates `thresholds` against a run's totals.
pub fn evaluate(thresholds: &[Threshold], stats: &RunStats) -> Vec<ThresholdResult> {
    evaluate_entries(
        thresholds,
        &stats.totals().entries,
        stats.aggregated(),
        stats.rate_secs(),
    )
}

/// Evaluates `thresholds` against per-entry figures, their merge, and the seconds that rates
/// divide by. For callers holding a bare snapshot rather than a [`RunStats`].
pub fn evaluate_entries(
    thresholds: &[Threshold],
    entries: &BTreeMap<EntryName, EntryStats>,
    aggregated: &EntryStats,
    rate_secs: f64,
) -> Vec<ThresholdResult> {
    thresholds
        .iter()
        .map(|t| {
            let actual = match &t.entry {
                None => measure(t.metric, aggregated, rate_secs),
                Some(selector) => measure(t.metric, &select(entries, selector), rate_secs),
            };
            ThresholdResult {
                threshold: t.clone(),
                actual,
                passed: actual.is_some_and(|a| t.op.holds(a, t.value)),
            }
        })
        .collect()
}

fn select(entries: &BTreeMap<EntryName, EntryStats>, selector: &EntrySelector) -> EntryStats {
    let mut merged = EntryStats::default();
    let matching = entries.iter().filter(|(name, _)| {
        name.name == selector.name
            && selector
                .method
                .as_ref()
                .is_none_or(|m| m.eq_ignore_ascii_case(&name.method))
    });
    for (_, stats) in matching {
        merged.merge(stats);
    }
    merged
}

fn measure(metric: Metric, e: &EntryStats, rate_secs: f64) -> Option<f64> {
    if e.requests == 0 {
        return None;
    }
    let ms = |us: u64| us as f64 / 1000.0;
    Some(match metric {
        Metric::Percentile(p) => ms(e.hist.value_at_percentile(p)),
        Metric::AvgResponseTime => e.avg_us() / 1000.0,
        Metric::MinResponseTime => ms(e.min_us),
        Metric::MaxResponseTime => ms(e.max_us),
        Metric::FailureRate => e.failure_rate(),
        Metric::Rps => brood_stats::per_second(e.requests, rate_secs),
        Metric::Requests => e.requests as f64,
        Metric::Failures => e.failures as f64,
    })
}

/// A short stable name for a metric, as used in reports: `p95`, `p99.9`, `avg`, `failure_rate`.
pub fn metric_name(metric: Metric) -> String {
    match metric {
        Metric::Percentile(p) => format!("p{p}"),
        Metric::AvgResponseTime => "avg".into(),
        Metric::MinResponseTime => "min".into(),
        Metric::MaxResponseTime => "max".into(),
        Metric::FailureRate => "failure_rate".into(),
        Metric::Rps => "rps".into(),
        Metric::Requests => "requests".into(),
        Metric::Failures => "failures".into(),
    }
}

/// The unit of a metric's values: `ms`, `fraction`, `per_second` or `count`.
pub fn metric_unit(metric: Metric) -> &'static str {
    match metric {
        Metric::Percentile(_)
        | Metric::AvgResponseTime
        | Metric::MinResponseTime
        | Metric::MaxResponseTime => "ms",
        Metric::FailureRate => "fraction",
        Metric::Rps => "per_second",
        Metric::Requests | Metric::Failures => "count",
    }
}

/// The comparison as written: `<`, `<=`, `>`, `>=`, `==`.
pub(crate) fn op_text(op: Comparison) -> &'static str {
    match op {
        Comparison::Lt => "<",
        Comparison::Le => "<=",
        Comparison::Gt => ">",
        Comparison::Ge => ">=",
        Comparison::Eq => "==",
    }
}

/// A value with its unit for people: `612.3 ms`, `2.5% (0.025)`, `118.2/s`, `12`.
pub(crate) fn value_text(metric: Metric, v: f64) -> String {
    let rounded = |x: f64, places: i32| {
        let f = 10f64.powi(places);
        (x * f).round() / f
    };
    match metric_unit(metric) {
        "ms" => format!("{} ms", rounded(v, 3)),
        "fraction" => format!("{}% ({})", rounded(v * 100.0, 4), rounded(v, 6)),
        "per_second" => format!("{}/s", rounded(v, 3)),
        _ => format!("{v}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brood_stats::{Outcome, Recorder};

    fn threshold(
        entry: Option<(&str, &str)>,
        metric: Metric,
        op: Comparison,
        value: f64,
    ) -> Threshold {
        Threshold {
            source: format!("{metric:?} {op:?} {value}"),
            entry: entry.map(|(m, n)| EntrySelector {
                method: (!m.is_empty()).then(|| m.to_owned()),
                name: n.to_owned(),
            }),
            metric,
            op,
            value,
            abort_on_fail: false,
        }
    }

    /// GET /a: 100 requests of 1..=100 ms, 5 failed; POST /a: 100 of 200 ms; GET /b none.
    fn run() -> RunStats {
        let names = [
            EntryName {
                method: "GET".into(),
                name: "/a".into(),
            },
            EntryName {
                method: "POST".into(),
                name: "/a".into(),
            },
            EntryName {
                method: "GET".into(),
                name: "/b".into(),
            },
        ];
        let mut r = Recorder::new(&names);
        for i in 1..=100u64 {
            let error = (i % 20 == 0).then_some("HTTP 500");
            let get = Outcome {
                elapsed_us: i * 1000,
                error,
                ..Outcome::default()
            };
            r.record(0, &get, 1_000 + i * 10);
            let post = Outcome {
                elapsed_us: 200_000,
                ..Outcome::default()
            };
            r.record(1, &post, 1_000 + i * 10);
        }
        let mut stats = RunStats::new(1_000);
        stats.add(&r.take(10, 3_000));
        stats
    }

    #[test]
    fn metrics_in_plan_units() {
        let stats = run();
        let get_a = Some(("GET", "/a"));
        let cases = [
            (
                threshold(get_a, Metric::Percentile(95.0), Comparison::Lt, 100.0),
                Some(95.0),
                true,
            ),
            (
                threshold(get_a, Metric::AvgResponseTime, Comparison::Le, 50.5),
                Some(50.5),
                true,
            ),
            (
                threshold(get_a, Metric::MinResponseTime, Comparison::Eq, 1.0),
                Some(1.0),
                true,
            ),
            (
                threshold(get_a, Metric::MaxResponseTime, Comparison::Lt, 100.0),
                Some(100.0),
                false,
            ),
            (
                threshold(get_a, Metric::FailureRate, Comparison::Lt, 0.01),
                Some(0.05),
                false,
            ),
            // Last request at 2000 ms, start 1000 ms: 100 requests over 1 s.
            (
                threshold(get_a, Metric::Rps, Comparison::Ge, 100.0),
                Some(100.0),
                true,
            ),
            (
                threshold(get_a, Metric::Requests, Comparison::Gt, 99.0),
                Some(100.0),
                true,
            ),
            (
                threshold(get_a, Metric::Failures, Comparison::Eq, 5.0),
                Some(5.0),
                true,
            ),
            (
                threshold(None, Metric::Requests, Comparison::Eq, 200.0),
                Some(200.0),
                true,
            ),
            (
                threshold(None, Metric::MaxResponseTime, Comparison::Le, 200.0),
                Some(200.0),
                true,
            ),
            // The name alone merges GET and POST.
            (
                threshold(Some(("", "/a")), Metric::Requests, Comparison::Eq, 200.0),
                Some(200.0),
                true,
            ),
            (
                threshold(Some(("", "/a")), Metric::FailureRate, Comparison::Eq, 0.025),
                Some(0.025),
                true,
            ),
            (
                threshold(
                    Some(("post", "/a")),
                    Metric::Percentile(50.0),
                    Comparison::Eq,
                    200.0,
                ),
                Some(200.0),
                true,
            ),
            // No requests: fails with no value, whatever the comparison.
            (
                threshold(Some(("GET", "/b")), Metric::Failures, Comparison::Eq, 0.0),
                None,
                false,
            ),
            (
                threshold(
                    Some(("", "/missing")),
                    Metric::Requests,
                    Comparison::Ge,
                    0.0,
                ),
                None,
                false,
            ),
        ];
        let thresholds: Vec<Threshold> = cases.iter().map(|c| c.0.clone()).collect();
        let results = evaluate(&thresholds, &stats);
        for ((t, actual, passed), r) in cases.iter().zip(&results) {
            assert_eq!(&r.threshold, t);
            // HDR percentiles are within 0.1%; everything else is exact.
            match (r.actual, actual) {
                (Some(got), Some(want)) => {
                    assert!((got - want).abs() <= want * 0.001, "{}: {got}", t.source)
                }
                (got, want) => assert_eq!(got, *want, "{}", t.source),
            }
            assert_eq!(r.passed, *passed, "{}", t.source);
        }
    }

    #[test]
    fn values_read_with_units() {
        assert_eq!(value_text(Metric::Percentile(95.0), 612.3456), "612.346 ms");
        assert_eq!(value_text(Metric::FailureRate, 0.025), "2.5% (0.025)");
        assert_eq!(value_text(Metric::Rps, 118.25), "118.25/s");
        assert_eq!(value_text(Metric::Requests, 12.0), "12");
        assert_eq!(metric_name(Metric::Percentile(99.9)), "p99.9");
    }
}
