//! `/metrics`: the latest run's figures in Prometheus's text format (version 0.0.4), by
//! Prometheus's conventions: counters end in `_total`, response times are a histogram in
//! seconds, and every series of a run carries its `run` and `region` labels.
//!
//! Only real series are shown: one per region and endpoint, never an all-regions or Aggregated
//! row beside them (`sum(brood_requests_total)` is the run's count; aggregates are for PromQL).
//! Counters keep their final values once the run has finished; the `brood_users` gauge is
//! dropped then, so a dashboard does not show a finished run's users. Rates are left to
//! `rate()`.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::model::{LiveState, LATENCY_BOUNDS_S};
use crate::AppState;

pub(crate) async fn metrics(State(app): State<Arc<AppState>>) -> Response {
    let state = app
        .handle
        .latest()
        .and_then(|id| app.handle.live(&id))
        .map(|rx| rx.borrow().clone());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(state.as_deref()),
    )
        .into_response()
}

/// A label value with Prometheus's escapes.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One metric family: its HELP and TYPE lines, then its samples (`name{labels} value`).
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: String,
}

impl Family {
    fn new(name: &'static str, kind: &'static str, help: &'static str) -> Family {
        Family {
            name,
            kind,
            help,
            samples: String::new(),
        }
    }

    /// A sample of this family, or of one of its parts (`suffix` such as `_bucket`).
    fn sample(&mut self, suffix: &str, labels: &str, value: impl std::fmt::Display) {
        let _ = writeln!(self.samples, "{}{suffix}{{{labels}}} {value}", self.name);
    }

    /// Writes the family, unless it has no sample.
    fn write(&self, out: &mut String) {
        if self.samples.is_empty() {
            return;
        }
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind);
        out.push_str(&self.samples);
    }
}

/// The text of `/metrics` for the latest run (or only `brood_up` without one).
pub fn render(state: Option<&LiveState>) -> String {
    let mut out = String::new();
    out.push_str(
        "# HELP brood_up The brood server is answering.\n# TYPE brood_up gauge\nbrood_up 1\n",
    );
    let Some(state) = state else {
        return out;
    };
    let run = format!("run=\"{}\"", label(&state.run_id));
    let mut info = Family::new(
        "brood_run_info",
        "gauge",
        "The run these figures are from, with its state (starting, running, stopping, finished).",
    );
    info.sample("", &format!("{run},state=\"{}\"", label(&state.state)), 1);
    let mut users = Family::new(
        "brood_users",
        "gauge",
        "Users running; gone once the run has finished.",
    );
    let mut dropped = Family::new(
        "brood_dropped_arrivals_total",
        "counter",
        "Open-model arrivals dropped for want of a free user.",
    );
    let mut requests = Family::new(
        "brood_requests_total",
        "counter",
        "Requests completed, failed ones included.",
    );
    let mut failures = Family::new("brood_failures_total", "counter", "Requests that failed.");
    let mut latency = Family::new(
        "brood_response_time_seconds",
        "histogram",
        "Response times since the start of the run, in seconds.",
    );
    let finished = state.state == "finished";
    for view in &state.regions {
        let region = format!("{run},region=\"{}\"", label(&view.name));
        if !finished {
            let now = view.series.last().map_or(0, |p| p.users);
            users.sample("", &region, now);
        }
        let total_dropped: u64 = view.series.iter().map(|p| p.dropped).sum();
        dropped.sample("", &region, total_dropped);
        // The Aggregated row (no method) is what PromQL's sum() gives; it is not a series.
        for row in view.table.iter().filter(|r| !r.method.is_empty()) {
            let labels = format!(
                "{region},method=\"{}\",name=\"{}\"",
                label(&row.method),
                label(&row.name)
            );
            requests.sample("", &labels, row.requests);
            failures.sample("", &labels, row.failures);
            let l = &row.latency;
            for (bound, n) in LATENCY_BOUNDS_S.iter().zip(&l.at_or_below) {
                latency.sample("_bucket", &format!("{labels},le=\"{bound}\""), n);
            }
            latency.sample("_bucket", &format!("{labels},le=\"+Inf\""), l.count);
            latency.sample("_sum", &labels, l.sum_us as f64 / 1e6);
            latency.sample("_count", &labels, l.count);
        }
    }
    for family in [&info, &users, &dropped, &requests, &failures, &latency] {
        family.write(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EntryRow, Latency, Point, View};
    use brood_stats::Histogram;

    fn entry(method: &str, name: &str, requests: u64, response_us: &[u64]) -> EntryRow {
        let mut hist = Histogram::new();
        for us in response_us {
            hist.record(*us);
        }
        EntryRow {
            method: method.into(),
            name: name.into(),
            requests,
            failures: requests / 10,
            latency: Latency::of(&hist),
            ..EntryRow::default()
        }
    }

    fn view(name: &str, users: u64, rows: Vec<EntryRow>) -> View {
        View {
            name: name.into(),
            series: vec![Point {
                users,
                dropped: 3,
                ..Point::default()
            }],
            table: rows,
        }
    }

    /// A running two-region run, as the observer publishes it: an all-regions view and an
    /// Aggregated row per table.
    fn two_regions(state: &str) -> LiveState {
        let eu = vec![
            entry("GET", "/a", 30, &[1_000; 30]),
            entry("POST", "/b", 10, &[2_000; 10]),
            entry("", "Aggregated", 40, &[1_000; 40]),
        ];
        let us = vec![
            entry("GET", "/a", 20, &[1_000; 20]),
            entry("", "Aggregated", 20, &[1_000; 20]),
        ];
        let all = vec![
            entry("GET", "/a", 50, &[1_000; 50]),
            entry("POST", "/b", 10, &[2_000; 10]),
            entry("", "Aggregated", 60, &[1_000; 60]),
        ];
        LiveState {
            run_id: "r1".into(),
            state: state.into(),
            all: view("all", 7, all),
            regions: vec![view("eu", 4, eu), view("us", 3, us)],
            ..LiveState::default()
        }
    }

    /// Samples of `name` exactly (not its `_bucket` etc.), as (labels, value).
    fn samples<'a>(text: &'a str, name: &str) -> Vec<(&'a str, f64)> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (series, value) = l.rsplit_once(' ')?;
                let (n, labels) = series.split_once('{')?;
                (n == name).then(|| (labels.trim_end_matches('}'), value.parse().unwrap()))
            })
            .collect()
    }

    #[test]
    fn counters_are_real_series_only_so_their_sum_is_the_runs_count() {
        let text = render(Some(&two_regions("running")));
        assert!(!text.contains("region=\"all\""), "{text}");
        assert!(!text.contains("Aggregated"), "{text}");
        let requests = samples(&text, "brood_requests_total");
        assert_eq!(requests.len(), 3, "{text}");
        assert_eq!(requests.iter().map(|(_, v)| v).sum::<f64>(), 60.0);
        assert!(text.contains(
            "brood_requests_total{run=\"r1\",region=\"eu\",method=\"POST\",name=\"/b\"} 10\n"
        ));
        assert!(text.contains(
            "brood_failures_total{run=\"r1\",region=\"us\",method=\"GET\",name=\"/a\"} 2\n"
        ));
        assert!(text.contains("brood_dropped_arrivals_total{run=\"r1\",region=\"eu\"} 3\n"));
        assert!(text.contains("brood_run_info{run=\"r1\",state=\"running\"} 1\n"));
        // Every family has its HELP and TYPE, and no gauge pretends to be a summary.
        for family in [
            "brood_up",
            "brood_run_info",
            "brood_users",
            "brood_dropped_arrivals_total",
            "brood_requests_total",
            "brood_failures_total",
            "brood_response_time_seconds",
        ] {
            assert!(text.contains(&format!("# HELP {family} ")), "{family}");
            assert!(text.contains(&format!("# TYPE {family} ")), "{family}");
        }
        assert!(!text.contains("quantile"));
        assert!(!text.contains("_ms"));
        assert!(!text.contains("per_second"));
    }

    #[test]
    fn response_times_are_a_cumulative_histogram_in_seconds_ending_at_the_count() {
        let us = [400, 3_000, 3_000, 40_000, 2_000_000, 90_000_000];
        let state = LiveState {
            run_id: "r1".into(),
            state: "running".into(),
            regions: vec![view("eu", 1, vec![entry("GET", "/", 6, &us)])],
            ..LiveState::default()
        };
        let text = render(Some(&state));
        let buckets = samples(&text, "brood_response_time_seconds_bucket");
        let le: Vec<(&str, f64)> = buckets
            .iter()
            .map(|(labels, v)| (labels.rsplit_once("le=").unwrap().1, *v))
            .collect();
        assert_eq!(le.len(), LATENCY_BOUNDS_S.len() + 1);
        assert_eq!(le[0], ("\"0.001\"", 1.0));
        assert_eq!(le[2], ("\"0.005\"", 3.0));
        assert_eq!(le[5], ("\"0.05\"", 4.0));
        assert_eq!(le[10], ("\"2.5\"", 5.0));
        assert_eq!(le[14], ("\"60\"", 5.0), "90 s is above the last bound");
        assert_eq!(le[15], ("\"+Inf\"", 6.0));
        assert!(
            le.windows(2).all(|w| w[0].1 <= w[1].1),
            "cumulative: {le:?}"
        );
        let count = samples(&text, "brood_response_time_seconds_count");
        assert_eq!(
            count,
            [("run=\"r1\",region=\"eu\",method=\"GET\",name=\"/\"", 6.0)]
        );
        let sum = samples(&text, "brood_response_time_seconds_sum");
        assert!((sum[0].1 - 92.0464).abs() < 1e-9, "{sum:?}");
    }

    #[test]
    fn the_users_gauge_is_gone_once_the_run_has_finished_and_counters_stay() {
        let running = render(Some(&two_regions("running")));
        assert_eq!(
            samples(&running, "brood_users"),
            [
                ("run=\"r1\",region=\"eu\"", 4.0),
                ("run=\"r1\",region=\"us\"", 3.0)
            ]
        );
        let finished = render(Some(&two_regions("finished")));
        assert!(samples(&finished, "brood_users").is_empty(), "{finished}");
        assert!(!finished.contains("brood_users"), "{finished}");
        assert_eq!(
            samples(&finished, "brood_requests_total"),
            samples(&running, "brood_requests_total")
        );
        assert!(finished.contains("brood_run_info{run=\"r1\",state=\"finished\"} 1\n"));
    }

    #[test]
    fn label_values_are_escaped_and_no_run_shows_only_up() {
        let state = LiveState {
            run_id: "r1".into(),
            state: "running".into(),
            regions: vec![view("eu", 1, vec![entry("GET", "/q=\"x\"\\\n", 1, &[5])])],
            ..LiveState::default()
        };
        let text = render(Some(&state));
        assert!(text.contains("name=\"/q=\\\"x\\\"\\\\\\n\"} 1\n"), "{text}");
        assert_eq!(
            render(None),
            "# HELP brood_up The brood server is answering.\n# TYPE brood_up gauge\nbrood_up 1\n"
        );
    }
}
