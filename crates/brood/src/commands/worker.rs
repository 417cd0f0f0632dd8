//! `brood worker`: the flags become a [`WorkerInput`] for the library's worker.

use brood_control::{Outcome, WorkerInput};

use crate::cli::WorkerArgs;

/// Takes and runs signed jobs until idle for `--idle-exit`.
pub fn worker(args: WorkerArgs) -> Outcome {
    brood_control::worker::worker(&WorkerInput {
        backend: args.backend,
        dir: args.dir,
        deployment: args.deployment,
        home_region: args.home_region,
        bucket: args.bucket,
        spool: args.spool,
        region: args.region,
        queue: args.queue,
        controller_queue: args.controller_queue,
        controller_key: args.controller_key,
        idle_exit: args.idle_exit,
        dead_man: args.dead_man,
    })
}
