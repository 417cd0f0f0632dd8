//! How a run talks to whoever watches it: an [`Observer`] hears its progress (the console for
//! `brood run`, the web UI's live state under `brood serve`), and [`Command`]s (stop, abort) come
//! in from Ctrl-C or the web.

use std::path::Path;

use brood_cluster::{Coordinator, RunOutcome};
use brood_protocol::RunId;

/// What a running controller is asked to do from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Stop starting work; running tasks finish within the stop timeout.
    Stop,
    /// Cut running requests off.
    Abort,
}

/// One region's fleet while it comes up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Provisioning {
    pub region: String,
    pub requested: u32,
    pub starting: u32,
    pub in_service: u32,
    pub exited: u32,
}

/// Who hears how a run goes: the console, or the web UI's live state.
pub trait Observer {
    /// The run has its id and results folder (before any worker is up).
    fn started(&mut self, _run: &RunId, _run_dir: &Path) {}
    /// During the provisioning phase, at every poll: each region's fleet.
    fn provisioning(&mut self, _regions: &[Provisioning]) {}
    /// Once a second: the merged, per-region and per-worker figures so far.
    fn second(&mut self, coordinator: &Coordinator, second: u64);
    /// A sentence worth telling (a lost worker, a failed threshold, a stop).
    fn note(&mut self, text: &str);
    /// A stop or abort was asked for.
    fn stopping(&mut self, _abort: bool) {}
    /// The end-of-run text: summary table, workers, validity and thresholds.
    fn summary(&mut self, text: &str);
    /// The run is over and its files are written.
    fn finished(&mut self, _coordinator: &Coordinator, _outcome: &RunOutcome) {}
}
