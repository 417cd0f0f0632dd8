//! The transport and store conformance suites, run against SQS and S3 on the AWS-compatible
//! server, each in an account of its own.

mod support;

use brood_aws::{account_id, SqsTransport};
use brood_cluster::conformance::{store_suite, transport_suite};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqs_transport_passes_the_transport_suite() {
    let (config, account) = support::account_config().await;
    assert_eq!(account_id(&config).await.expect("account id"), account);
    let deployment = support::deployment(&account);
    let store = support::bucket(&config, &deployment).await;
    let transport = SqsTransport::new(&config, deployment, store);
    transport_suite(&transport, "suite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_store_passes_the_store_suite() {
    let (config, account) = support::account_config().await;
    let store = support::bucket(&config, &support::deployment(&account)).await;
    store_suite(&store, "suite").await;
}
