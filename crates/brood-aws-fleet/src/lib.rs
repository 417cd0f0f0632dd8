//! brood's AWS control plane: `brood aws setup` (bucket, role, queues, security groups), the
//! `AsgFleet` that runs workers in AutoScaling groups from per-region launch templates, the
//! sizing of fleets from the load, the cost preview, the target allow-list, the run lock (one run
//! at a time per deployment), `brood cleanup`, and the IAM policies of the workers and of whoever
//! runs brood (`policy`, `brood aws policy`).
//!
//! Invariant: this is the only crate that uses the EC2, AutoScaling, IAM and SSM SDKs; the engine,
//! the worker's hot path and the data plane (`brood-aws`) never depend on it. Every resource it
//! creates carries the deployment's tags from its create call, so a failure half-way leaves only
//! resources that `cleanup` finds.

pub mod ami;
mod aws;
pub mod binary;
pub mod cleanup;
pub mod config;
pub mod elf;
mod error;
pub mod fleet;
pub mod instance;
pub mod leave;
pub mod lock;
pub mod network;
mod placement;
pub mod policy;
pub mod pricing;
pub mod setup;
pub mod sizing;
pub mod test_server;
pub mod userdata;

pub use aws::Aws;
pub use cleanup::{cleanup, CleanupOptions, CleanupReport};
pub use config::{plan_targets, DeploymentConfig};
pub use error::FleetError;
pub use fleet::{AsgFleet, FleetOptions};
pub use pricing::{Arch, CostInput, CostPreview, CreditMode, PriceTable};
pub use setup::{setup, SetupOptions, SetupReport};
pub use sizing::{demand, size_regions, Demand, InstanceCpu, Sizing, SizingRules};
