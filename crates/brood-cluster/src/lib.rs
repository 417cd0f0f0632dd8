//! Distributed runs: the backend traits (queues, artifact store, fleet), the split of a run's load
//! across regions and workers, the run coordinator as a state machine, and the conformance suites
//! every backend passes, with in-memory backends that pass them.
//!
//! Invariant: nothing here depends on an async runtime, a cloud SDK or a web framework. The
//! coordinator does no I/O and reads no clock; time enters as `now_ms` arguments.

pub mod backend;
pub mod conformance;
pub mod coordinator;
mod error;
pub mod memory;
pub mod split;
mod timer;

pub use backend::*;
pub use coordinator::{
    Action, Coordinator, CoordinatorConfig, Event, Health, RunEnd, RunOutcome, Verdict, WorkerEnd,
    WorkerOutcome, WorkerPhase, WorkerView,
};
pub use error::ClusterError;
pub use split::{check_regions, split_regions, RegionSpec, SlotSegment};
