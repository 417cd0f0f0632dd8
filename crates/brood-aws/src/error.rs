//! The crate's one error enum: what went wrong finding credentials, a region or an account.
//!
//! Queue and bucket operations fail with [`brood_cluster::BackendError`], which the backend
//! traits fix (see `failure.rs`); everything else in the crate fails with [`AwsError`].

/// Why the AWS configuration or identity could not be established.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// No region was given and the standard configuration (`AWS_REGION`, the profile) has none.
    #[error(
        "no AWS region: give one, or set AWS_REGION or a region in the profile's configuration"
    )]
    NoRegion,
    /// A region name that AWS would not accept, e.g. `us east 1`.
    #[error("region {region:?}: {problem}")]
    InvalidRegion {
        region: String,
        problem: &'static str,
    },
    /// A deployment name that would not fit in bucket, queue and role names.
    #[error("deployment {name:?}: {problem}")]
    InvalidDeployment { name: String, problem: &'static str },
    /// STS refused or could not be reached: no credentials, expired ones, no network.
    #[error("STS {operation} in {region}: {message}")]
    Sts {
        operation: &'static str,
        region: String,
        message: String,
    },
}
