//! Exact, mergeable request statistics: HDR histograms per entry, per-thread recorders, a run
//! aggregator with Locust's "current" figures, and a compact binary encoding.
//!
//! Response times are microseconds (`u64`) everywhere in this crate; reports convert at the edge.
//! Stats travel as histograms, never as percentiles, so merged percentiles are exact.
//! Invariant: no clock, no I/O, no threads here; callers pass `now_ms` (Unix milliseconds).

mod codec;
mod headline;
mod health;
mod histogram;
mod reason;
mod recorder;
mod run;
mod snapshot;

pub use brood_plan::EntryName;
pub use codec::{DecodeError, FORMAT_VERSION};
pub use headline::Headline;
pub use health::Health;
pub use histogram::{Histogram, SparseHistogram, SIGNIFICANT_DIGITS};
pub use reason::{normalise as normalise_reason, MAX_FAILURE_KEYS, MAX_REASON_BYTES, OTHER_REASON};
pub use recorder::{Outcome, Recorder};
pub use run::{
    per_second, percentiles, HistoryRow, Rates, RunStats, RunStatsConfig, CURRENT_WINDOW_SECS,
    PERCENTILES,
};
pub use snapshot::{EntryStats, ExceptionStats, FailureKey, FailureStats, Snapshot, Timing};
