//! The local backend: everything a distributed run needs on one machine, with no service to
//! install. [`SqliteTransport`] is a queue in one SQLite file that the controller and every
//! worker process open; [`DirStore`] keeps artifacts in a directory; [`LocalFleet`] runs workers
//! as child processes.
//!
//! All three implement the traits of `brood_cluster::backend` and report failures as its
//! `BackendError`, so nothing above this crate knows it is talking to a file.

mod failure;
mod fleet;
mod store;
mod transport;

pub use fleet::{LocalFleet, DEFAULT_GRACE, LATENCY_ENV};
pub use store::DirStore;
pub use transport::{SqliteTransport, QUEUES_FILE};
