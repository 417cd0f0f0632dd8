//! A tokio runtime on a thread of its own, stopped and joined on drop.
//!
//! Targets run beside their callers rather than inside them: a sync test has no runtime to lend,
//! and an async test that dropped a runtime-owning value inside its own runtime would panic. So
//! each target owns a runtime on a dedicated thread, and stopping it is a plain blocking join.

use std::future::Future;
use std::io;
use std::thread;
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::sync::oneshot;

/// How long shutdown waits for connection tasks to be dropped. The tasks never block, so this
/// only bounds a misbehaving case; normally the runtime is gone in well under a millisecond.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Resolves when the owner asks the background future to finish (or the owner is gone).
pub(crate) type StopSignal = oneshot::Receiver<()>;

/// Builds the runtime a background future will run on.
///
/// The caller gets it before the thread starts so that sockets can be registered with it (which
/// needs the runtime entered) while errors can still be returned to whoever started the target.
pub(crate) fn runtime(name: &str, workers: usize) -> io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .thread_name(name)
        .enable_all()
        .build()
}

/// A future running to completion on its own thread and runtime.
#[derive(Debug)]
pub(crate) struct Background {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Background {
    /// Runs `main(stop)` on `runtime` in a new thread named `name`.
    ///
    /// Once `main` returns, the runtime is shut down, which drops every task it spawned and so
    /// closes every socket those tasks held.
    pub(crate) fn spawn<F, Fut>(name: &str, runtime: Runtime, main: F) -> io::Result<Self>
    where
        F: FnOnce(StopSignal) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        let (stop, signal) = oneshot::channel();
        let thread = thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                runtime.block_on(main(signal));
                runtime.shutdown_timeout(SHUTDOWN_GRACE);
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Signals the future to finish and waits until the runtime is gone.
    pub(crate) fn stop(&mut self) {
        // Dropping the sender wakes the receiver just as sending would, and cannot fail.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // A panic on the target thread has already been reported there; the owner is
            // shutting down either way, so there is nothing more to do with it.
            let _ = thread.join();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop();
    }
}
