//! Loading the SDK's configuration on the standard credential chain, and the clients built from
//! it.
//!
//! Credentials come only from the standard chain: `--profile` (SSO, `credential_process`, static
//! keys), the environment, web identity, ECS and the EC2 instance profile. Nothing here accepts a
//! key as an argument, so none can end up in a flag, a log or user data. `AWS_ENDPOINT_URL` is
//! honoured by the loader itself; when it is set, S3 uses path-style addressing, because an
//! endpoint such as `http://127.0.0.1:5000` has no per-bucket host names.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

use crate::AwsError;

/// Attempts per call, the first included, for errors the SDK's standard retry mode considers
/// transient (throttling, 5xx, timeouts, dropped connections); with exponential backoff and
/// jitter between them.
pub const MAX_ATTEMPTS: u32 = 4;

/// A call attempt that takes longer than this fails as a (transient) timeout. Longer than
/// SQS's longest poll (20 s), so a long poll never times out.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(45);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The SDK configuration for `region` on the standard credential chain, with `profile` if given.
///
/// Credentials are resolved lazily, on the first call that needs them: a missing credential
/// shows up as an error of that call (see [`account_id`] to check early).
pub async fn sdk_config(region: &str, profile: Option<&str>) -> SdkConfig {
    loader(profile)
        .region(Region::new(region.to_string()))
        .load()
        .await
}

/// The region the standard configuration names (`AWS_REGION`, `AWS_DEFAULT_REGION`, the
/// profile's `region`), e.g. for a deployment's home region when the user gave none.
pub async fn configured_region(profile: Option<&str>) -> Result<String, AwsError> {
    let config = loader(profile).load().await;
    config
        .region()
        .map(|r| r.to_string())
        .ok_or(AwsError::NoRegion)
}

fn loader(profile: Option<&str>) -> aws_config::ConfigLoader {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        );
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    loader
}

/// The same configuration (credentials, endpoint, retries) aimed at another region.
pub fn for_region(config: &SdkConfig, region: &str) -> SdkConfig {
    config
        .to_builder()
        .region(Region::new(region.to_string()))
        .build()
}

/// Checks a region name's shape (`us-east-1`, `eu-central-2`, `us-gov-west-1`): three or more
/// parts of lowercase letters and digits joined by `-`, the last a number. The one rule for AWS
/// region names in brood; whether AWS knows the region shows on the first call there.
pub fn check_region(region: &str) -> Result<(), AwsError> {
    let problem = if region.is_empty() {
        Some("it is empty")
    } else if region.len() > 32 {
        Some("it is longer than 32 characters")
    } else if !region
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Some("only lowercase letters, digits and '-' are allowed")
    } else if region.starts_with('-') || region.ends_with('-') {
        Some("it starts or ends with '-'")
    } else if region.split('-').count() < 3
        || region.split('-').any(str::is_empty)
        || !region
            .rsplit('-')
            .next()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        Some("an AWS region name has three or more parts, the last a number, e.g. eu-west-1")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(AwsError::InvalidRegion {
            region: region.chars().take(40).collect(),
            problem,
        }),
        None => Ok(()),
    }
}

/// Checks a deployment's name: 1 to 32 of lowercase letters, digits and `-`, since it goes
/// into bucket, queue, role and group names.
pub fn check_deployment_name(name: &str) -> Result<(), AwsError> {
    let problem = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 32 {
        Some("it is longer than 32 characters")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Some("only lowercase letters, digits and '-' are allowed")
    } else if name.starts_with('-') || name.ends_with('-') {
        Some("it starts or ends with '-'")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(AwsError::InvalidDeployment {
            name: name.chars().take(40).collect(),
            problem,
        }),
        None => Ok(()),
    }
}

/// An SQS client in the configuration's region.
pub fn sqs_client(config: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(config)
}

/// An S3 client in the configuration's region; path-style when the endpoint is overridden.
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(config.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(s3)
}

/// Who the configuration's credentials are: STS `GetCallerIdentity`, which needs no permission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The 12-digit account the credentials act in.
    pub account: String,
    /// The partition of the caller's ARN: `aws`, `aws-cn`, `aws-us-gov`, ...; every ARN brood
    /// writes into a policy starts `arn:<partition>:`.
    pub partition: String,
    /// The caller's own ARN, e.g. `arn:aws:iam::123456789012:user/ci`.
    pub arn: String,
}

/// The partition of an ARN (`arn:<partition>:...`), if it is one.
pub fn partition_of(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(p), Some(_)) if !p.is_empty() => Some(p),
        _ => None,
    }
}

/// Who the configuration's credentials are (account, partition, ARN). Also the earliest check
/// that credentials exist at all.
pub async fn caller(config: &SdkConfig) -> Result<Caller, AwsError> {
    let region = region_of(config);
    let sts = aws_sdk_sts::Client::new(config);
    let identity = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::Sts {
            operation: "GetCallerIdentity",
            region: region.clone(),
            message: crate::failure::describe(&e),
        })?;
    let missing = |what: &str| AwsError::Sts {
        operation: "GetCallerIdentity",
        region: region.clone(),
        message: format!("the answer names no {what}"),
    };
    let account = identity.account().ok_or_else(|| missing("account"))?;
    let arn = identity.arn().ok_or_else(|| missing("ARN"))?;
    let partition = partition_of(arn).ok_or_else(|| missing("partition in its ARN"))?;
    Ok(Caller {
        account: account.to_string(),
        partition: partition.to_string(),
        arn: arn.to_string(),
    })
}

/// The 12-digit account the configuration's credentials act in (STS `GetCallerIdentity`).
/// Also the earliest check that credentials exist at all.
pub async fn account_id(config: &SdkConfig) -> Result<String, AwsError> {
    Ok(caller(config).await?.account)
}

/// The configuration with temporary credentials of `role_arn` (STS `AssumeRole`), e.g. to act
/// in another account. The session lasts an hour and is not refreshed.
pub async fn assume_role(
    config: &SdkConfig,
    role_arn: &str,
    session_name: &str,
) -> Result<SdkConfig, AwsError> {
    let region = region_of(config);
    let failed = |message: String| AwsError::Sts {
        operation: "AssumeRole",
        region: region.clone(),
        message,
    };
    let answer = aws_sdk_sts::Client::new(config)
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(session_name)
        .send()
        .await
        .map_err(|e| failed(format!("{role_arn}: {}", crate::failure::describe(&e))))?;
    let c = answer
        .credentials()
        .ok_or_else(|| failed(format!("{role_arn}: the answer holds no credentials")))?;
    let credentials = aws_sdk_sts::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        std::time::SystemTime::try_from(*c.expiration()).ok(),
        "brood-assume-role",
    );
    Ok(config
        .to_builder()
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            credentials,
        ))
        .build())
}

pub(crate) fn region_of(config: &SdkConfig) -> String {
    config
        .region()
        .map_or_else(|| "(no region)".to_string(), |r| r.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partition_comes_from_the_arn() {
        assert_eq!(
            partition_of("arn:aws:iam::123456789012:user/ci"),
            Some("aws")
        );
        assert_eq!(
            partition_of("arn:aws-cn:sts::123456789012:assumed-role/r/s"),
            Some("aws-cn")
        );
        assert_eq!(
            partition_of("arn:aws-us-gov:iam::123456789012:root"),
            Some("aws-us-gov")
        );
        for bad in ["", "arn", "arn::iam", "urn:aws:iam::1:root"] {
            assert_eq!(partition_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn region_names_are_checked() {
        for good in ["us-east-1", "eu-central-2", "us-gov-west-1", "ap-south-1"] {
            assert!(check_region(good).is_ok(), "{good}");
        }
        for bad in ["local-a", "useast1", "us-east", "us-east-x", "us--1"] {
            assert!(check_region(bad).is_err(), "{bad:?}");
        }
        for bad in [
            "",
            "US-EAST-1",
            "us east 1",
            "-us",
            "us-",
            "a/b",
            &"x".repeat(33),
        ] {
            assert!(check_region(bad).is_err(), "{bad:?}");
            assert!(check_deployment_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_deployment_name("team-a").is_ok());
    }
}
