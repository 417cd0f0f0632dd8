//! `/metrics`: the latest run's live figures in Prometheus's text format (version 0.0.4), per
//! region (`region="all"` for every region together) and endpoint, for teams' own dashboards.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::model::{LiveState, View};
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

struct Family<'a> {
    name: &'a str,
    kind: &'a str,
    help: &'a str,
    samples: Vec<(String, f64)>,
}

impl Family<'_> {
    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind);
        for (labels, value) in &self.samples {
            let _ = writeln!(out, "{}{{{labels}}} {value}", self.name);
        }
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
    let run = format!(
        "run_id=\"{}\",state=\"{}\"",
        label(&state.run_id),
        label(&state.state)
    );
    let _ = writeln!(
        out,
        "# HELP brood_run_info The run these figures are from.\n# TYPE brood_run_info gauge\nbrood_run_info{{{run}}} 1"
    );
    let views: Vec<&View> = std::iter::once(&state.all)
        .chain(state.regions.iter())
        .collect();
    let mut families = [
        Family {
            name: "brood_users",
            kind: "gauge",
            help: "Users running.",
            samples: Vec::new(),
        },
        Family {
            name: "brood_dropped_arrivals_total",
            kind: "counter",
            help: "Open-model arrivals dropped for want of a free user.",
            samples: Vec::new(),
        },
        Family {
            name: "brood_requests_total",
            kind: "counter",
            help: "Requests completed, failed ones included.",
            samples: Vec::new(),
        },
        Family {
            name: "brood_failures_total",
            kind: "counter",
            help: "Requests that failed.",
            samples: Vec::new(),
        },
        Family {
            name: "brood_requests_per_second",
            kind: "gauge",
            help: "Current requests per second (last 10 seconds).",
            samples: Vec::new(),
        },
        Family {
            name: "brood_response_time_ms",
            kind: "gauge",
            help: "Response time percentiles since the start of the run, milliseconds.",
            samples: Vec::new(),
        },
    ];
    for view in views {
        let region = format!("region=\"{}\"", label(&view.name));
        let last = view.series.last();
        families[0]
            .samples
            .push((region.clone(), last.map_or(0.0, |p| p.users as f64)));
        let dropped: u64 = view.series.iter().map(|p| p.dropped).sum();
        families[1].samples.push((region.clone(), dropped as f64));
        for row in &view.table {
            let labels = format!(
                "{region},method=\"{}\",name=\"{}\"",
                label(&row.method),
                label(&row.name)
            );
            families[2]
                .samples
                .push((labels.clone(), row.requests as f64));
            families[3]
                .samples
                .push((labels.clone(), row.failures as f64));
            families[4].samples.push((labels.clone(), row.current_rps));
            for (q, value) in [
                ("0.5", row.median_ms),
                ("0.95", row.p95_ms),
                ("0.99", row.p99_ms),
            ] {
                if let Some(v) = value {
                    families[5]
                        .samples
                        .push((format!("{labels},quantile=\"{q}\""), v));
                }
            }
        }
    }
    for family in &families {
        family.write(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EntryRow, Point};

    #[test]
    fn figures_per_region_and_endpoint_with_escaped_labels() {
        let row = EntryRow {
            method: "GET".into(),
            name: "/search?q=\"x\"".into(),
            requests: 42,
            failures: 2,
            median_ms: Some(12.5),
            p95_ms: Some(30.0),
            p99_ms: None,
            current_rps: 7.5,
            ..EntryRow::default()
        };
        let view = |name: &str| View {
            name: name.into(),
            series: vec![Point {
                users: 5,
                dropped: 3,
                ..Point::default()
            }],
            table: vec![row.clone()],
        };
        let state = LiveState {
            run_id: "r1".into(),
            state: "running".into(),
            all: view("all"),
            regions: vec![view("eu")],
            ..LiveState::default()
        };
        let text = render(Some(&state));
        assert!(text.contains("brood_run_info{run_id=\"r1\",state=\"running\"} 1"));
        assert!(text.contains("brood_users{region=\"eu\"} 5"));
        assert!(text.contains("brood_dropped_arrivals_total{region=\"all\"} 3"));
        assert!(text.contains(
            "brood_requests_total{region=\"eu\",method=\"GET\",name=\"/search?q=\\\"x\\\"\"} 42"
        ));
        assert!(text.contains(
            "brood_response_time_ms{region=\"all\",method=\"GET\",name=\"/search?q=\\\"x\\\"\",quantile=\"0.95\"} 30"
        ));
        assert!(!text.contains("quantile=\"0.99\""));
        assert_eq!(render(None).lines().count(), 3);
    }
}
