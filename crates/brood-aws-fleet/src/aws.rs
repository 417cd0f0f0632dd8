//! Connections to AWS: one configuration loaded by `brood_aws::sdk_config` (credentials from the
//! standard chain, the endpoint from `AWS_ENDPOINT_URL` when set), clients per region, and errors that name the region and the
//! resource, with transient ones retried.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::FleetError;

/// The loaded AWS configuration and the home region.
#[derive(Clone, Debug)]
pub struct Aws {
    base: SdkConfig,
    pub home_region: String,
}

impl Aws {
    /// Loads the standard configuration (`--profile`, environment, SSO); the home region is the
    /// configured region.
    pub async fn load(profile: Option<&str>) -> Result<Aws, FleetError> {
        let home_region =
            brood_aws::configured_region(profile)
                .await
                .map_err(|e| FleetError::Invalid {
                    field: "region".into(),
                    message: e.to_string(),
                })?;
        let base = brood_aws::sdk_config(&home_region, profile).await;
        Ok(Aws { base, home_region })
    }

    /// The configuration homed in `region`, for a process that knows its region but may have no
    /// configured one (an instance: its user data names the region).
    pub async fn load_in(region: &str, profile: Option<&str>) -> Aws {
        Aws {
            base: brood_aws::sdk_config(region, profile).await,
            home_region: region.to_string(),
        }
    }

    /// The same configuration with every call sent to `endpoint` (a test server, or a fault
    /// proxy in front of one). The SDK prefers `AWS_ENDPOINT_URL` from the environment when it
    /// is set, so a process using this must not have it.
    pub fn with_endpoint(&self, endpoint: &str) -> Aws {
        Aws {
            base: self.base.to_builder().endpoint_url(endpoint).build(),
            home_region: self.home_region.clone(),
        }
    }

    /// The configuration for one region.
    pub fn config(&self, region: &str) -> SdkConfig {
        brood_aws::for_region(&self.base, region)
    }

    pub fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.config(region))
    }
    pub fn autoscaling(&self, region: &str) -> aws_sdk_autoscaling::Client {
        aws_sdk_autoscaling::Client::new(&self.config(region))
    }
    pub fn sqs(&self, region: &str) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.config(region))
    }
    pub fn ssm(&self, region: &str) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::new(&self.config(region))
    }
    /// S3 in the home region; path-style addressing when an endpoint is overridden (AWS-compatible
    /// servers on an address, not a domain).
    pub fn s3(&self) -> aws_sdk_s3::Client {
        brood_aws::s3_client(&self.config(&self.home_region))
    }
    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.config(&self.home_region))
    }

    /// Who the credentials are: account, partition and ARN (STS `GetCallerIdentity`).
    pub async fn caller(&self) -> Result<brood_aws::Caller, FleetError> {
        brood_aws::caller(&self.config(&self.home_region))
            .await
            .map_err(|e| FleetError::Aws {
                operation: "GetCallerIdentity",
                region: self.home_region.clone(),
                resource: "credentials".into(),
                message: e.to_string(),
                transient: false,
            })
    }

    /// The 12-digit account of the credentials.
    pub async fn account(&self) -> Result<String, FleetError> {
        Ok(self.caller().await?.account)
    }
}

/// The error code of a failed call, e.g. `EntityAlreadyExists`.
pub(crate) fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    match e {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}

/// Codes that say "try again later".
const TRANSIENT: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
    "SlowDown",
    "RequestTimeout",
    "PriorRequestNotComplete",
];

pub(crate) fn is_transient<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    match e {
        SdkError::ServiceError(_) => code(e).is_some_and(|c| TRANSIENT.contains(&c)),
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        _ => false,
    }
}

/// An SDK error in brood's terms: the operation, region and resource, and what AWS said.
pub(crate) fn aws_error<E, R>(
    operation: &'static str,
    region: &str,
    resource: &str,
    e: SdkError<E, R>,
) -> FleetError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug,
{
    let transient = is_transient(&e);
    let message = match &e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            match (err.code(), err.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_string(),
                _ => format!("{}", aws_sdk_s3::error::DisplayErrorContext(&e)),
            }
        }
        other => {
            use std::error::Error;
            let mut text = other.to_string();
            let mut source = other.source();
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    };
    FleetError::Aws {
        operation,
        region: region.to_string(),
        resource: resource.to_string(),
        message,
        transient,
    }
}

/// Retries `call` while it fails with a transient error or one of `also` (e.g. IAM's eventual
/// consistency right after a role is created), with growing pauses, up to about 20 seconds.
pub(crate) async fn retry<T, F, Fut>(also: &[&str], call: F) -> Result<T, FleetError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, FleetError>>,
{
    retry_while(
        |transient, message, waited| {
            (transient || also.iter().any(|c| message.starts_with(c)))
                && waited < Duration::from_secs(20)
        },
        call,
    )
    .await
}

/// How long a fresh instance profile may take to be usable by EC2 and AutoScaling. IAM is
/// eventually consistent; Terraform waits up to 2 minutes for the same reason.
pub(crate) const PROFILE_PROPAGATION: Duration = Duration::from_secs(120);

/// Whether an error (as `aws_error` words it: `code: message`) says an instance profile is not
/// (yet) known where it is used: EC2's `InvalidParameterValue` or AutoScaling's
/// `ValidationError` that names the profile, e.g. "Value (brood-x-worker) for parameter
/// iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name". Any other
/// `InvalidParameterValue` or `ValidationError` is a real mistake and is not retried.
pub(crate) fn is_fresh_profile_error(message: &str) -> bool {
    let (code, text) = message.split_once(':').unwrap_or((message, ""));
    let text = text.to_ascii_lowercase();
    matches!(code.trim(), "InvalidParameterValue" | "ValidationError")
        && (text.contains("iam instance profile") || text.contains("iaminstanceprofile"))
}

/// Retries a call that uses the workers' instance profile (creating a launch template, creating
/// or updating a group from it) while the profile is not usable yet, for up to
/// [`PROFILE_PROPAGATION`]; transient errors as [`retry`] does; anything else at once.
pub(crate) async fn retry_fresh_profile<T, F, Fut>(call: F) -> Result<T, FleetError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, FleetError>>,
{
    retry_while(
        |transient, message, waited| {
            (transient && waited < Duration::from_secs(20))
                || (is_fresh_profile_error(message) && waited < PROFILE_PROPAGATION)
        },
        call,
    )
    .await
}

/// Retries `call` with growing pauses (250 ms doubling up to 4 s) while `again(transient,
/// message, waited so far)` says so.
async fn retry_while<T, F, Fut>(
    again: impl Fn(bool, &str, Duration) -> bool,
    mut call: F,
) -> Result<T, FleetError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, FleetError>>,
{
    let mut pause = Duration::from_millis(250);
    let mut waited = Duration::ZERO;
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(FleetError::Aws {
                transient,
                ref message,
                ..
            }) if again(transient, message, waited) => {
                tokio::time::sleep(pause).await;
                waited += pause;
                pause = (pause * 2).min(Duration::from_secs(4));
            }
            Err(e) => return Err(e),
        }
    }
}

/// A tag list in a service's own type, from (key, value) pairs.
pub(crate) fn tag_pairs(deployment: &str, run: Option<&str>) -> Vec<(String, String)> {
    let mut tags = vec![
        (
            brood_aws::TAG_DEPLOYMENT.to_string(),
            deployment.to_string(),
        ),
        (brood_aws::TAG_MANAGED_BY.to_string(), "brood".to_string()),
    ];
    if let Some(run) = run {
        tags.push((brood_aws::TAG_RUN.to_string(), run.to_string()));
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn only_an_unknown_instance_profile_counts_as_a_fresh_one() {
        for fresh in [
            "InvalidParameterValue: Value (brood-x-worker) for parameter iamInstanceProfile.name \
             is invalid. Invalid IAM Instance Profile name",
            "ValidationError: You must use a valid fully-formed launch template. Value \
             (brood-x-worker) for parameter iamInstanceProfile.name is invalid. Invalid IAM \
             Instance Profile name",
            "InvalidParameterValue: Invalid IAM Instance Profile ARN: arn:aws:iam::1:instance-profile/brood/x",
        ] {
            assert!(is_fresh_profile_error(fresh), "{fresh}");
        }
        for other in [
            "InvalidParameterValue: Invalid value 'x9.huge' for InstanceType.",
            "ValidationError: Max bound, 0, must be greater than or equal to min bound, 1",
            "ValidationError: AutoScalingGroup name not found",
            "UnauthorizedOperation: You are not authorized to use iamInstanceProfile",
            "AccessDenied: not authorized to perform iam:PassRole on the IAM instance profile",
            "InvalidParameterValue",
            "",
        ] {
            assert!(!is_fresh_profile_error(other), "{other}");
        }
    }

    fn failure(message: &str, transient: bool) -> FleetError {
        FleetError::Aws {
            operation: "CreateAutoScalingGroup",
            region: "eu-west-1".into(),
            resource: "brood-x-workers".into(),
            message: message.into(),
            transient,
        }
    }

    #[tokio::test]
    async fn a_fresh_profile_is_retried_and_other_errors_are_not() {
        let calls = Cell::new(0);
        let fresh = "ValidationError: Value (p) for parameter iamInstanceProfile.name is invalid. \
                     Invalid IAM Instance Profile name";
        let out = retry_fresh_profile(|| {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n < 3 {
                    Err(failure(fresh, false))
                } else {
                    Ok(n)
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(out, 3);

        calls.set(0);
        let e = retry_fresh_profile(|| {
            calls.set(calls.get() + 1);
            async {
                Err::<(), _>(failure(
                    "ValidationError: Max bound, 0, must be greater",
                    false,
                ))
            }
        })
        .await
        .unwrap_err();
        assert_eq!(calls.get(), 1, "{e}");
    }
}
