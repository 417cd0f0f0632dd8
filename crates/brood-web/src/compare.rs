//! Two runs side by side: per endpoint, the percentiles and requests per second of each and the
//! difference, read from the runs' JSON summaries (`docs/json-summary.md`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::ApiError;
use crate::AppState;

#[derive(Deserialize)]
pub(crate) struct CompareQuery {
    a: Option<String>,
    b: Option<String>,
}

/// One endpoint's figures in one run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Figures {
    pub requests: u64,
    pub failures: u64,
    pub rps: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub method: String,
    pub name: String,
    pub a: Option<Figures>,
    pub b: Option<Figures>,
    /// `b − a` for each figure both runs have.
    pub diff: Option<Figures>,
}

fn figures(entry: &Value) -> Figures {
    let pct = |p: f64| {
        entry["response_time_ms"]["percentiles"]
            .as_array()?
            .iter()
            .find(|x| x["p"].as_f64() == Some(p))?["ms"]
            .as_f64()
    };
    Figures {
        requests: entry["requests"].as_u64().unwrap_or(0),
        failures: entry["failures"].as_u64().unwrap_or(0),
        rps: entry["rps"].as_f64().unwrap_or(0.0),
        p50_ms: pct(50.0),
        p95_ms: pct(95.0),
        p99_ms: pct(99.0),
    }
}

fn diff(a: &Figures, b: &Figures) -> Figures {
    let d = |x: Option<f64>, y: Option<f64>| Some(y? - x?);
    Figures {
        requests: b.requests.wrapping_sub(a.requests),
        failures: b.failures.wrapping_sub(a.failures),
        rps: b.rps - a.rps,
        p50_ms: d(a.p50_ms, b.p50_ms),
        p95_ms: d(a.p95_ms, b.p95_ms),
        p99_ms: d(a.p99_ms, b.p99_ms),
    }
}

/// Rows of every endpoint of either summary, then the totals.
pub fn compare_summaries(a: &Value, b: &Value) -> Vec<Row> {
    let mut rows: BTreeMap<(String, String), (Option<Figures>, Option<Figures>)> = BTreeMap::new();
    for (side, summary) in [(0, a), (1, b)] {
        for entry in summary["entries"].as_array().into_iter().flatten() {
            let key = (
                entry["name"].as_str().unwrap_or("").to_string(),
                entry["method"].as_str().unwrap_or("").to_string(),
            );
            let slot = rows.entry(key).or_default();
            if side == 0 {
                slot.0 = Some(figures(entry));
            } else {
                slot.1 = Some(figures(entry));
            }
        }
    }
    let mut out: Vec<Row> = rows
        .into_iter()
        .map(|((name, method), (a, b))| row(method, name, a, b))
        .collect();
    out.push(row(
        String::new(),
        "Aggregated".into(),
        Some(figures(&a["totals"])),
        Some(figures(&b["totals"])),
    ));
    out
}

fn row(method: String, name: String, a: Option<Figures>, b: Option<Figures>) -> Row {
    let diff = match (&a, &b) {
        (Some(a), Some(b)) => Some(diff(a, b)),
        _ => None,
    };
    Row {
        method,
        name,
        a,
        b,
        diff,
    }
}

async fn summary_of(app: &Arc<AppState>, id: &str, field: &str) -> Result<Value, ApiError> {
    let handle = app.handle.clone();
    let lookup = id.to_string();
    let artifacts = tokio::task::spawn_blocking(move || handle.artifacts(&lookup))
        .await
        .map_err(|_| ApiError::Internal("the request was interrupted".into()))?;
    let found = artifacts
        .into_iter()
        .find(|a| a.name == "summary.json")
        .ok_or_else(|| ApiError::NotFound(format!("{field}: run {id:?} has no summary")))?;
    let bytes = tokio::fs::read(&found.path)
        .await
        .map_err(|_| ApiError::NotFound(format!("{field}: the summary of {id} cannot be read")))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| ApiError::Internal(format!("{field}: the summary of {id} is not valid JSON")))
}

pub(crate) async fn compare(
    State(app): State<Arc<AppState>>,
    Query(q): Query<CompareQuery>,
) -> Result<Json<Value>, ApiError> {
    let (Some(a), Some(b)) = (q.a, q.b) else {
        return Err(ApiError::BadRequest(
            "a, b: give two run ids, /api/compare?a=RUN&b=RUN".into(),
        ));
    };
    let sa = summary_of(&app, &a, "a").await?;
    let sb = summary_of(&app, &b, "b").await?;
    Ok(Json(serde_json::json!({
        "a": { "id": a, "run": sa["run"] },
        "b": { "id": b, "run": sb["run"] },
        "rows": compare_summaries(&sa, &sb),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(name: &str, rps: f64, p95: f64) -> Value {
        json!({
            "method": "GET", "name": name, "requests": 100, "failures": 1, "rps": rps,
            "response_time_ms": { "percentiles": [
                {"p": 50.0, "ms": p95 / 2.0}, {"p": 95.0, "ms": p95}, {"p": 99.0, "ms": p95 * 2.0}
            ]}
        })
    }

    #[test]
    fn rows_cover_both_runs_with_differences() {
        let a = json!({ "entries": [entry("/a", 10.0, 100.0), entry("/only-a", 1.0, 5.0)],
                        "totals": entry("Aggregated", 11.0, 90.0) });
        let b = json!({ "entries": [entry("/a", 12.5, 80.0)],
                        "totals": entry("Aggregated", 12.5, 80.0) });
        let rows = compare_summaries(&a, &b);
        assert_eq!(rows.len(), 3);
        let first = &rows[0];
        assert_eq!(first.name, "/a");
        let d = first.diff.as_ref().unwrap();
        assert_eq!(d.rps, 2.5);
        assert_eq!(d.p95_ms, Some(-20.0));
        assert_eq!(d.p99_ms, Some(-40.0));
        assert!(rows[1].b.is_none() && rows[1].diff.is_none());
        assert_eq!(rows[2].name, "Aggregated");
        assert_eq!(rows[2].diff.as_ref().unwrap().p95_ms, Some(-10.0));
    }
}
