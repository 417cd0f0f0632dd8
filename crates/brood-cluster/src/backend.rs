//! The three things a backend provides, kept small so each has one conformance suite: a queue
//! transport, an artifact store, and a fleet of workers.

use std::time::Duration;

use async_trait::async_trait;

/// Why a backend operation failed, in brood's terms. `transient` errors may be retried.
#[derive(Debug, thiserror::Error)]
#[error("{operation} on {resource}: {message}")]
pub struct BackendError {
    pub operation: &'static str,
    /// The queue, key, region or group the operation was about.
    pub resource: String,
    pub message: String,
    pub transient: bool,
}

/// A queue's name as the backend knows it, e.g. `brood-default-jobs-local-a`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueName(pub String);

/// One received message. It stays invisible to other receivers for the visibility timeout and
/// comes back (with `receive_count` + 1) unless acknowledged before then: at-least-once delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub body: Vec<u8>,
    /// Opaque handle for `ack` and `extend`; valid for this delivery only.
    pub receipt: String,
    /// 1 on the first delivery.
    pub receive_count: u32,
}

/// Queues with SQS semantics: at-least-once, visibility timeout, acknowledge to delete,
/// long-poll receive.
#[async_trait]
pub trait Transport: Send + Sync {
    /// Creates the queue if it does not exist (idempotent).
    async fn ensure_queue(&self, queue: &QueueName) -> Result<(), BackendError>;
    async fn send(&self, queue: &QueueName, body: &[u8]) -> Result<(), BackendError>;
    /// Waits up to `wait` for at least one message, returns at most `max`; `visibility` hides
    /// the returned messages from other receivers until acknowledged or expired.
    async fn receive(
        &self,
        queue: &QueueName,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, BackendError>;
    /// Deletes a received message. Acknowledging twice, or after the message came back to
    /// another receiver, is not an error.
    async fn ack(&self, queue: &QueueName, receipt: &str) -> Result<(), BackendError>;
    /// Pushes the visibility timeout of a received message `visibility` from now.
    async fn extend(
        &self,
        queue: &QueueName,
        receipt: &str,
        visibility: Duration,
    ) -> Result<(), BackendError>;
    /// Removes the queue and its messages (idempotent).
    async fn delete_queue(&self, queue: &QueueName) -> Result<(), BackendError>;
}

/// Result files, by key such as `runs/<run-id>/<region>/<worker-id>/stats.csv`.
#[async_trait]
pub trait ArtifactStore: Send + Sync {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BackendError>;
    /// `None` when there is no such key.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BackendError>;
    /// Every key under `prefix`, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, BackendError>;
    async fn delete(&self, key: &str) -> Result<(), BackendError>;
}

/// How to start the workers of one region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetRequest {
    pub region: String,
    pub workers: u32,
    /// The queue the region's workers read jobs from.
    pub jobs: QueueName,
    /// The queue workers send to the controller.
    pub controller: QueueName,
    /// Hex Ed25519 public key workers verify jobs with.
    pub controller_key: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerState {
    Starting,
    Running,
    Exited {
        code: Option<i32>,
    },
    /// The backend will not bring this worker up (a failed launch: a quota, no capacity, a type
    /// not offered); `reason` is the backend's own message.
    Failed {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerStatus {
    pub region: String,
    /// The backend's id: a process id, an instance id.
    pub id: String,
    pub state: WorkerState,
}

/// Brings workers up in a region, reports them, and takes them down.
#[async_trait]
pub trait Fleet: Send + Sync {
    async fn up(&self, request: &FleetRequest) -> Result<Vec<WorkerStatus>, BackendError>;
    async fn status(&self, region: &str) -> Result<Vec<WorkerStatus>, BackendError>;
    /// Stops every worker of the region (idempotent).
    async fn down(&self, region: &str) -> Result<(), BackendError>;
}
