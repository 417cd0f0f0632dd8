//! How a worker's load generator is coping, reported with each snapshot: the figures the
//! controller's validity verdicts are made of.

use serde::{Deserialize, Serialize};

/// A generator's health over one snapshot's window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// CPU used by the worker process over the window, in percent of all the machine's cores.
    pub cpu_percent: f32,
    /// The worst scheduling lag in the window: how late the engine's timers fired.
    pub sched_lag_ms: f32,
    /// Open-model arrivals dropped in the window for want of a free user.
    pub dropped_arrivals: u64,
    /// The worker's estimate of its clock minus the controller's.
    pub clock_offset_ms: i64,
}
