//! How a run is steered while it goes: the run state and counters that the controlling thread and
//! the shards share ([`Control`]), and the handle through which a shard's scheduler stops a user or
//! hands it an arrival ([`UserCtl`]).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Where a run is. A run only moves forward: running, then stopping, then aborting.
#[repr(u8)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RunState {
    /// Users start tasks as the profile says.
    #[default]
    Running = 0,
    /// No new tasks start; running tasks get the plan's stop timeout.
    Stopping = 1,
    /// Running tasks are cut off.
    Aborting = 2,
}

impl TryFrom<u8> for RunState {
    type Error = u8;

    fn try_from(value: u8) -> Result<RunState, u8> {
        match value {
            0 => Ok(RunState::Running),
            1 => Ok(RunState::Stopping),
            2 => Ok(RunState::Aborting),
            other => Err(other),
        }
    }
}

/// The one piece of state shared by the controlling thread and the shards.
#[derive(Debug, Default)]
pub(crate) struct Control {
    /// A [`RunState`], written only by [`Control::raise`].
    pub state: AtomicU8,
    /// Running users per shard, written by each shard's scheduler (never by a request).
    pub users: Vec<AtomicU64>,
    /// The longest a shard's scheduler woke up late since it was last read, in microseconds: a
    /// thread too busy to keep its timers delays requests and inflates latencies.
    pub lag_us: Vec<AtomicU64>,
}

impl Control {
    pub(crate) fn get(&self) -> RunState {
        // Only `raise` writes the state, and it writes a `RunState`; anything else would be a bug,
        // and ending the run is the safe reading of it.
        RunState::try_from(self.state.load(Ordering::Relaxed)).unwrap_or(RunState::Aborting)
    }

    /// Moves the run to `to`, unless it is already further along: a stop never undoes an abort.
    pub(crate) fn raise(&self, to: RunState) {
        self.state.fetch_max(to as u8, Ordering::Relaxed);
    }

    pub(crate) fn set_users(&self, shard: u64, n: u64) {
        if let Some(slot) = self.users.get(shard as usize) {
            slot.store(n, Ordering::Relaxed);
        }
    }

    pub(crate) fn note_lag(&self, shard: u64, late: Duration) {
        if let Some(slot) = self.lag_us.get(shard as usize) {
            slot.fetch_max(late.as_micros() as u64, Ordering::Relaxed);
        }
    }

    /// The worst scheduling lag of any shard since the last call, and resets it.
    pub(crate) fn take_lag(&self) -> Duration {
        let worst = self
            .lag_us
            .iter()
            .map(|l| l.swap(0, Ordering::Relaxed))
            .max()
            .unwrap_or(0);
        Duration::from_micros(worst)
    }

    pub(crate) fn users(&self) -> u64 {
        self.users.iter().map(|u| u.load(Ordering::Relaxed)).sum()
    }
}

/// How the scheduler talks to one user.
#[derive(Debug, Default)]
pub(crate) struct UserCtl {
    pub stop: Cell<bool>,
    /// Set by the open model's dispatcher: the intended start of the next arrival.
    pub arrival: Cell<Option<Instant>>,
    pub wake: Notify,
}

impl UserCtl {
    pub(crate) fn stop(&self) {
        self.stop.set(true);
        self.wake.notify_one();
    }

    pub(crate) fn give(&self, intended: Instant) {
        self.arrival.set(Some(intended));
        self.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_states_survive_the_atomic_and_only_move_forward() {
        for state in [RunState::Running, RunState::Stopping, RunState::Aborting] {
            assert_eq!(RunState::try_from(state as u8), Ok(state));
        }
        assert_eq!(RunState::try_from(3), Err(3));
        let control = Control::default();
        assert_eq!(control.get(), RunState::Running);
        control.raise(RunState::Aborting);
        control.raise(RunState::Stopping);
        assert_eq!(control.get(), RunState::Aborting);
    }
}
