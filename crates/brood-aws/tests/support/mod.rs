//! What every test against the AWS-compatible server needs: the endpoint (a clear failure when
//! `scripts/test.sh` did not start one), a fresh account per test so tests run side by side,
//! a deployment and its bucket.

#![allow(dead_code)]

use brood_aws::{assume_role, sdk_config, Deployment, S3Store, SdkConfig};
use rand::Rng as _;

pub const HOME: &str = "us-east-1";

/// The server's endpoint; fails the test (never skips it) when there is none.
pub fn endpoint() -> String {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if url.starts_with("http://127.0.0.1:") => url,
        Ok(url) => panic!(
            "AWS_ENDPOINT_URL is {url:?}: these tests only run against the AWS-compatible server \
             on 127.0.0.1 that scripts/test.sh starts (source scripts/moto.sh), never real AWS"
        ),
        Err(_) => panic!(
            "AWS_ENDPOINT_URL is not set: these tests need the AWS-compatible server (moto) that \
             scripts/test.sh starts; run ./scripts/test.sh, or `source scripts/moto.sh` before \
             cargo test"
        ),
    }
}

/// A random 12-digit account, so each test has the server's state to itself.
pub fn fresh_account() -> String {
    format!(
        "{:012}",
        rand::rng().random_range(100_000_000_000u64..1_000_000_000_000)
    )
}

/// The home region's configuration acting in a fresh account (STS AssumeRole into
/// `arn:aws:iam::<account>:role/x`, which the server honours for any account).
pub async fn account_config() -> (SdkConfig, String) {
    endpoint();
    let base = sdk_config(HOME, None).await;
    let account = fresh_account();
    let config = assume_role(
        &base,
        &format!("arn:aws:iam::{account}:role/x"),
        "brood-test",
    )
    .await
    .expect("assume a role in a fresh account");
    (config, account)
}

pub fn deployment(account: &str) -> Deployment {
    Deployment {
        name: "test".into(),
        home_region: HOME.into(),
        account: account.into(),
    }
}

/// The deployment's bucket, created in the home region, as a store.
pub async fn bucket(config: &SdkConfig, deployment: &Deployment) -> S3Store {
    let store = S3Store::new(config, &deployment.default_bucket());
    store
        .client()
        .create_bucket()
        .bucket(store.bucket())
        .send()
        .await
        .expect("create the test bucket");
    store
}
