//! The crate's one error enum: what is wrong with a distributed run's settings.
//!
//! Backend operations fail with [`crate::BackendError`], which the backend traits fix; everything
//! the crate itself checks fails with [`ClusterError`].

/// Why a run cannot be split or coordinated as configured.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClusterError {
    /// The run names no region at all.
    #[error("a distributed run needs at least one region")]
    NoRegions,
    /// One region's settings are unusable (a weight that is not a positive number, no workers).
    #[error("region {region}: {problem}")]
    InvalidRegion { region: String, problem: String },
    /// Two regions share a name, so their workers and stats could not be told apart.
    #[error("region {region} is listed twice")]
    DuplicateRegion { region: String },
    /// A coordinator setting is out of range; `setting` names the field.
    #[error("{setting}: {problem}")]
    InvalidSetting {
        setting: &'static str,
        problem: String,
    },
}
