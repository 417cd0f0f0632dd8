//! Console views: the final tables (Locust's layout) and the one-line live progress view.
//!
//! Plain text only; colours and terminal control belong to the binary.

use std::io::Write;
use std::time::Duration;

use brood_plan::EntryName;
use brood_stats::{EntryStats, RunStats, Snapshot, PERCENTILES};

use crate::units::whole_ms;
use crate::ReportError;

/// Writes the request table, the percentile table and (when there were failures) the error
/// report. Rates divide by `elapsed`, the run's duration.
pub fn write_summary_table(
    mut w: impl Write,
    totals: &Snapshot,
    elapsed: Duration,
) -> Result<(), ReportError> {
    let text = summary_text(totals, elapsed);
    w.write_all(text.as_bytes())
        .and_then(|()| w.flush())
        .map_err(|source| ReportError::Write {
            what: "the summary table",
            source,
        })
}

struct Columns {
    method: usize,
    name: usize,
}

fn summary_text(totals: &Snapshot, elapsed: Duration) -> String {
    let mut names: Vec<&EntryName> = totals.entries.keys().collect();
    names.sort_by(|a, b| (&a.name, &a.method).cmp(&(&b.name, &b.method)));
    let aggregated = totals.aggregated();
    let cols = Columns {
        method: names
            .iter()
            .map(|n| n.method.len())
            .max()
            .unwrap_or(0)
            .max(4)
            + 1,
        name: names
            .iter()
            .map(|n| n.name.chars().count())
            .max()
            .unwrap_or(0)
            .max(10)
            + 1,
    };
    let secs = elapsed.as_secs_f64();
    let mut out = String::new();
    let header = format!(
        "{:<mw$} {:<nw$} {:>7} {:>14} | {:>7} {:>7} {:>7} {:>7} | {:>8} {:>10}\n",
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
        mw = cols.method,
        nw = cols.name,
    );
    let rule = rule_like(&header);
    out.push_str(&header);
    out.push_str(&rule);
    for name in &names {
        out.push_str(&request_line(
            &cols,
            &name.method,
            &name.name,
            &totals.entries[*name],
            secs,
        ));
    }
    out.push_str(&rule);
    out.push_str(&request_line(&cols, "", "Aggregated", &aggregated, secs));
    out.push('\n');

    out.push_str("Response time percentiles (ms)\n");
    let mut header = format!(
        "{:<mw$} {:<nw$}",
        "Type",
        "Name",
        mw = cols.method,
        nw = cols.name
    );
    for p in PERCENTILES {
        header.push_str(&format!(" {:>7}", format!("{p}%")));
    }
    header.push_str(&format!(" {:>8}\n", "# reqs"));
    let rule = rule_like(&header);
    out.push_str(&header);
    out.push_str(&rule);
    for name in &names {
        out.push_str(&percentile_line(
            &cols,
            &name.method,
            &name.name,
            &totals.entries[*name],
        ));
    }
    out.push_str(&rule);
    out.push_str(&percentile_line(&cols, "", "Aggregated", &aggregated));

    if !totals.failures.is_empty() {
        out.push_str("\nError report\n");
        out.push_str(&format!("{:>13}  {}\n", "# occurrences", "Error"));
        for (key, f) in &totals.failures {
            let entry = if key.method.is_empty() && key.name.is_empty() {
                String::new()
            } else {
                format!("{} {}: ", key.method, key.name)
            };
            out.push_str(&format!("{:>13}  {entry}{}\n", f.occurrences, key.error));
        }
    }
    if !totals.exceptions.is_empty() {
        out.push_str("\nScenario errors\n");
        out.push_str(&format!("{:>13}  {}\n", "# occurrences", "Message"));
        let mut by_count: Vec<_> = totals.exceptions.iter().collect();
        by_count.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        for (message, e) in by_count.iter().take(SHOWN_EXCEPTIONS) {
            out.push_str(&format!("{:>13}  {message}\n", e.count));
        }
        if by_count.len() > SHOWN_EXCEPTIONS {
            out.push_str(&format!(
                "{:>13}  ({} more messages; all are in the exceptions CSV)\n",
                "",
                by_count.len() - SHOWN_EXCEPTIONS
            ));
        }
    }
    if let Some(line) = cut_off_line(totals.cut_off) {
        out.push('\n');
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Scenario errors shown in the summary, the most frequent first.
const SHOWN_EXCEPTIONS: usize = 10;

/// What the summary says of requests the end of the run cut off, if any were.
pub fn cut_off_line(cut_off: u64) -> Option<String> {
    match cut_off {
        0 => None,
        1 => Some("1 request in flight at the end was cut off (no response, not counted)".into()),
        n => Some(format!(
            "{n} requests in flight at the end were cut off (no response, not counted)"
        )),
    }
}

/// A separator as wide as `header`, with `|` where the header has one.
fn rule_like(header: &str) -> String {
    let mut rule: String = header
        .trim_end_matches('\n')
        .chars()
        .map(|c| if c == '|' { '|' } else { '-' })
        .collect();
    rule.push('\n');
    rule
}

fn request_line(cols: &Columns, method: &str, name: &str, e: &EntryStats, secs: f64) -> String {
    let fails = format!("{}({:.2}%)", e.failures, e.failure_rate() * 100.0);
    format!(
        "{:<mw$} {:<nw$} {:>7} {:>14} | {:>7} {:>7} {:>7} {:>7} | {:>8.2} {:>10.2}\n",
        method,
        name,
        e.requests,
        fails,
        whole_ms(e.avg_us().round() as u64),
        whole_ms(e.min_us),
        whole_ms(e.max_us),
        whole_ms(e.hist.value_at_percentile(50.0)),
        brood_stats::per_second(e.requests, secs),
        brood_stats::per_second(e.failures, secs),
        mw = cols.method,
        nw = cols.name,
    )
}

fn percentile_line(cols: &Columns, method: &str, name: &str, e: &EntryStats) -> String {
    let mut line = format!(
        "{:<mw$} {:<nw$}",
        method,
        name,
        mw = cols.method,
        nw = cols.name
    );
    for p in PERCENTILES {
        let cell = if e.requests == 0 {
            "N/A".to_owned()
        } else {
            whole_ms(e.hist.value_at_percentile(p)).to_string()
        };
        line.push_str(&format!(" {cell:>7}"));
    }
    line.push_str(&format!(" {:>8}\n", e.requests));
    line
}

/// What the live progress line shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveView {
    pub elapsed: Duration,
    /// The planned run time; `None` for a run that goes until stopped.
    pub duration: Option<Duration>,
    pub users: u64,
    /// Current requests per second.
    pub rps: f64,
    /// Percentiles of the last window, µs; `None` when the window saw no request.
    pub p50_us: Option<u64>,
    pub p95_us: Option<u64>,
    pub p99_us: Option<u64>,
    /// Cumulative.
    pub requests: u64,
    pub failures: u64,
}

impl LiveView {
    /// The view of `stats` at `now_ms`, for a run planned to last `duration`.
    pub fn from_stats(stats: &RunStats, now_ms: u64, duration: Option<Duration>) -> LiveView {
        let window = stats.window_histogram(now_ms);
        let pct = |p| (!window.is_empty()).then(|| window.value_at_percentile(p));
        let aggregated = stats.aggregated();
        LiveView {
            elapsed: Duration::from_millis(now_ms.saturating_sub(stats.start_ms())),
            duration,
            users: stats.users(),
            rps: stats.current(now_ms).rps,
            p50_us: pct(50.0),
            p95_us: pct(95.0),
            p99_us: pct(99.0),
            requests: aggregated.requests,
            failures: aggregated.failures,
        }
    }
}

const BAR_WIDTH: usize = 20;

/// One line of progress, fixed-width so it can be redrawn in place:
/// `[#####---------------]  25% 00:15/01:00 | users    50 |  1234.5 req/s | p50 ... | fails ...`.
pub fn live_line(view: &LiveView) -> String {
    let progress = match view.duration {
        Some(total) if !total.is_zero() => {
            let fraction = (view.elapsed.as_secs_f64() / total.as_secs_f64()).clamp(0.0, 1.0);
            let filled = (fraction * BAR_WIDTH as f64).round() as usize;
            format!(
                "[{}{}] {:>3.0}% {}/{}",
                "#".repeat(filled),
                "-".repeat(BAR_WIDTH - filled),
                fraction * 100.0,
                clock(view.elapsed),
                clock(total)
            )
        }
        _ => format!("elapsed {}", clock(view.elapsed)),
    };
    let fail_pct = if view.requests == 0 {
        0.0
    } else {
        view.failures as f64 * 100.0 / view.requests as f64
    };
    format!(
        "{progress} | users {:>5} | {:>8.1} req/s | p50 {:>7} p95 {:>7} p99 {:>7} | fails {} ({:.2}%)",
        view.users,
        view.rps,
        latency(view.p50_us),
        latency(view.p95_us),
        latency(view.p99_us),
        view.failures,
        fail_pct
    )
}

/// `mm:ss`, or `h:mm:ss` from an hour on.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

/// A latency with enough digits to read at a glance: `0.84ms`, `12.30ms`, `412ms`, `3.25s`.
fn latency(us: Option<u64>) -> String {
    match us {
        None => "-".into(),
        Some(us) if us < 100_000 => format!("{:.2}ms", us as f64 / 1000.0),
        Some(us) if us < 1_000_000 => format!("{}ms", whole_ms(us)),
        Some(us) => format!("{:.2}s", us as f64 / 1_000_000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_and_latencies() {
        assert_eq!(clock(Duration::from_secs(75)), "01:15");
        assert_eq!(clock(Duration::from_secs(3725)), "1:02:05");
        assert_eq!(latency(Some(840)), "0.84ms");
        assert_eq!(latency(Some(412_400)), "412ms");
        assert_eq!(latency(Some(3_250_000)), "3.25s");
        assert_eq!(latency(None), "-");
    }
}
