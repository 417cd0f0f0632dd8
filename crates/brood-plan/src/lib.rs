//! Scenario files and load plans: what load to run, checked and compiled, with no I/O beyond reading
//! the scenario file itself and no clock.
//!
//! The path through the crate: [`load_scenario`] or [`parse_scenario`] reads YAML or TOML into a
//! [`Scenario`] (or [`Scenario::quick`] makes one from a URL), and [`compile()`] merges it with the
//! command line's [`LoadOptions`] into a [`Plan`]. Every failure is a [`PlanError`] that names the
//! file, line, column and field, or the flag, it is about.

mod compile;
mod describe;
mod error;
mod feed;
mod load;
mod mix;
mod options;
mod parse;
pub mod plan;
mod request;
mod request_plan;
mod response;
mod scalar;
mod scenario;
mod source;
mod step;
mod template;
mod threshold;
mod url;

pub use compile::compile;
pub use describe::format_duration;
pub use error::{FieldPath, Issue, PathPart, PlanError, Position};
pub use feed::{read_table, FeedSpec, FeedTable};
pub use load::{default_max_users, parse_arrival_unit, parse_stages, LoadSpec};
pub use options::{LoadOptions, Stage, StageTarget, DEFAULT_TIMEOUT};
pub use parse::{load_scenario, load_scenario_with_feeds, parse_scenario};
pub use plan::*;
pub use request::{AuthSpec, BodySpec, RequestLayout, RequestSpec};
pub use scalar::{parse_duration, parse_wait};
pub use scenario::{RequestDefaults, Scenario, Step, TaskLayout, TaskSpec, UserSpec};
pub use source::{Format, ScenarioSource};
pub use threshold::parse_threshold;
