//! Scenario files and load plans: what load to run, checked and compiled, with no I/O beyond reading
//! the scenario file itself and no clock.

pub mod plan;

pub use plan::*;
