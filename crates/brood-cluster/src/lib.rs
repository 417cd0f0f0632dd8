//! Distributed runs: the backend traits (queues, artifact store, fleet), the run coordinator as a
//! state machine, and the conformance suites every backend passes.

pub mod backend;

pub use backend::*;
