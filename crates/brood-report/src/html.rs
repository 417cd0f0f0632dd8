//! A self-contained HTML report of a run: one file that opens offline, with inline CSS and
//! hand-drawn inline SVG charts, needing no script and referring to no external resource.
//!
//! Figures follow the other outputs: rates divide by the run's rate seconds (Locust's), times
//! are shown in milliseconds, and every piece of user text (names, errors, URLs, model lines) is
//! escaped for HTML.

use std::io::Write;

use brood_plan::EntryName;
use brood_stats::{EntryStats, HistoryRow, RunStats};

use crate::threshold::{metric_name, op_text, value_text, ThresholdResult};
use crate::units::whole_ms;
use crate::utc::utc_timestamp;
use crate::{ReportError, RunInfo};

/// Indices of p50, p95 and p99 in `brood_stats::PERCENTILES`.
const P50: usize = 0;
const P95: usize = 5;
const P99: usize = 7;

/// Line colours, cycled for per-region series.
const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;\
margin:0 auto;max-width:1100px;padding:1.5em;color:#222;background:#fff}\
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.8em;\
border-bottom:1px solid #ddd;padding-bottom:.2em}\
table{border-collapse:collapse;width:100%;font-size:.9em;margin:.5em 0}\
th,td{border:1px solid #ddd;padding:.3em .5em;text-align:right;vertical-align:top}\
th{background:#f4f4f4}td.t,th.t{text-align:left}tr.agg td{font-weight:bold;background:#fafafa}\
dl.meta{display:grid;grid-template-columns:max-content auto;gap:.2em 1em;margin:0}\
dl.meta dt{font-weight:bold}dl.meta dd{margin:0}\
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:1em 0}\
.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:8em}\
.card .v{font-size:1.4em;font-weight:bold}.card .k{color:#666;font-size:.85em}\
.pass{color:#1a7f37;font-weight:bold}.fail{color:#c62828;font-weight:bold}\
.empty{color:#666;font-style:italic;border:1px dashed #ccc;padding:1em;text-align:center}\
figure{margin:1em 0}figcaption{font-weight:bold;margin-bottom:.3em}\
svg{max-width:100%;height:auto;font-size:11px}pre{margin:0;white-space:pre-wrap}";

/// Writes the HTML report of a run: header, headline figures, charts over time, the statistics,
/// failures and exceptions tables, thresholds and, when `regions` is non-empty, per-region
/// figures and a requests/s chart with one line per region.
pub fn write_html_report(
    mut w: impl Write,
    info: &RunInfo,
    stats: &RunStats,
    thresholds: &[ThresholdResult],
    regions: &[(String, &RunStats)],
) -> Result<(), ReportError> {
    let mut out = String::with_capacity(16 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(&format!(
        "<title>brood report {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&info.run_id)
    ));
    out.push_str(&header_html(info));
    out.push_str(&headline_html(stats));
    out.push_str(&charts_html(stats));
    out.push_str(&stats_table_html(stats));
    out.push_str(&failures_html(stats));
    out.push_str(&exceptions_html(stats));
    out.push_str(&thresholds_html(thresholds));
    if !regions.is_empty() {
        out.push_str(&regions_html(regions));
    }
    out.push_str("</body>\n</html>\n");
    w.write_all(out.as_bytes())
        .and_then(|()| w.flush())
        .map_err(|source| ReportError::Write {
            what: "the HTML report",
            source,
        })
}

/// `s` with `&`, `<`, `>`, `"` and `'` replaced by entities, safe in text and attributes.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A duration in seconds for people: `45s`, `2m 05s`, `1h 02m 03s`.
fn duration_text(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// An elapsed time for an axis tick: `0s`, `45s`, `2m`, `2m30s`, `1h05m`.
fn tick_time(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

/// A table row; the first `text_cols` cells hold text (left-aligned), the rest figures.
fn row_html(cells: &[String], text_cols: usize, class: Option<&str>) -> String {
    let mut out = match class {
        Some(c) => format!("<tr class=\"{c}\">"),
        None => "<tr>".to_owned(),
    };
    for (i, cell) in cells.iter().enumerate() {
        let tag = if i < text_cols {
            "<td class=\"t\">"
        } else {
            "<td>"
        };
        out.push_str(tag);
        out.push_str(cell);
        out.push_str("</td>");
    }
    out.push_str("</tr>\n");
    out
}

fn head_html(cols: &[&str], text_cols: usize) -> String {
    let mut out = "<tr>".to_owned();
    for (i, c) in cols.iter().enumerate() {
        let class = if i < text_cols { " class=\"t\"" } else { "" };
        out.push_str(&format!("<th{class}>{c}</th>"));
    }
    out.push_str("</tr>\n");
    out
}

fn header_html(info: &RunInfo) -> String {
    let mut out = format!(
        "<header>\n<h1>brood load test report</h1>\n<dl class=\"meta\">\n\
         <dt>Run</dt><dd>{}</dd>\n",
        esc(&info.run_id)
    );
    let mut item = |k: &str, v: String| out.push_str(&format!("<dt>{k}</dt><dd>{v}</dd>\n"));
    if let Some(scenario) = &info.scenario {
        item("Scenario", esc(scenario));
    }
    item("Target", esc(&info.target));
    item("Started", utc_timestamp(info.started_ms / 1000));
    item("Ended", utc_timestamp(info.ended_ms / 1000));
    let duration_ms = info.ended_ms.saturating_sub(info.started_ms);
    item("Duration", duration_text((duration_ms + 500) / 1000));
    item("Users (peak)", info.users_peak.to_string());
    if info.workers > 1 {
        item("Workers", info.workers.to_string());
    }
    if !info.regions.is_empty() {
        let regions: Vec<String> = info.regions.iter().map(|r| esc(r)).collect();
        item("Regions", regions.join(", "));
    }
    if !info.model.is_empty() {
        let lines: Vec<String> = info.model.iter().map(|l| esc(l)).collect();
        item("Load model", lines.join("<br>"));
    }
    item("brood version", esc(&info.version));
    out.push_str("</dl>\n</header>\n");
    out
}

/// A percentile of `e` in whole ms, `N/A` without requests.
fn pct_text(e: &EntryStats, p: f64) -> String {
    if e.requests == 0 {
        "N/A".to_owned()
    } else {
        whole_ms(e.hist.value_at_percentile(p)).to_string()
    }
}

fn headline_html(stats: &RunStats) -> String {
    let agg = stats.aggregated();
    let rps = stats.total_rate(agg.requests);
    let mut cards = vec![
        ("Requests", agg.requests.to_string()),
        (
            "Failures",
            format!("{} ({:.2}%)", agg.failures, agg.failure_rate() * 100.0),
        ),
        ("Requests/s", format!("{rps:.2}")),
        ("p50 (ms)", pct_text(agg, 50.0)),
        ("p95 (ms)", pct_text(agg, 95.0)),
        ("p99 (ms)", pct_text(agg, 99.0)),
    ];
    let dropped = stats.totals().dropped_arrivals;
    if dropped > 0 {
        cards.push(("Dropped arrivals", dropped.to_string()));
    }
    let mut out = "<section id=\"headline\">\n<h2>Summary</h2>\n<div class=\"cards\">\n".to_owned();
    for (k, v) in cards {
        out.push_str(&format!(
            "<div class=\"card\"><div class=\"v\">{v}</div><div class=\"k\">{k}</div></div>\n"
        ));
    }
    out.push_str("</div>\n</section>\n");
    out
}

/// One line of a chart: `(unix second, value)` points, `None` where there is no value.
struct Series {
    label: String,
    color: &'static str,
    points: Vec<(u64, Option<f64>)>,
}

fn aggregated_rows(stats: &RunStats) -> impl Iterator<Item = &HistoryRow> {
    stats.history().iter().filter(|r| r.entry.is_none())
}

fn series(
    label: &str,
    color: &'static str,
    stats: &RunStats,
    value: impl Fn(&HistoryRow) -> Option<f64>,
) -> Series {
    Series {
        label: label.to_owned(),
        color,
        points: aggregated_rows(stats)
            .map(|r| (r.timestamp_s, value(r)))
            .collect(),
    }
}

fn window_ms(r: &HistoryRow, i: usize) -> Option<f64> {
    r.window_percentiles_us.map(|p| p[i] as f64 / 1000.0)
}

fn charts_html(stats: &RunStats) -> String {
    let rates = [
        series("requests/s", PALETTE[0], stats, |r| Some(r.current.rps)),
        series("failures/s", PALETTE[1], stats, |r| Some(r.current.fps)),
    ];
    let times = [
        series("p50", "#2a9d8f", stats, |r| window_ms(r, P50)),
        series("p95", "#e9a23b", stats, |r| window_ms(r, P95)),
        series("p99", "#c0392b", stats, |r| window_ms(r, P99)),
    ];
    let users = [series("users", "#6a4c93", stats, |r| Some(r.users as f64))];
    let mut out = "<section id=\"charts\">\n<h2>Over time</h2>\n".to_owned();
    out.push_str(&line_chart(
        "Requests and failures per second",
        "per second",
        &rates,
    ));
    out.push_str(&line_chart(
        "Response time percentiles (ms, last 10 s window)",
        "ms",
        &times,
    ));
    out.push_str(&line_chart("Users", "users", &users));
    out.push_str("</section>\n");
    out
}

/// A round step near `raw`: 1, 2 or 5 times a power of ten.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// A round step in seconds for a time axis spanning `span` seconds, about six ticks.
fn time_step(span: u64) -> u64 {
    const STEPS: [u64; 14] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
    ];
    let raw = span.div_ceil(6).max(1);
    STEPS
        .iter()
        .copied()
        .find(|&s| s >= raw)
        .unwrap_or(raw.div_ceil(3600) * 3600)
}

/// A tick value with as many decimals as the step needs.
fn tick_value(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    format!("{v:.decimals$}")
}

const W: f64 = 760.0;
const H: f64 = 280.0;
const LEFT: f64 = 62.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 42.0;

/// A line chart with axes, tick labels and a legend; a note instead when no series has a value.
fn line_chart(title: &str, unit: &str, series: &[Series]) -> String {
    let values = || {
        series
            .iter()
            .flat_map(|s| s.points.iter().filter_map(|&(t, v)| v.map(|v| (t, v))))
    };
    let mut out = format!("<figure>\n<figcaption>{}</figcaption>\n", esc(title));
    let (Some(t0), Some(t1)) = (values().map(|p| p.0).min(), values().map(|p| p.0).max()) else {
        out.push_str("<p class=\"empty\">No data: the run recorded no history for this chart.</p>\n</figure>\n");
        return out;
    };
    let max = values().map(|p| p.1).fold(0.0, f64::max);
    let y_step = nice_step(max / 4.0);
    let y_max = ((max / y_step).ceil() * y_step).max(y_step);
    let span = (t1 - t0).max(1);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let x = |t: u64| LEFT + (t - t0) as f64 / span as f64 * plot_w;
    let y = |v: f64| TOP + plot_h - v / y_max * plot_h;
    out.push_str(&format!(
        "<svg viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" role=\"img\" aria-label=\"{}\">\n",
        esc(title)
    ));
    out.push_str(&y_axis(y_step, y_max, &y, unit));
    out.push_str(&x_axis(t0, span, &x));
    for s in series {
        out.push_str(&polylines(s, &x, &y));
    }
    out.push_str(&legend(series));
    out.push_str("</svg>\n</figure>\n");
    out
}

fn y_axis(step: f64, max: f64, y: &impl Fn(f64) -> f64, unit: &str) -> String {
    let mut out = String::new();
    let ticks = (max / step).round() as u64;
    for i in 0..=ticks {
        let v = step * i as f64;
        let py = y(v);
        out.push_str(&format!(
            "<line x1=\"{LEFT}\" y1=\"{py:.1}\" x2=\"{:.1}\" y2=\"{py:.1}\" stroke=\"#e5e5e5\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#444\">{}</text>\n",
            W - RIGHT,
            LEFT - 6.0,
            py + 4.0,
            tick_value(v, step)
        ));
    }
    let mid = TOP + (H - TOP - BOTTOM) / 2.0;
    out.push_str(&format!(
        "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{:.1}\" stroke=\"#333\"/>\n\
         <text x=\"14\" y=\"{mid:.1}\" text-anchor=\"middle\" fill=\"#444\" \
         transform=\"rotate(-90 14 {mid:.1})\">{}</text>\n",
        H - BOTTOM,
        esc(unit)
    ));
    out
}

fn x_axis(t0: u64, span: u64, x: &impl Fn(u64) -> f64) -> String {
    let base = H - BOTTOM;
    let mut out = format!(
        "<line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{:.1}\" y2=\"{base}\" stroke=\"#333\"/>\n",
        W - RIGHT
    );
    let step = time_step(span);
    let mut t = 0;
    while t <= span {
        let px = x(t0 + t);
        out.push_str(&format!(
            "<line x1=\"{px:.1}\" y1=\"{base}\" x2=\"{px:.1}\" y2=\"{:.1}\" stroke=\"#333\"/>\
             <text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444\">{}</text>\n",
            base + 5.0,
            base + 18.0,
            tick_time(t)
        ));
        t += step;
    }
    out.push_str(&format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444\">elapsed since {}</text>\n",
        LEFT + (W - LEFT - RIGHT) / 2.0,
        H - 6.0,
        utc_timestamp(t0)
    ));
    out
}

/// The series as polylines, broken where a value is missing; a lone point becomes a dot.
fn polylines(s: &Series, x: &impl Fn(u64) -> f64, y: &impl Fn(f64) -> f64) -> String {
    let mut out = String::new();
    let mut flush = |run: &mut Vec<(f64, f64)>| {
        match run.as_slice() {
            [] => {}
            [(px, py)] => out.push_str(&format!(
                "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"2.5\" fill=\"{}\"/>\n",
                s.color
            )),
            pts => {
                let coords: Vec<String> =
                    pts.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
                out.push_str(&format!(
                    "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\" points=\"{}\"/>\n",
                    s.color,
                    coords.join(" ")
                ));
            }
        }
        run.clear();
    };
    let mut run = Vec::new();
    for &(t, v) in &s.points {
        match v {
            Some(v) => run.push((x(t), y(v))),
            None => flush(&mut run),
        }
    }
    flush(&mut run);
    out
}

fn legend(series: &[Series]) -> String {
    let mut out = String::new();
    let mut px = LEFT;
    for s in series {
        out.push_str(&format!(
            "<rect x=\"{px:.1}\" y=\"10\" width=\"14\" height=\"4\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"16\" fill=\"#222\">{}</text>\n",
            s.color,
            px + 18.0,
            esc(&s.label)
        ));
        px += 30.0 + 7.0 * s.label.chars().count() as f64;
    }
    out
}

/// Locust's statistics columns for one row.
fn stats_cells(method: &str, name: &str, e: &EntryStats, rate_secs: f64) -> Vec<String> {
    let na = e.requests == 0;
    let ms_or_na = |us: u64| {
        if na {
            "N/A".to_owned()
        } else {
            whole_ms(us).to_string()
        }
    };
    vec![
        esc(method),
        esc(name),
        e.requests.to_string(),
        format!("{} ({:.2}%)", e.failures, e.failure_rate() * 100.0),
        pct_text(e, 50.0),
        pct_text(e, 95.0),
        pct_text(e, 99.0),
        if na {
            "N/A".to_owned()
        } else {
            format!("{:.2}", e.avg_us() / 1000.0)
        },
        ms_or_na(e.min_us),
        ms_or_na(e.max_us),
        format!("{:.0}", e.avg_content_bytes()),
        format!("{:.2}", brood_stats::per_second(e.requests, rate_secs)),
    ]
}

fn stats_table_html(stats: &RunStats) -> String {
    let totals = stats.totals();
    let rate_secs = stats.rate_secs();
    let mut names: Vec<&EntryName> = totals.entries.keys().collect();
    names.sort_by(|a, b| (&a.name, &a.method).cmp(&(&b.name, &b.method)));
    let mut out = "<section id=\"statistics\">\n<h2>Request statistics</h2>\n<table>\n".to_owned();
    out.push_str(&head_html(
        &[
            "Type",
            "Name",
            "# Requests",
            "# Failures",
            "Median (ms)",
            "95%ile (ms)",
            "99%ile (ms)",
            "Average (ms)",
            "Min (ms)",
            "Max (ms)",
            "Average size (bytes)",
            "RPS",
        ],
        2,
    ));
    for n in names {
        let cells = stats_cells(&n.method, &n.name, &totals.entries[n], rate_secs);
        out.push_str(&row_html(&cells, 2, None));
    }
    let agg = stats_cells("", "Aggregated", stats.aggregated(), rate_secs);
    out.push_str(&row_html(&agg, 2, Some("agg")));
    out.push_str("</table>\n</section>\n");
    out
}

fn failures_html(stats: &RunStats) -> String {
    let mut out = "<section id=\"failures\">\n<h2>Failures</h2>\n".to_owned();
    let failures = &stats.totals().failures;
    if failures.is_empty() {
        out.push_str("<p class=\"empty\">No failures.</p>\n</section>\n");
        return out;
    }
    let mut rows: Vec<_> = failures.iter().collect();
    rows.sort_by(|(a, _), (b, _)| {
        (&a.name, &a.method, &a.error).cmp(&(&b.name, &b.method, &b.error))
    });
    out.push_str("<table>\n");
    out.push_str(&head_html(
        &[
            "Method",
            "Name",
            "Error",
            "Occurrences",
            "First seen",
            "Last seen",
        ],
        3,
    ));
    for (k, f) in rows {
        let cells = [
            esc(&k.method),
            esc(&k.name),
            format!("<pre>{}</pre>", esc(&k.error)),
            f.occurrences.to_string(),
            utc_timestamp(f.first_seen_ms / 1000),
            utc_timestamp(f.last_seen_ms / 1000),
        ];
        out.push_str(&row_html(&cells, 3, None));
    }
    out.push_str("</table>\n</section>\n");
    out
}

fn exceptions_html(stats: &RunStats) -> String {
    let mut out = "<section id=\"exceptions\">\n<h2>Exceptions</h2>\n".to_owned();
    let exceptions = &stats.totals().exceptions;
    if exceptions.is_empty() {
        out.push_str("<p class=\"empty\">No exceptions.</p>\n</section>\n");
        return out;
    }
    out.push_str("<table>\n");
    out.push_str(&head_html(&["Count", "Message", "Traceback", "Nodes"], 0));
    for (message, e) in exceptions {
        let nodes: Vec<String> = e.nodes.iter().map(|n| esc(n)).collect();
        out.push_str(&format!(
            "<tr><td>{}</td><td class=\"t\">{}</td><td class=\"t\"><pre>{}</pre></td>\
             <td class=\"t\">{}</td></tr>\n",
            e.count,
            esc(message),
            esc(&e.traceback),
            nodes.join(", ")
        ));
    }
    out.push_str("</table>\n</section>\n");
    out
}

fn thresholds_html(results: &[ThresholdResult]) -> String {
    let mut out = "<section id=\"thresholds\">\n<h2>Thresholds</h2>\n".to_owned();
    if results.is_empty() {
        out.push_str("<p class=\"empty\">No thresholds were set.</p>\n</section>\n");
        return out;
    }
    let passed = results.iter().filter(|r| r.passed).count();
    let (class, verdict) = if passed == results.len() {
        ("pass", "PASSED")
    } else {
        ("fail", "FAILED")
    };
    out.push_str(&format!(
        "<p><span class=\"{class}\">{verdict}</span>: {passed} of {} passed.</p>\n<table>\n",
        results.len()
    ));
    out.push_str(&head_html(
        &["Threshold", "Entry", "Metric", "Bound", "Actual", "Result"],
        3,
    ));
    for r in results {
        let t = &r.threshold;
        let entry = match &t.entry {
            None => "Aggregated".to_owned(),
            Some(s) => esc(&format!(
                "{} {}",
                s.method.as_deref().unwrap_or("*"),
                s.name
            )),
        };
        let actual = r
            .actual
            .map_or("no requests".to_owned(), |a| esc(&value_text(t.metric, a)));
        let (class, word) = if r.passed {
            ("pass", "pass")
        } else {
            ("fail", "FAIL")
        };
        let cells = [
            esc(&t.source),
            entry,
            esc(&metric_name(t.metric)),
            esc(&format!(
                "{} {}",
                op_text(t.op),
                value_text(t.metric, t.value)
            )),
            actual,
            format!("<span class=\"{class}\">{word}</span>"),
        ];
        out.push_str(&row_html(&cells, 3, None));
    }
    out.push_str("</table>\n</section>\n");
    out
}

fn regions_html(regions: &[(String, &RunStats)]) -> String {
    let mut out = "<section id=\"regions\">\n<h2>Regions</h2>\n<table>\n".to_owned();
    out.push_str(&head_html(
        &[
            "Region", "Requests", "Failures", "RPS", "p50 (ms)", "p95 (ms)", "p99 (ms)",
        ],
        1,
    ));
    for (region, stats) in regions {
        let e = stats.aggregated();
        let cells = [
            esc(region),
            e.requests.to_string(),
            format!("{} ({:.2}%)", e.failures, e.failure_rate() * 100.0),
            format!("{:.2}", stats.total_rate(e.requests)),
            pct_text(e, 50.0),
            pct_text(e, 95.0),
            pct_text(e, 99.0),
        ];
        out.push_str(&row_html(&cells, 1, None));
    }
    out.push_str("</table>\n");
    let series: Vec<Series> = regions
        .iter()
        .enumerate()
        .map(|(i, (region, stats))| {
            series(region, PALETTE[i % PALETTE.len()], stats, |r| {
                Some(r.current.rps)
            })
        })
        .collect();
    out.push_str(&line_chart(
        "Requests per second by region",
        "per second",
        &series,
    ));
    out.push_str("</section>\n");
    out
}
