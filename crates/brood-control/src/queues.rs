//! The names of a run's queues, which the controller and its workers derive alike.

use brood_cluster::QueueName;

/// The queue a region's workers take their jobs from.
pub fn jobs_queue(region: &str) -> QueueName {
    QueueName(format!("jobs-{region}"))
}

/// The control queue of one worker in one run.
pub fn control_queue(run: &str, worker: &str) -> QueueName {
    QueueName(format!("ctl-{run}-{worker}"))
}
