//! brood's controller as a library: what the `brood` binary's commands run, with no command-line
//! parsing of its own.
//!
//! A run starts from a [`RunInput`] (plain values, as flags or the web form give them), checked
//! into [`Settings`] and, for distributed runs, [`DistSettings`]. [`single::run`] runs it in this
//! process; [`distributed::run`] is the controller over a backend (local or aws, chosen in
//! [`backend`]); [`worker::worker`] is the other end. Both report to an [`Observer`] (the
//! [`console`], or the web UI's live state in [`web`]) and end with an [`Outcome`], the exit code.
//!
//! Invariant: no clap here; flags are the binary's. What a run prints goes through the console
//! observer or the outcome, never from the decision itself.

pub mod aws;
pub mod backend;
pub mod check;
pub mod console;
pub mod distributed;
pub mod error;
pub mod input;
pub mod limits;
pub mod observer;
pub mod outcome;
pub mod outputs;
pub mod process;
pub mod queues;
pub mod record;
pub mod runs;
pub mod settings;
pub mod single;
pub mod verdict;
pub mod web;
pub mod worker;

pub use error::Error;
pub use input::{RunInput, WorkerInput};
pub use observer::{Command, Observer};
pub use outcome::Outcome;
pub use settings::{DistSettings, Settings};
