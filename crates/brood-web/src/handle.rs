//! The controller handle: everything the web needs from whoever runs the load. The binary
//! implements it over its distributed controller and run history; tests implement it in memory.

use std::sync::Arc;

use tokio::sync::watch;

use crate::model::{
    Artifact, FieldError, LiveState, Preview, RunDetail, RunRequest, RunSummary, StartError,
    UiConfig,
};

/// Why a stop could not be delivered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StopError {
    #[error("run {0} is not running in this server")]
    NotRunning(String),
}

/// The web's view of the controller. Methods may block briefly (the router calls them off the
/// async threads when they touch disk); `start` returns once the run has an id.
pub trait ControllerHandle: Send + Sync + 'static {
    /// Backends, defaults and the demo target, for the form.
    fn config(&self) -> UiConfig;

    /// Checks a form exactly as the command line checks its flags; what it would run.
    fn preview(&self, request: &RunRequest) -> Result<Preview, Vec<FieldError>>;

    /// Starts a run from a form; its id.
    fn start(&self, request: RunRequest) -> Result<String, StartError>;

    /// Asks the run to stop (`abort`: cut running requests off).
    fn stop(&self, run_id: &str, abort: bool) -> Result<(), StopError>;

    /// The run this server started most recently (running or not): the one `/metrics` shows.
    fn latest(&self) -> Option<String>;

    /// Live state of a run started by this server (also once it has finished).
    fn live(&self, run_id: &str) -> Option<watch::Receiver<Arc<LiveState>>>;

    /// Past and present runs, newest first.
    fn runs(&self, limit: usize) -> Result<Vec<RunSummary>, String>;

    /// One run with its downloads.
    fn run(&self, run_id: &str) -> Result<Option<RunDetail>, String>;

    /// The form a run was started from, for "run again".
    fn request_of(&self, run_id: &str) -> Option<RunRequest>;

    /// A run's downloadable files (only these are ever served).
    fn artifacts(&self, run_id: &str) -> Vec<Artifact>;
}
