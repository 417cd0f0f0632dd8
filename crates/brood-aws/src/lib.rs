//! brood's AWS data plane: how a deployment names its resources, the SDK configuration on the
//! standard credential chain, [`SqsTransport`] (queues across regions, large bodies spilled to
//! S3) and [`S3Store`] (results), which the controller and `brood worker --backend aws` use.
//!
//! Invariant: only the data-plane SDK crates (SQS, S3, STS) are used here; provisioning (EC2,
//! AutoScaling, IAM, SSM) lives in `brood-aws-fleet`, so a worker never builds it. No function
//! takes a credential: they come from the standard chain only.

mod config;
mod error;
mod failure;
mod naming;
mod s3;
mod sqs;

pub use aws_config::SdkConfig;
pub use config::{
    account_id, assume_role, caller, check_deployment_name, check_region, configured_region,
    for_region, partition_of, s3_client, sdk_config, sqs_client, Caller, MAX_ATTEMPTS,
};
pub use error::AwsError;
pub use failure::is_queue_deleted_recently;
pub use naming::{Deployment, RUN_QUEUE_SEPARATOR, TAG_DEPLOYMENT, TAG_MANAGED_BY, TAG_RUN};
pub use s3::S3Store;
pub use sqs::{sqs_name, SqsTransport, JOBS_PREFIX, MAX_MESSAGE_BYTES, SPILL_PREFIX};
