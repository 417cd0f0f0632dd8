//! [`LocalFleet`]: a region's workers as child processes of the controller, each started as
//!
//! ```text
//! <binary> worker --backend local --dir <base_dir> --region <region> --queue <jobs>
//!     --controller-queue <controller> --controller-key <hex>
//! ```
//!
//! with its output in `<base_dir>/logs/<region>-<n>.log`. Taking a region down asks politely
//! (SIGTERM) so workers can flush their last stats, then insists (SIGKILL) after a grace period.
//! Every child is reaped, and dropping the fleet kills whatever is still running, so a controller
//! that stops never leaves workers behind.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use brood_cluster::{BackendError, Fleet, FleetRequest, WorkerState, WorkerStatus};

use crate::failure::{failure, from_io};

/// The variable that tells a worker how many milliseconds to add to each request, to imitate a
/// region far from the target.
pub const LATENCY_ENV: &str = "BROOD_REGION_LATENCY_MS";

/// How long `down` waits after SIGTERM before SIGKILL.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// How often `down` looks whether terminated workers have exited.
const EXIT_POLL: Duration = Duration::from_millis(20);

/// A [`Fleet`] of worker processes on this machine.
#[derive(Debug)]
pub struct LocalFleet {
    worker_binary: PathBuf,
    base_dir: PathBuf,
    latency: HashMap<String, Duration>,
    grace: Duration,
    regions: Mutex<HashMap<String, Vec<Worker>>>,
}

#[derive(Debug)]
struct Worker {
    child: Child,
}

impl Worker {
    fn id(&self) -> String {
        self.child.id().to_string()
    }

    /// Also reaps: once the child has exited its status is kept and its pid is never signalled.
    fn state(&mut self) -> WorkerState {
        match self.child.try_wait() {
            Ok(None) => WorkerState::Running,
            Ok(Some(status)) => WorkerState::Exited {
                code: status.code(),
            },
            // Only possible if something else reaped our child; it is gone either way.
            Err(_) => WorkerState::Exited { code: None },
        }
    }

    fn status(&mut self, region: &str) -> WorkerStatus {
        WorkerStatus {
            region: region.to_owned(),
            id: self.id(),
            state: self.state(),
        }
    }

    fn is_running(&mut self) -> bool {
        self.state() == WorkerState::Running
    }

    /// Asks a running worker to stop. Signalling only a child that `try_wait` has not reaped
    /// keeps the pid ours: an exited but unreaped child stays a zombie holding it.
    fn terminate(&mut self) {
        if !self.is_running() {
            return;
        }
        let Ok(pid) = libc::pid_t::try_from(self.child.id()) else {
            return;
        };
        #[allow(unsafe_code)]
        // SAFETY: `kill` takes plain integers and touches no memory of ours; `pid` is our own
        // unreaped child, so the signal cannot reach another process.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }

    /// SIGKILL if still running, then reap.
    fn kill(&mut self) {
        if self.is_running() {
            // Fails only when the child has exited meanwhile, which `wait` then reaps.
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl LocalFleet {
    /// Workers will run `worker_binary` and share `base_dir` (the queue database, the store,
    /// `logs/`).
    pub fn new(worker_binary: PathBuf, base_dir: PathBuf) -> LocalFleet {
        LocalFleet {
            worker_binary,
            base_dir,
            latency: HashMap::new(),
            grace: DEFAULT_GRACE,
            regions: Mutex::new(HashMap::new()),
        }
    }

    /// Workers of `region` add `latency` to every request (passed as [`LATENCY_ENV`]), so one
    /// machine can stand in for regions at different distances from the target.
    pub fn with_latency(mut self, region: impl Into<String>, latency: Duration) -> LocalFleet {
        self.latency.insert(region.into(), latency);
        self
    }

    /// How long `down` lets workers stop on their own before killing them.
    pub fn with_grace(mut self, grace: Duration) -> LocalFleet {
        self.grace = grace;
        self
    }

    /// Where the logs of a region's `n`th worker go (from 0).
    pub fn log_path(&self, region: &str, n: usize) -> PathBuf {
        self.base_dir.join("logs").join(format!("{region}-{n}.log"))
    }

    fn regions(&self) -> MutexGuard<'_, HashMap<String, Vec<Worker>>> {
        // Every update leaves the map consistent, so a panic elsewhere does not spoil it.
        self.regions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn spawn(&self, request: &FleetRequest, n: usize) -> Result<Worker, BackendError> {
        let log_path = self.log_path(&request.region, n);
        let log_failure = |error: std::io::Error| {
            from_io("open worker log", log_path.display().to_string(), &error)
        };
        // Appending keeps the log of a worker that died before a region was brought up again.
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(log_failure)?;
        let log_err = log.try_clone().map_err(log_failure)?;
        let mut command =
            worker_command(&self.worker_binary, &self.base_dir, request, log, log_err);
        if let Some(latency) = self.latency.get(&request.region) {
            command.env(LATENCY_ENV, latency.as_millis().to_string());
        }
        let child = spawn_retrying_busy(&mut command).map_err(|error| {
            failure(
                "start worker",
                &request.region,
                format!("{}: {error}", self.worker_binary.display()),
            )
        })?;
        Ok(Worker { child })
    }
}

fn worker_command(
    binary: &Path,
    base_dir: &Path,
    request: &FleetRequest,
    stdout: File,
    stderr: File,
) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("worker")
        .args(["--backend", "local"])
        .arg("--dir")
        .arg(base_dir)
        .args(["--region", &request.region])
        .args(["--queue", &request.jobs.0])
        .args(["--controller-queue", &request.controller.0])
        .args(["--controller-key", &request.controller_key])
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    command
}

/// A region name becomes part of a log file name, so it must be one plain path segment.
fn check_region(operation: &'static str, region: &str) -> Result<(), BackendError> {
    let plain = !region.is_empty()
        && region != "."
        && region != ".."
        && !region.contains(['/', '\\', '\0']);
    if plain {
        Ok(())
    } else {
        Err(failure(
            operation,
            region,
            "region name must be non-empty and contain no `/`, `\\` or NUL, nor be `.` or `..`",
        ))
    }
}

#[async_trait]
impl Fleet for LocalFleet {
    /// Starts `request.workers` processes. A region whose earlier workers are still running is
    /// refused rather than doubled; one whose workers all exited is started afresh.
    async fn up(&self, request: &FleetRequest) -> Result<Vec<WorkerStatus>, BackendError> {
        check_region("start workers", &request.region)?;
        let logs = self.base_dir.join("logs");
        fs::create_dir_all(&logs)
            .map_err(|error| from_io("start workers", logs.display().to_string(), &error))?;

        let mut regions = self.regions();
        let existing = regions.entry(request.region.clone()).or_default();
        let running = existing
            .iter_mut()
            .map(Worker::is_running)
            .filter(|&running| running)
            .count();
        if running > 0 {
            return Err(failure(
                "start workers",
                &request.region,
                format!("{running} workers of this region are still running; take it down first"),
            ));
        }
        existing.clear();

        for n in 0..request.workers as usize {
            match self.spawn(request, n) {
                Ok(worker) => existing.push(worker),
                Err(error) => {
                    // All or nothing: a half-started region would run a wrong share of load.
                    existing.iter_mut().for_each(Worker::kill);
                    existing.clear();
                    return Err(error);
                }
            }
        }
        Ok(existing
            .iter_mut()
            .map(|worker| worker.status(&request.region))
            .collect())
    }

    /// Every worker started by the last `up` of the region, running or exited; empty after
    /// `down`.
    async fn status(&self, region: &str) -> Result<Vec<WorkerStatus>, BackendError> {
        let mut regions = self.regions();
        Ok(regions
            .get_mut(region)
            .map(|workers| workers.iter_mut().map(|w| w.status(region)).collect())
            .unwrap_or_default())
    }

    async fn down(&self, region: &str) -> Result<(), BackendError> {
        // Taken out of the map first: the lock is never held across an await, and a
        // concurrent `up` of the region starts from nothing.
        let Some(mut workers) = self.regions().remove(region) else {
            return Ok(());
        };
        workers.iter_mut().for_each(Worker::terminate);
        let deadline = tokio::time::Instant::now() + self.grace;
        while workers.iter_mut().any(Worker::is_running) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(EXIT_POLL).await;
        }
        workers.iter_mut().for_each(Worker::kill);
        Ok(())
    }
}

impl Drop for LocalFleet {
    fn drop(&mut self) {
        for workers in self.regions().values_mut() {
            workers.iter_mut().for_each(Worker::kill);
        }
    }
}

/// Starts the command, retrying briefly while the binary is "text file busy" (ETXTBSY): another
/// thread's fork can hold a just-written executable open for writing until that child execs.
fn spawn_retrying_busy(command: &mut Command) -> std::io::Result<Child> {
    const ETXTBSY: i32 = 26;
    let mut attempts = 0;
    loop {
        match command.spawn() {
            Err(e) if e.raw_os_error() == Some(ETXTBSY) && attempts < 20 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            result => return result,
        }
    }
}
