//! Locust's four CSV files (`_stats`, `_stats_history`, `_failures`, `_exceptions`), with
//! Locust 2.x headers and cell formats so existing dashboards and notebooks read them unchanged.
//!
//! Like Python's `csv.writer`, fields are quoted only when needed and rows end in `\r\n`.
//! Median and percentile cells, min and max are whole milliseconds; averages and rates print as
//! Python floats. Unlike Locust, the history's percentiles are always those of the last window.

use std::io::Write;

use brood_plan::EntryName;
use brood_stats::{EntryStats, HistoryRow, RunStats, PERCENTILES};

use crate::units::{ms, python_float, whole_ms};
use crate::utc::utc_timestamp;
use crate::ReportError;

pub const STATS_HEADER: &str = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";

pub const STATS_HISTORY_HEADER: &str = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size";

pub const FAILURES_HEADER: &str = "Method,Name,Error,Occurrences,First Seen,Last Seen";

pub const EXCEPTIONS_HEADER: &str = "Count,Message,Traceback,Nodes";

/// The name of Locust's total row.
const AGGREGATED: &str = "Aggregated";

fn csv_writer<W: Write>(w: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(w)
}

fn header(h: &str) -> Vec<&str> {
    h.split(',').collect()
}

/// Locust orders entries by name, then method.
fn by_name_then_method<'a>(names: impl Iterator<Item = &'a EntryName>) -> Vec<&'a EntryName> {
    let mut sorted: Vec<&EntryName> = names.collect();
    sorted.sort_by(|a, b| (&a.name, &a.method).cmp(&(&b.name, &b.method)));
    sorted
}

/// `PREFIX_stats.csv`: one row per entry sorted by name, then the Aggregated row. Requests/s is
/// requests ÷ (last request − run start), as Locust's.
pub fn write_stats_csv(w: impl Write, stats: &RunStats) -> Result<(), ReportError> {
    let err = |source| ReportError::WriteCsv {
        file: "the stats CSV",
        source,
    };
    let mut out = csv_writer(w);
    out.write_record(header(STATS_HEADER)).map_err(err)?;
    let totals = stats.totals();
    let secs = stats.rate_secs();
    for name in by_name_then_method(totals.entries.keys()) {
        let row = stats_row(&name.method, &name.name, &totals.entries[name], secs);
        out.write_record(&row).map_err(err)?;
    }
    let row = stats_row("", AGGREGATED, stats.aggregated(), secs);
    out.write_record(&row).map_err(err)?;
    out.flush().map_err(|e| err(e.into()))
}

fn stats_row(method: &str, name: &str, e: &EntryStats, rate_secs: f64) -> Vec<String> {
    let mut row = vec![
        method.to_owned(),
        name.to_owned(),
        e.requests.to_string(),
        e.failures.to_string(),
        whole_ms(e.hist.value_at_percentile(50.0)).to_string(),
        python_float(ms(e.avg_us())),
        whole_ms(e.min_us).to_string(),
        whole_ms(e.max_us).to_string(),
        python_float(e.avg_content_bytes()),
        python_float(brood_stats::per_second(e.requests, rate_secs)),
        python_float(brood_stats::per_second(e.failures, rate_secs)),
    ];
    row.extend(percentile_strings(
        e.requests,
        brood_stats::percentiles(&e.hist),
    ));
    row
}

/// Whole-ms percentile cells; `N/A` for an entry that has no requests at all, `0` when only the
/// window is empty (as Locust writes a missing current percentile).
fn percentile_strings(requests: u64, values: Option<[u64; 11]>) -> Vec<String> {
    if requests == 0 {
        return vec!["N/A".to_owned(); PERCENTILES.len()];
    }
    match values {
        Some(v) => v.iter().map(|&us| whole_ms(us).to_string()).collect(),
        None => vec!["0".to_owned(); PERCENTILES.len()],
    }
}

/// `PREFIX_stats_history.csv`: writes the header once, then appends the rows it is given (the
/// rows of `RunStats::tick`, which are per entry only with full history).
#[derive(Debug)]
pub struct StatsHistoryWriter<W: Write> {
    out: csv::Writer<W>,
}

impl<W: Write> StatsHistoryWriter<W> {
    pub fn new(w: W) -> Result<StatsHistoryWriter<W>, ReportError> {
        let mut out = csv_writer(w);
        out.write_record(header(STATS_HISTORY_HEADER))
            .map_err(history_error)?;
        out.flush().map_err(|e| history_error(e.into()))?;
        Ok(StatsHistoryWriter { out })
    }

    /// Appends `rows` and flushes, so a reader tailing the file sees whole rows.
    pub fn write_rows(&mut self, rows: &[HistoryRow]) -> Result<(), ReportError> {
        for row in rows {
            self.out
                .write_record(history_cells(row))
                .map_err(history_error)?;
        }
        self.out.flush().map_err(|e| history_error(e.into()))
    }

    /// The underlying writer, flushed.
    pub fn into_inner(self) -> Result<W, ReportError> {
        self.out.into_inner().map_err(|e| ReportError::Write {
            what: "the stats history CSV",
            source: e.into_error(),
        })
    }
}

fn history_error(source: csv::Error) -> ReportError {
    ReportError::WriteCsv {
        file: "the stats history CSV",
        source,
    }
}

fn history_cells(row: &HistoryRow) -> Vec<String> {
    let (method, name) = match &row.entry {
        Some(e) => (e.method.as_str(), e.name.as_str()),
        None => ("", AGGREGATED),
    };
    let mut cells = vec![
        row.timestamp_s.to_string(),
        row.users.to_string(),
        method.to_owned(),
        name.to_owned(),
        // Locust formats current rates with `{:2f}`: six decimals.
        format!("{:.6}", row.current.rps),
        format!("{:.6}", row.current.fps),
    ];
    cells.extend(percentile_strings(
        row.total_requests,
        row.window_percentiles_us,
    ));
    cells.extend([
        row.total_requests.to_string(),
        row.total_failures.to_string(),
        whole_ms(row.total_median_us).to_string(),
        python_float(ms(row.total_avg_us)),
        whole_ms(row.total_min_us).to_string(),
        whole_ms(row.total_max_us).to_string(),
        python_float(row.total_avg_content_bytes),
    ]);
    cells
}

/// `PREFIX_failures.csv`: one row per (method, name, error), sorted by name, method, error;
/// first and last seen in UTC.
pub fn write_failures_csv(w: impl Write, stats: &RunStats) -> Result<(), ReportError> {
    let err = |source| ReportError::WriteCsv {
        file: "the failures CSV",
        source,
    };
    let mut out = csv_writer(w);
    out.write_record(header(FAILURES_HEADER)).map_err(err)?;
    let mut failures: Vec<_> = stats.totals().failures.iter().collect();
    failures.sort_by(|(a, _), (b, _)| {
        (&a.name, &a.method, &a.error).cmp(&(&b.name, &b.method, &b.error))
    });
    for (key, f) in failures {
        out.write_record([
            key.method.as_str(),
            key.name.as_str(),
            key.error.as_str(),
            &f.occurrences.to_string(),
            &utc_timestamp(f.first_seen_ms / 1000),
            &utc_timestamp(f.last_seen_ms / 1000),
        ])
        .map_err(err)?;
    }
    out.flush().map_err(|e| err(e.into()))
}

/// `PREFIX_exceptions.csv`: one row per message, most frequent first; nodes joined with `", "`
/// as Locust joins them.
pub fn write_exceptions_csv(w: impl Write, stats: &RunStats) -> Result<(), ReportError> {
    let err = |source| ReportError::WriteCsv {
        file: "the exceptions CSV",
        source,
    };
    let mut out = csv_writer(w);
    out.write_record(header(EXCEPTIONS_HEADER)).map_err(err)?;
    let mut exceptions: Vec<_> = stats.totals().exceptions.iter().collect();
    exceptions.sort_by(|(ma, a), (mb, b)| b.count.cmp(&a.count).then(ma.cmp(mb)));
    for (message, e) in exceptions {
        let nodes: Vec<&str> = e.nodes.iter().map(String::as_str).collect();
        out.write_record([
            e.count.to_string().as_str(),
            message,
            &e.traceback,
            &nodes.join(", "),
        ])
        .map_err(err)?;
    }
    out.flush().map_err(|e| err(e.into()))
}
