//! The final console tables and the live progress line: content and alignment.

mod fixture;

use std::time::Duration;

use brood_report::{live_line, write_summary_table, LiveView};
use fixture::{run, T0};

fn table() -> String {
    let mut out = Vec::new();
    write_summary_table(&mut out, run(false).totals(), Duration::from_secs(5)).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn request_table_like_locusts() {
    let text = table();
    let lines: Vec<&str> = text.lines().collect();
    let header = lines[0];
    for col in [
        "Type",
        "Name",
        "# reqs",
        "# fails",
        "Avg",
        "Min",
        "Max",
        "Med",
        "req/s",
        "failures/s",
    ] {
        assert!(header.contains(col), "{col} in {header}");
    }
    let get_a = lines
        .iter()
        .find(|l| l.starts_with("GET ") && l.contains("/a "))
        .unwrap();
    let words: Vec<&str> = get_a.split_whitespace().collect();
    assert_eq!(
        words,
        [
            "GET",
            "/a",
            "10",
            "2(20.00%)",
            "|",
            "55",
            "10",
            "100",
            "50",
            "|",
            "2.00",
            "0.40"
        ]
    );
    let agg = lines.iter().find(|l| l.contains("Aggregated")).unwrap();
    let words: Vec<&str> = agg.split_whitespace().collect();
    assert_eq!(
        words,
        [
            "Aggregated",
            "15",
            "3(20.00%)",
            "|",
            "90",
            "2",
            "200",
            "70",
            "|",
            "3.00",
            "0.60"
        ]
    );
    // Rows sorted by name then method, and every line of the table as wide as its header.
    let rows: Vec<&str> = lines
        .iter()
        .take_while(|l| !l.is_empty())
        .copied()
        .collect();
    let order: Vec<String> = rows[2..6]
        .iter()
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(order, ["GET /a", "POST /a", "GET /b", "GET /empty"]);
    assert!(rows.iter().all(|l| l.len() == header.len()), "{rows:#?}");
    // The column separators line up.
    let bars: Vec<Vec<usize>> = rows
        .iter()
        .map(|l| l.match_indices('|').map(|(i, _)| i).collect())
        .collect();
    assert!(bars.iter().skip(2).all(|b| b == &bars[0]), "{bars:?}");
}

#[test]
fn percentile_table_and_error_report() {
    let text = table();
    let start = text.find("Response time percentiles").unwrap();
    let lines: Vec<&str> = text[start..].lines().collect();
    assert!(lines[1].contains("99.99%") && lines[1].ends_with("# reqs"));
    let get_a: Vec<&str> = lines
        .iter()
        .find(|l| l.starts_with("GET ") && l.contains("/a "))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        get_a,
        [
            "GET", "/a", "50", "70", "80", "80", "90", "100", "100", "100", "100", "100", "100",
            "10"
        ]
    );
    let empty: Vec<&str> = lines
        .iter()
        .find(|l| l.contains("/empty"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        empty[2..],
        ["N/A", "N/A", "N/A", "N/A", "N/A", "N/A", "N/A", "N/A", "N/A", "N/A", "N/A", "0"]
    );
    let widths: Vec<usize> = lines[1..]
        .iter()
        .take_while(|l| !l.is_empty())
        .map(|l| l.len())
        .collect();
    assert!(widths.iter().all(|&w| w == widths[0]), "{widths:?}");
    assert!(text.contains("Error report"));
    assert!(text.contains("            2  GET /a: HTTP 500"));
    assert!(text.contains("            1  POST /a: timeout, after 30s"));
}

#[test]
fn live_line_bounded_and_unbounded() {
    let view = LiveView {
        elapsed: Duration::from_secs(15),
        duration: Some(Duration::from_secs(60)),
        users: 50,
        rps: 1234.46,
        p50_us: Some(12_300),
        p95_us: Some(412_400),
        p99_us: Some(3_250_000),
        requests: 1000,
        failures: 3,
    };
    assert_eq!(
        live_line(&view),
        "[#####---------------]  25% 00:15/01:00 | users    50 |   1234.5 req/s | p50 12.30ms p95   412ms p99   3.25s | fails 3 (0.30%)"
    );
    let unbounded = LiveView {
        duration: None,
        users: 5,
        rps: 0.0,
        p50_us: None,
        p95_us: None,
        p99_us: None,
        requests: 0,
        failures: 0,
        ..view
    };
    assert_eq!(
        live_line(&unbounded),
        "elapsed 00:15 | users     5 |      0.0 req/s | p50       - p95       - p99       - | fails 0 (0.00%)"
    );
    // The bar never overflows, even past the planned end.
    let late = LiveView {
        elapsed: Duration::from_secs(90),
        ..view
    };
    assert!(live_line(&late).starts_with("[####################] 100% 01:30/01:00"));
    // Same widths whatever the numbers, so redrawing in place does not jitter.
    let busy = LiveView {
        users: 99_999,
        rps: 99_999.9,
        ..view
    };
    assert_eq!(
        live_line(&busy).find("| fails"),
        live_line(&view).find("| fails")
    );
}

#[test]
fn live_view_from_run_stats() {
    let stats = run(false);
    let view = LiveView::from_stats(&stats, T0 + 6_000, Some(Duration::from_secs(60)));
    assert_eq!(view.elapsed, Duration::from_secs(6));
    assert_eq!((view.users, view.requests, view.failures), (3, 15, 3));
    assert_eq!(view.rps, 15.0);
    assert_eq!(view.p99_us, Some(200_000));
    assert!(view.p50_us.is_some_and(|p| (70_000..=70_100).contains(&p)));
}
