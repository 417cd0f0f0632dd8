//! brood's outputs, all written to any `impl Write`: Locust's four CSV files, a JSON summary,
//! JUnit XML for thresholds, a self-contained HTML report, and the console's final table and
//! live progress line.
//!
//! Invariant: no engine, no network, no clock; figures come from `brood-stats` and time from the
//! caller. Times are microseconds inside brood and become milliseconds only here.

mod console;
mod html;
mod junit;
mod locust_csv;
mod summary;
mod threshold;
mod units;
mod utc;

pub use console::{cut_off_line, live_line, write_summary_table, LiveView};
pub use html::write_html_report;
pub use junit::write_junit;
pub use locust_csv::{
    write_exceptions_csv, write_failures_csv, write_stats_csv, StatsHistoryWriter,
    EXCEPTIONS_HEADER, FAILURES_HEADER, STATS_HEADER, STATS_HISTORY_HEADER,
};
pub use summary::{
    summary, write_json_summary, EntrySelectorSummary, EntrySummary, ExceptionSummary,
    FailureSummary, Percentile, ResponseTimes, RunInfo, RunSummary, Summary, ThresholdSummary,
    ThresholdsSummary, TimingSummary, SCHEMA_VERSION,
};
pub use threshold::{evaluate, evaluate_entries, metric_name, metric_unit, ThresholdResult};
pub use units::{python_float, whole_ms};
pub use utc::utc_timestamp;

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("writing {file}")]
    WriteCsv {
        file: &'static str,
        #[source]
        source: csv::Error,
    },
    #[error("writing the JSON summary")]
    WriteJson(#[source] serde_json::Error),
    #[error("writing {what}")]
    Write {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}
