//! The crate's one error type, in brood's terms.

/// What went wrong while setting up, running or cleaning up a deployment.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// A flag, file or value is not acceptable; `field` names it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A target host is not on the deployment's allow-list.
    #[error(
        "target {target} is not on the allow-list of deployment {deployment}: add it with \
         `brood aws setup --deployment {deployment} --allow-target HOST`"
    )]
    TargetNotAllowed { target: String, deployment: String },
    /// An AWS call failed; `transient` ones were retried first.
    #[error("{operation} in {region} on {resource}: {message}")]
    Aws {
        operation: &'static str,
        region: String,
        resource: String,
        message: String,
        transient: bool,
    },
    /// A region's network cannot carry workers (no default VPC, no subnet with a way out, the
    /// instance type offered in none of the subnets' zones); the message names the option to use.
    #[error("{region}: {message}")]
    Network { region: String, message: String },
    /// The deployment is missing or incomplete.
    #[error("deployment {deployment}: {message}")]
    Deployment { deployment: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl From<FleetError> for brood_cluster::BackendError {
    fn from(e: FleetError) -> Self {
        match e {
            FleetError::Aws {
                operation,
                region,
                resource,
                message,
                transient,
            } => brood_cluster::BackendError {
                operation,
                resource: format!("{resource} in {region}"),
                message,
                transient,
            },
            other => brood_cluster::BackendError {
                operation: "fleet",
                resource: String::new(),
                message: other.to_string(),
                transient: false,
            },
        }
    }
}
