//! The coordinator's vocabulary: its settings, the events a driver feeds it, the actions it asks
//! for, and how a run ends. Ids are plain strings so a driver can translate wire messages without
//! this crate knowing the protocol.

use std::time::Duration;

use brood_stats::Snapshot;

use crate::RegionSpec;

/// How a run is coordinated. [`CoordinatorConfig::new`] fills in the defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct CoordinatorConfig {
    pub run_id: String,
    pub regions: Vec<RegionSpec>,
    /// How long after [`Event::JobsSent`] to wait for every worker to be ready.
    pub barrier_timeout: Duration,
    /// On a barrier timeout, start with the workers that are ready (else the run fails).
    pub start_with_fewer: bool,
    /// How far ahead of the moment the barrier completes the common start is set, so the start
    /// message reaches every region before it.
    pub start_delay: Duration,
    /// A worker silent (no message of any kind) for this long is marked lost.
    pub heartbeat_timeout: Duration,
    /// Time workers get to finish after a stop before they are told to abort.
    pub stop_grace: Duration,
    /// The plan's duration, when it has one; workers stop by themselves after it, and the
    /// coordinator sends a stop `stop_grace` later in case some did not.
    pub run_time: Option<Duration>,
    /// Generator CPU above this (percent) for `high_cpu_for` makes a validity verdict.
    pub high_cpu_percent: f32,
    pub high_cpu_for: Duration,
    /// Keep per-entry history in the merged stats, not only the aggregated row.
    pub full_history: bool,
}

impl CoordinatorConfig {
    /// Defaults: a 60 s barrier that fails the run when incomplete, a start 5 s ahead, workers
    /// lost after 30 s of silence, 30 s of stop grace, no fixed run time, CPU verdicts above 85%
    /// for 40 s, aggregated history only.
    pub fn new(run_id: impl Into<String>, regions: Vec<RegionSpec>) -> CoordinatorConfig {
        CoordinatorConfig {
            run_id: run_id.into(),
            regions,
            barrier_timeout: Duration::from_secs(60),
            start_with_fewer: false,
            start_delay: Duration::from_secs(5),
            heartbeat_timeout: Duration::from_secs(30),
            stop_grace: Duration::from_secs(30),
            run_time: None,
            high_cpu_percent: 85.0,
            high_cpu_for: Duration::from_secs(40),
            full_history: false,
        }
    }
}

/// How a worker's generator is doing, sent with each snapshot.
pub use brood_stats::Health;

/// Something that happened, as the driver tells it. Deliveries may repeat (at-least-once
/// queues); the coordinator ignores repeats.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Every job is queued: the barrier clock starts.
    JobsSent,
    /// A worker took the job for `slot` of `region` and waits for the start.
    Ready {
        worker: String,
        region: String,
        slot: u32,
    },
    /// A stats delta. `seq` numbers a worker's snapshots 1, 2, 3, … in the order it sent them.
    Snapshot {
        worker: String,
        region: String,
        seq: u64,
        stats: Snapshot,
        health: Health,
    },
    /// The worker stopped; `final_seq` is the seq of its last snapshot (0 when it sent none).
    Done {
        worker: String,
        region: String,
        final_seq: u64,
    },
    /// The worker cannot go on (a bad job, an engine that failed to start).
    WorkerError {
        worker: String,
        region: String,
        message: String,
    },
    /// The worker is alive; workers send these while they wait for the start and between
    /// snapshots.
    Heartbeat { worker: String, region: String },
    /// Time passed; drivers send one about every 200 ms.
    Tick,
    /// The user asked for a graceful stop.
    StopRequested,
    /// The user asked to stop at once.
    AbortRequested,
}

/// What the driver must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Tell exactly these workers to start at `at_ms` (Unix ms); any other worker must not.
    SendStart { at_ms: u64, workers: Vec<String> },
    /// Tell every worker to stop: gracefully, or at once with `abort`.
    SendStop { abort: bool },
    /// The worker went silent; the run goes on without it and keeps its data.
    WorkerLost {
        worker: String,
        region: String,
        last_seen_ms: u64,
    },
    /// A line for the user.
    Log(String),
    /// The run is over; no further action follows.
    Finished(RunOutcome),
}

/// How a run ended, with every worker's end.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutcome {
    pub end: RunEnd,
    /// The common start, when the run got that far.
    pub start_at_ms: Option<u64>,
    /// Every slot and every worker heard from, by region order, then slot.
    pub workers: Vec<WorkerOutcome>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// The started workers finished (by the plan's end or the run time), some perhaps lost.
    Completed,
    /// Stopped at the user's request.
    Stopped,
    /// Aborted at the user's request.
    Aborted,
    /// The run could not start, or no started worker finished.
    Failed { reason: String },
}

/// One slot or worker at the end of the run.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerOutcome {
    pub region: String,
    /// `None` for a worker that failed before it took a slot.
    pub slot: Option<u32>,
    /// `None` for a slot no worker took.
    pub worker: Option<String>,
    pub end: WorkerEnd,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerEnd {
    /// Finished; `missing_snapshots` of its `final_seq` never arrived.
    Done {
        final_seq: u64,
        missing_snapshots: u64,
    },
    /// Went silent; its data up to `last_seq` is in the stats.
    Lost {
        last_seq: Option<u64>,
        last_seen_ms: u64,
    },
    Errored {
        message: String,
    },
    /// No worker took this slot.
    NeverReady,
    /// The worker was ready but not among those started (too late, its slot already taken, or
    /// the run never started).
    NotStarted,
}
