//! brood's load engine: runs one segment of a [`Plan`] on every core and streams stats deltas.
//!
//! The engine knows nothing of workers, regions or clouds. It is given a plan, the segment of the
//! load that is its share, and a start instant; it sends one [`Snapshot`] delta per thread per second
//! and a last one when the thread ends. The receiver is closed once every thread has finished.
//!
//! Threads: one current-thread tokio runtime per thread (by default one per core), each running its
//! round-robin share of the users with its own connections and recorder. A request touches no lock.

mod arrivals;
mod checks;
mod client;
mod control;
mod feeds;
mod mix;
mod render;
mod scenario;
mod shard;
mod shard_state;
mod vuser;

use std::sync::atomic::AtomicU64;
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use brood_plan::{Plan, Segment};
use brood_stats::Snapshot;

pub use client::ClientError;

use control::{Control, RunState};
use shard::{Place, ShardRun};

/// The moment a run starts, on both clocks: the monotonic one for scheduling, the wall clock for
/// timestamps in the stats.
#[derive(Clone, Copy, Debug)]
pub struct StartAt {
    pub instant: Instant,
    pub unix_ms: u64,
}

impl StartAt {
    pub fn now() -> StartAt {
        StartAt {
            instant: Instant::now(),
            unix_ms: unix_ms_now(),
        }
    }

    /// A start `delay` from now (a distributed run's common start time).
    pub fn after(delay: std::time::Duration) -> StartAt {
        let now = StartAt::now();
        StartAt {
            instant: now.instant + delay,
            unix_ms: now.unix_ms + delay.as_millis() as u64,
        }
    }
}

pub fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// How the engine runs, as opposed to what load it runs.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Engine threads; each is one runtime. Defaults to the number of cores.
    pub threads: usize,
    /// This process's name in exception reports (Locust's "nodes"): a worker id, or `local`.
    pub node: String,
    /// Added to every request's time before it is sent: simulates a far-away region.
    pub added_latency: std::time::Duration,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            node: "local".into(),
            added_latency: std::time::Duration::ZERO,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot start engine thread {index}: {source}")]
    Thread {
        index: usize,
        source: std::io::Error,
    },
}

/// A running engine. Dropping it does not stop the run; call [`Engine::stop`] or [`Engine::abort`].
#[derive(Debug)]
pub struct Engine {
    control: Arc<Control>,
    threads: Vec<JoinHandle<()>>,
}

/// Starts `segment` of `plan` at `start`. Stats deltas arrive on the returned receiver.
pub fn start(
    plan: Arc<Plan>,
    segment: Segment,
    config: &EngineConfig,
    start: StartAt,
) -> Result<(Engine, Receiver<Snapshot>), EngineError> {
    raise_open_files_limit();
    let count = config.threads.max(1);
    let control = Arc::new(Control {
        users: (0..count).map(|_| AtomicU64::new(0)).collect(),
        lag_us: (0..count).map(|_| AtomicU64::new(0)).collect(),
        ..Control::default()
    });
    let tls = Arc::new(client::TlsConfigs::new(plan.insecure_tls));
    let (tx, rx) = mpsc::channel();
    let mut threads = Vec::with_capacity(count);
    for index in 0..count {
        let run = ShardRun {
            plan: plan.clone(),
            place: Place {
                segment,
                index: index as u64,
                count: count as u64,
            },
            start,
            control: control.clone(),
            tls: tls.clone(),
            node: config.node.clone(),
            added_latency: config.added_latency,
            snapshots: tx.clone(),
        };
        let handle = std::thread::Builder::new()
            .name(format!("brood-engine-{index}"))
            .spawn(move || {
                if let Err(e) = run.run() {
                    eprintln!("brood: engine thread {index} failed: {e}");
                }
            })
            .map_err(|source| EngineError::Thread { index, source })?;
        threads.push(handle);
    }
    Ok((Engine { control, threads }, rx))
}

impl Engine {
    /// Ends the run now: no new tasks start; running tasks get the plan's stop timeout.
    pub fn stop(&self) {
        self.control.raise(RunState::Stopping);
    }

    /// Ends the run now and cuts running tasks off.
    pub fn abort(&self) {
        self.control.raise(RunState::Aborting);
    }

    /// Users running now, over all threads.
    pub fn users(&self) -> u64 {
        self.control.users()
    }

    /// The worst scheduling lag of any engine thread since the last call: how late timers fire
    /// when the generator is overloaded.
    pub fn take_sched_lag(&self) -> std::time::Duration {
        self.control.take_lag()
    }

    pub fn is_finished(&self) -> bool {
        self.threads.iter().all(|t| t.is_finished())
    }

    /// Waits for every thread to end.
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Each user holds its own connection: lets the process open as many files as the hard limit
/// allows, and returns the limit then in force (`None` where it cannot be read).
pub fn raise_open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed by pointer, which lives on
    // this stack frame for the duration of the calls.
    #[allow(unsafe_code)]
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    Some(limit.rlim_cur)
}
