//! What ends a run or a command before its figures can decide the outcome, as one type, and the
//! exit code each kind of failure maps to.

use std::path::PathBuf;

use brood_aws_fleet::FleetError;
use brood_plan::PlanError;

use crate::outcome::Outcome;

/// Why a run or a command could not go on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag, a form field or the scenario is wrong; the message names it.
    #[error("{0}")]
    Invalid(#[from] PlanError),
    /// The AWS control plane refused the run (allow-list, size, cost) or failed.
    #[error("{0}")]
    Fleet(#[from] FleetError),
    /// A file or folder could not be read or written.
    #[error("{what} {}: {source}", path.display())]
    File {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The run's infrastructure failed: queues, store, worker processes, signing keys, history.
    #[error("{0:#}")]
    Infrastructure(#[from] anyhow::Error),
}

/// Failures of the run's machinery, each an infrastructure error with its own message.
macro_rules! infrastructure {
    ($($source:ty),* $(,)?) => {
        $(impl From<$source> for Error {
            fn from(e: $source) -> Error {
                Error::Infrastructure(e.into())
            }
        })*
    };
}

infrastructure!(
    brood_history::HistoryError,
    brood_protocol::ProtocolError,
    brood_cluster::BackendError,
    brood_cluster::ClusterError,
    serde_json::Error,
    std::io::Error,
);

impl Error {
    /// The exit code's outcome: refused input is invalid input, anything else infrastructure.
    pub fn outcome(&self) -> Outcome {
        match self {
            Error::Invalid(_) => Outcome::InvalidInput,
            Error::Fleet(
                FleetError::Invalid { .. }
                | FleetError::TargetNotAllowed { .. }
                | FleetError::Network { .. },
            ) => Outcome::InvalidInput,
            Error::Fleet(_) | Error::File { .. } | Error::Infrastructure(_) => {
                Outcome::Infrastructure
            }
        }
    }

    /// A file error naming its path.
    pub fn file(
        what: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::File { what, path, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_input_is_exit_2_and_failures_exit_5() {
        let invalid = Error::Fleet(FleetError::Invalid {
            field: "--max-cost".into(),
            message: "too much".into(),
        });
        assert_eq!(invalid.outcome().code(), 2);
        let not_allowed = Error::Fleet(FleetError::TargetNotAllowed {
            target: "example.com".into(),
            deployment: "d".into(),
        });
        assert_eq!(not_allowed.outcome().code(), 2);
        let aws = Error::Fleet(FleetError::Deployment {
            deployment: "d".into(),
            message: "missing".into(),
        });
        assert_eq!(aws.outcome().code(), 5);
        let file = Error::file("cannot create", "/nope")(std::io::ErrorKind::NotFound.into());
        assert_eq!(file.outcome().code(), 5);
        assert!(
            file.to_string().starts_with("cannot create /nope: "),
            "{file}"
        );
    }
}
