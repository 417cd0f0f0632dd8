//! What the command line says about a run ([`LoadOptions`]), the ramping [`Stage`]s that both the
//! command line and a scenario's `load` section write, and [`DEFAULT_TIMEOUT`], a request's
//! timeout when the file sets none.
//!
//! These are plain settings: the load section's compilation merges them with the file's
//! [`crate::LoadSpec`], and the compiler reads the rest.

use std::time::Duration;

use crate::plan::{ArrivalUnit, Threshold, Wait};

/// A request's timeout when neither it nor the defaults set one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// What the command line says about the run. Every `Some` overrides the scenario file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadOptions {
    /// `--host`: base for relative URLs.
    pub host: Option<String>,
    pub users: Option<u64>,
    /// Users started per second.
    pub spawn_rate: Option<f64>,
    pub run_time: Option<Duration>,
    /// `--stages`: replaces the file's load model.
    pub stages: Option<Vec<Stage>>,
    /// `--arrival-rate`: the open model, arrivals per second.
    pub arrival_rate: Option<f64>,
    pub arrival_unit: Option<ArrivalUnit>,
    pub max_users: Option<u32>,
    pub stop_timeout: Option<Duration>,
    /// Added to the file's thresholds.
    pub thresholds: Vec<Threshold>,
    /// Think time for every user type (quick mode has no file to say it).
    pub wait: Option<Wait>,
    pub insecure_tls: bool,
    /// `--max-body`: the most bytes of a body kept or decoded ([`crate::plan::DEFAULT_MAX_BODY`] when
    /// `None`).
    pub max_body: Option<u64>,
    /// Use HTTP/2 for every request, or for none.
    pub http2: Option<bool>,
    /// `--tags`: keep only the tasks, pick choices and steps that carry one of these (a task or
    /// choice that carries one keeps all its steps), as Locust's `--tags`.
    pub tags: Vec<String>,
    /// `--exclude-tags`: leave out whatever carries one of these.
    pub exclude_tags: Vec<String>,
}

/// One stage of a ramping load: move linearly to `target` over `duration`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stage {
    pub duration: Duration,
    pub target: StageTarget,
}

/// What a stage ramps: concurrent users (closed model) or arrivals per second (open model).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StageTarget {
    Users(u64),
    Rate(f64),
}

impl StageTarget {
    pub(crate) fn kind(self) -> &'static str {
        match self {
            StageTarget::Users(_) => "users",
            StageTarget::Rate(_) => "rate",
        }
    }

    pub(crate) fn value(self) -> f64 {
        match self {
            StageTarget::Users(n) => n as f64,
            StageTarget::Rate(r) => r,
        }
    }
}
