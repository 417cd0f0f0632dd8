//! The JSON summary: schema version, units, and a documented field for every key.

mod fixture;

use brood_plan::{Comparison, EntrySelector, Metric, Threshold};
use brood_report::{evaluate, summary, write_json_summary, RunInfo, Summary, SCHEMA_VERSION};
use fixture::{run, T0};
use serde_json::Value;

fn info() -> RunInfo {
    RunInfo {
        run_id: "r-20231114-221320".into(),
        scenario: Some("shop.yaml".into()),
        target: "https://shop.example".into(),
        started_ms: T0,
        ended_ms: T0 + 6_000,
        users_peak: 3,
        model: vec!["users: 3 for 6s".into()],
        regions: vec!["eu-west-1".into()],
        workers: 1,
        version: "0.1.0".into(),
    }
}

fn thresholds() -> Vec<Threshold> {
    vec![
        Threshold {
            source: "p95 < 500ms".into(),
            entry: None,
            metric: Metric::Percentile(95.0),
            op: Comparison::Lt,
            value: 500.0,
            abort_on_fail: false,
        },
        Threshold {
            source: "GET /b: failure_rate <= 0".into(),
            entry: Some(EntrySelector {
                method: Some("GET".into()),
                name: "/nothing".into(),
            }),
            metric: Metric::FailureRate,
            op: Comparison::Le,
            value: 0.0,
            abort_on_fail: true,
        },
    ]
}

fn json() -> (Summary, Value, String) {
    let stats = run(false);
    let results = evaluate(&thresholds(), &stats);
    let s = summary(&info(), &stats, &results);
    let mut out = Vec::new();
    write_json_summary(&mut out, &s).unwrap();
    let text = String::from_utf8(out).unwrap();
    (s, serde_json::from_str(&text).unwrap(), text)
}

#[test]
fn figures_and_units() {
    let (_, v, _) = json();
    assert_eq!(v["schema_version"], SCHEMA_VERSION);
    assert_eq!(v["run"]["run_id"], "r-20231114-221320");
    assert_eq!(v["run"]["duration_s"], 6.0);
    assert_eq!(v["run"]["rate_duration_s"], 5.0);
    let totals = &v["totals"];
    assert_eq!(totals["method"], Value::Null);
    assert_eq!(totals["name"], "Aggregated");
    assert_eq!(
        (totals["requests"].as_u64(), totals["failures"].as_u64()),
        (Some(15), Some(3))
    );
    assert_eq!(totals["failure_rate"], 0.2);
    assert_eq!(totals["rps"], 3.0);
    assert_eq!(totals["response_time_ms"]["min"], 1.5);
    assert_eq!(totals["response_time_ms"]["max"], 200.0);
    assert_eq!(totals["response_time_ms"]["avg"], 90.1);
    let pcts = totals["response_time_ms"]["percentiles"]
        .as_array()
        .unwrap();
    assert_eq!(pcts.len(), 11);
    assert_eq!(pcts[10], serde_json::json!({"p": 100.0, "ms": 200.0}));
    assert_eq!(totals["timing_ms"]["connect_avg"], 0.4);
    assert_eq!(totals["timing_ms"]["tls_handshakes"], 4);
    assert_eq!(totals["content_bytes_total"], 10_000);

    let names: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["/a", "/a", "/b", "/empty"]);
    assert_eq!(v["entries"][3]["response_time_ms"], Value::Null);
    assert_eq!(v["failures"][1]["error"], "timeout, after 30s");
    assert_eq!(v["failures"][0]["first_seen"], "2023-11-14T22:13:21Z");
    assert_eq!(v["exceptions"][0]["nodes"], serde_json::json!(["w1", "w2"]));
    assert_eq!(v["dropped_arrivals"], 4);

    let t = &v["thresholds"];
    assert_eq!(t["passed"], false);
    assert_eq!(t["results"][0]["passed"], true);
    assert_eq!(t["results"][0]["metric"], "p95");
    assert_eq!(t["results"][0]["unit"], "ms");
    assert_eq!(t["results"][0]["op"], "<");
    assert_eq!(t["results"][1]["actual"], Value::Null);
    assert_eq!(t["results"][1]["entry"]["method"], "GET");
}

#[test]
fn reads_back() {
    let (s, _, text) = json();
    assert!(text.ends_with("}\n"));
    let back: Summary = serde_json::from_str(&text).unwrap();
    assert_eq!(back, s);
}

fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| keys(i, out)),
        _ => {}
    }
}

#[test]
fn every_field_is_documented() {
    let doc = include_str!("../../../docs/json-summary.md");
    let (_, v, _) = json();
    let mut all = Vec::new();
    keys(&v, &mut all);
    all.sort();
    all.dedup();
    let missing: Vec<&String> = all
        .iter()
        .filter(|k| !doc.contains(&format!("`{k}`")))
        .collect();
    assert!(missing.is_empty(), "undocumented fields: {missing:?}");
}
