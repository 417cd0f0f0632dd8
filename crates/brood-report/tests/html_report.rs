//! The HTML report: sections, figures, charts, escaping, offline use and the empty run.

use brood_plan::{Comparison, Metric, Threshold};
use brood_report::{evaluate, write_html_report, RunInfo};
use brood_stats::{EntryName, Outcome, Recorder, RunStats};

const T0: u64 = 1_700_000_000_000;

fn info(target: &str) -> RunInfo {
    RunInfo {
        run_id: "r-20231114-221320".into(),
        scenario: Some("shop.yaml".into()),
        target: target.into(),
        started_ms: T0,
        ended_ms: T0 + 5_000,
        users_peak: 4,
        model: vec!["users: 0 -> 4 over 5s".into()],
        regions: Vec::new(),
        workers: 1,
        version: "0.1.0".into(),
    }
}

fn name(method: &str, name: &str) -> EntryName {
    EntryName {
        method: method.into(),
        name: name.into(),
    }
}

/// Five seconds: each second GET /a answers twice in 100 ms, and POST `<script>` once in 300 ms,
/// failing in the 3rd second with an error that holds markup.
fn run() -> RunStats {
    let names = [name("GET", "/a"), name("POST", "<script>alert(1)</script>")];
    let mut r = Recorder::new(&names);
    let mut stats = RunStats::new(T0);
    for s in 0..5u64 {
        let now = T0 + s * 1000;
        stats.set_users(s + 1);
        let ok = Outcome {
            elapsed_us: 100_000,
            content_bytes: 500,
            ..Outcome::default()
        };
        r.record(0, &ok, now + 100);
        r.record(0, &ok, now + 200);
        let post = Outcome {
            elapsed_us: 300_000,
            error: (s == 2).then_some("HTTP 500 <b>boom</b> from https://evil.example"),
            ..Outcome::default()
        };
        r.record(1, &post, now + 300);
        stats.add(&r.take(s + 1, now + 999));
        stats.tick(now + 1000);
    }
    stats
}

fn html(info: &RunInfo, stats: &RunStats, regions: &[(String, &RunStats)]) -> String {
    let thresholds = [Threshold {
        source: "p95 < 250ms".into(),
        entry: None,
        metric: Metric::Percentile(95.0),
        op: Comparison::Lt,
        value: 250.0,
        abort_on_fail: false,
    }];
    let results = evaluate(&thresholds, stats);
    let mut out = Vec::new();
    write_html_report(&mut out, info, stats, &results, regions).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn sections_and_figures() {
    let stats = run();
    let page = html(&info("shop.example"), &stats, &[]);
    assert!(page.starts_with("<!DOCTYPE html>"));
    for section in [
        "id=\"headline\"",
        "id=\"charts\"",
        "id=\"statistics\"",
        "id=\"failures\"",
        "id=\"exceptions\"",
        "id=\"thresholds\"",
    ] {
        assert!(page.contains(section), "missing {section}");
    }
    assert!(!page.contains("id=\"regions\""));
    // Header.
    for text in [
        "r-20231114-221320",
        "shop.yaml",
        "2023-11-14T22:13:20Z",
        "2023-11-14T22:13:25Z",
        "5s",
        "users: 0 -&gt; 4 over 5s",
        "0.1.0",
    ] {
        assert!(page.contains(text), "missing {text}");
    }
    // 15 requests, 1 failure; the last request 4.3 s after the start.
    assert!(page.contains("<div class=\"v\">15</div><div class=\"k\">Requests</div>"));
    assert!(page.contains("<div class=\"v\">1 (6.67%)</div>"));
    assert!(page.contains(&format!("{:.2}", 15.0 / 4.3)));
    assert!(page.contains("<div class=\"v\">100</div><div class=\"k\">p50 (ms)</div>"));
    assert!(page.contains("<div class=\"v\">300</div><div class=\"k\">p99 (ms)</div>"));
    // Statistics rows: GET /a and the Aggregated row.
    assert!(page.contains(
        "<td class=\"t\">GET</td><td class=\"t\">/a</td><td>10</td><td>0 (0.00%)</td>\
         <td>100</td><td>100</td><td>100</td><td>100.00</td><td>100</td><td>100</td><td>500</td>"
    ));
    assert!(page.contains(
        "<tr class=\"agg\"><td class=\"t\"></td><td class=\"t\">Aggregated</td><td>15</td>"
    ));
    // Failures, thresholds.
    assert!(page.contains("HTTP 500 &lt;b&gt;boom&lt;/b&gt;"));
    assert!(page.contains("No exceptions."));
    assert!(page.contains("p95 &lt; 250ms"));
    assert!(page.contains("FAIL"));
    // Three charts drawn from history.
    assert_eq!(page.matches("<svg").count(), 3);
    assert!(page.contains("<polyline"));
    assert!(page.contains("requests/s") && page.contains("failures/s"));
    assert!(page.contains(">p95<") && page.contains(">users<"));
}

#[test]
fn user_text_is_escaped() {
    let stats = run();
    let page = html(&info("<script>x</script>"), &stats, &[]);
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("<script"));
    assert!(!page.contains("<b>boom"));
}

#[test]
fn refers_to_nothing_outside_the_file() {
    let stats = run();
    let page = html(&info("https://shop.example"), &stats, &[]);
    // The only URLs are the user's own text: the target and the error message.
    let user_urls = ["https://shop.example", "https://evil.example"];
    let mut rest = page.clone();
    for url in user_urls {
        assert!(rest.contains(url));
        rest = rest.replace(url, "");
    }
    assert!(!rest.contains("http://") && !rest.contains("https://"));
    for attr in ["src=", "href=", "url(", "@import", "<link", "<script"] {
        assert!(!rest.contains(attr), "found {attr}");
    }
}

#[test]
fn regions_table_and_chart() {
    let stats = run();
    let empty = RunStats::new(T0);
    let regions = [
        ("eu-west-1".to_owned(), &stats),
        ("us-<east>".to_owned(), &empty),
    ];
    let page = html(&info("shop.example"), &stats, &regions);
    assert!(page.contains("id=\"regions\""));
    assert!(page.contains("<td class=\"t\">eu-west-1</td><td>15</td><td>1 (6.67%)</td>"));
    assert!(page.contains("<td class=\"t\">us-&lt;east&gt;</td><td>0</td>"));
    assert!(page.contains("Requests per second by region"));
    assert_eq!(page.matches("<svg").count(), 4);
}

#[test]
fn empty_run() {
    let stats = RunStats::new(T0);
    let mut info = info("shop.example");
    info.ended_ms = T0;
    let mut out = Vec::new();
    write_html_report(&mut out, &info, &stats, &[], &[]).unwrap();
    let page = String::from_utf8(out).unwrap();
    assert!(page.contains("<div class=\"v\">0</div><div class=\"k\">Requests</div>"));
    assert!(page.contains("N/A"));
    assert_eq!(page.matches("No data").count(), 3);
    assert!(!page.contains("<svg"));
    assert!(page.contains("No failures.") && page.contains("No thresholds were set."));
    assert!(page.contains("Aggregated"));
    assert!(page.trim_end().ends_with("</html>"));
}
