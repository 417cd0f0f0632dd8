//! SqsTransport beyond the conformance suite: where queues land, their tags, large bodies
//! spilled to the bucket, messages brood did not write, and errors that name the region and
//! the queue. Against the AWS-compatible server, each test in an account of its own.

mod support;

use std::time::Duration;

use brood_aws::{
    for_region, sdk_config, sqs_client, S3Store, SqsTransport, MAX_MESSAGE_BYTES, SPILL_PREFIX,
    TAG_DEPLOYMENT, TAG_MANAGED_BY,
};
use brood_cluster::{ArtifactStore, QueueName, Transport};
use rand::RngCore as _;

/// A service configuration with nothing in it.
#[derive(Debug)]
struct NoServiceConfig;

impl aws_types::service_config::LoadServiceConfig for NoServiceConfig {
    fn load_config(&self, _: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        None
    }
}

const LONG: Duration = Duration::from_secs(60);

fn queue(name: &str) -> QueueName {
    QueueName(name.to_string())
}

async fn transport() -> (SqsTransport, S3Store, brood_aws::SdkConfig) {
    let (config, account) = support::account_config().await;
    let deployment = support::deployment(&account);
    let store = support::bucket(&config, &deployment).await;
    (
        SqsTransport::new(&config, deployment, store.clone()),
        store,
        config,
    )
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_too_large_for_one_message_round_trips_through_the_bucket() {
    let (t, store, _) = transport().await;
    let q = queue("controller-big");
    t.ensure_queue(&q).await.expect("ensure_queue");
    // 300 KiB of binary is 400 KiB of base64: far over SQS's 256 KiB.
    let big = random_bytes(300 * 1024);
    t.send(&q, &big).await.expect("send a large body");
    let spilled = store.list(SPILL_PREFIX).await.expect("list spills");
    assert_eq!(spilled.len(), 1, "the body went to the bucket: {spilled:?}");

    let got = t
        .receive(&q, 10, Duration::from_secs(2), LONG)
        .await
        .expect("receive");
    assert_eq!(got.len(), 1, "one delivery");
    assert!(got[0].body == big, "the large body came back byte for byte");
    assert_eq!(got[0].receive_count, 1);
    t.ack(&q, &got[0].receipt).await.expect("ack");
    assert!(
        store.list(SPILL_PREFIX).await.expect("list").is_empty(),
        "ack deletes the spilled body"
    );
    let after = t
        .receive(&q, 10, Duration::from_secs(1), LONG)
        .await
        .expect("receive after ack");
    assert!(after.is_empty(), "the message is gone after ack");
    t.ack(&q, &got[0].receipt)
        .await
        .expect("a second ack is fine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_at_the_limit_stays_in_the_message() {
    let (t, store, _) = transport().await;
    let q = queue("controller-edge");
    t.ensure_queue(&q).await.expect("ensure_queue");
    // Exactly MAX_MESSAGE_BYTES once base64-encoded.
    let edge = random_bytes(MAX_MESSAGE_BYTES / 4 * 3);
    t.send(&q, &edge).await.expect("send a body at the limit");
    assert!(
        store.list(SPILL_PREFIX).await.expect("list").is_empty(),
        "a body that fits is not spilled"
    );
    let got = t
        .receive(&q, 1, Duration::from_secs(2), LONG)
        .await
        .expect("receive");
    assert_eq!(got.len(), 1);
    assert!(got[0].body == edge, "the body at the limit came back");
    t.ack(&q, &got[0].receipt).await.expect("ack");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_spill_whose_body_was_acknowledged_is_dropped() {
    let (t, store, _) = transport().await;
    let q = queue("controller-dup");
    t.ensure_queue(&q).await.expect("ensure_queue");
    t.send(&q, &random_bytes(200 * 1024)).await.expect("send");
    let first = t
        .receive(&q, 1, Duration::from_secs(2), Duration::from_secs(1))
        .await
        .expect("receive");
    assert_eq!(first.len(), 1);
    // Another receiver acknowledged it (deleting the body) while this copy came back.
    let key = store.list(SPILL_PREFIX).await.expect("list").remove(0);
    store.delete(&key).await.expect("delete the spilled body");
    let again = t
        .receive(&q, 1, Duration::from_secs(4), LONG)
        .await
        .expect("receive the redelivery");
    assert!(
        again.is_empty(),
        "a pointer to a deleted body is not delivered"
    );
    let later = t
        .receive(&q, 1, Duration::from_secs(3), LONG)
        .await
        .expect("receive later");
    assert!(
        later.is_empty(),
        "the dangling pointer was removed from the queue"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_brood_did_not_write_arrive_as_their_text() {
    let (t, store, config) = transport().await;
    let q = queue("controller-foreign");
    t.ensure_queue(&q).await.expect("ensure_queue");
    store
        .put("runs/r1/keep.csv", b"results")
        .await
        .expect("put a result");
    let (region, name) = t.sqs_queue(&q).expect("locate");
    let sqs = sqs_client(&for_region(&config, &region));
    let url = sqs
        .get_queue_url()
        .queue_name(&name)
        .send()
        .await
        .expect("queue url")
        .queue_url()
        .expect("a url")
        .to_string();
    for body in ["not base64 at all!", "spill:runs/r1/keep.csv"] {
        sqs.send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .expect("send a foreign message");
        let got = t
            .receive(&q, 1, Duration::from_secs(2), LONG)
            .await
            .expect("receive");
        assert_eq!(got.len(), 1, "{body}");
        assert_eq!(got[0].body, body.as_bytes(), "delivered as its text");
        t.ack(&q, &got[0].receipt).await.expect("ack");
    }
    assert_eq!(
        store.get("runs/r1/keep.csv").await.expect("get"),
        Some(b"results".to_vec()),
        "a forged pointer never deletes anything outside spill/"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_queues_live_in_their_region_and_run_queues_at_home() {
    let (t, _, config) = transport().await;
    let deployment = t.deployment().clone();
    let jobs = queue("jobs-eu-west-1");
    let control = queue("ctl-run-1-w1");
    for q in [&jobs, &control] {
        t.ensure_queue(q).await.expect("ensure_queue");
        t.ensure_queue(q).await.expect("ensure_queue again");
    }
    assert_eq!(
        t.sqs_queue(&jobs).expect("locate"),
        ("eu-west-1".to_string(), deployment.jobs_queue())
    );
    assert_eq!(
        t.sqs_queue(&control).expect("locate"),
        (
            "us-east-1".to_string(),
            deployment.run_queue("ctl-run-1-w1")
        )
    );
    for (region, name, elsewhere) in [
        ("eu-west-1", deployment.jobs_queue(), "us-east-1"),
        (
            "us-east-1",
            deployment.run_queue("ctl-run-1-w1"),
            "eu-west-1",
        ),
    ] {
        let sqs = sqs_client(&for_region(&config, region));
        let url = sqs
            .get_queue_url()
            .queue_name(&name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name} in {region}: {e:?}"))
            .queue_url()
            .expect("a url")
            .to_string();
        let tags = sqs
            .list_queue_tags()
            .queue_url(&url)
            .send()
            .await
            .expect("tags")
            .tags
            .unwrap_or_default();
        assert_eq!(tags.get(TAG_DEPLOYMENT).map(String::as_str), Some("test"));
        assert_eq!(tags.get(TAG_MANAGED_BY).map(String::as_str), Some("brood"));
        let other = sqs_client(&for_region(&config, elsewhere));
        assert!(
            other
                .get_queue_url()
                .queue_name(&name)
                .send()
                .await
                .is_err(),
            "{name} exists only in {region}"
        );
    }
    // A second transport (a worker process) finds what the first created, with no cache.
    let worker = SqsTransport::new(&config, deployment.clone(), S3Store::new(&config, "unused"));
    worker
        .send(&jobs, b"job")
        .await
        .expect("send from another process");
    let got = t
        .receive(&jobs, 1, Duration::from_secs(2), LONG)
        .await
        .expect("receive");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, b"job");
    t.ack(&jobs, &got[0].receipt).await.expect("ack");
    for q in [&jobs, &control] {
        t.delete_queue(q).await.expect("delete");
        t.delete_queue(q).await.expect("delete twice");
    }
    let gone = worker
        .send(&jobs, b"late")
        .await
        .expect_err("a deleted queue");
    assert!(!gone.transient, "{gone}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_queue_and_its_region() {
    let (t, _, _) = transport().await;
    let missing = t
        .send(&queue("jobs-eu-west-2"), b"x")
        .await
        .expect_err("no such queue");
    let text = missing.to_string();
    assert!(
        text.contains("brood-test-jobs") && text.contains("eu-west-2"),
        "{text}"
    );
    assert!(!missing.transient, "a missing queue is not transient");
    let bad = t
        .ensure_queue(&queue("jobs-EU West"))
        .await
        .expect_err("a bad region");
    assert!(bad.to_string().contains("jobs-EU West"), "{bad}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_is_a_transient_error() {
    support::endpoint();
    // A port nothing listens on: every attempt is refused, and the SDK's retries give up.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    // The environment's endpoint (AWS_ENDPOINT_URL, read into the service configuration)
    // would win over the configuration's own; leave it out.
    let mut builder = sdk_config("eu-west-1", None).await.to_builder();
    builder
        .set_service_config(None::<NoServiceConfig>)
        .set_endpoint_url(Some(format!("http://127.0.0.1:{port}")));
    let config = builder.build();
    let deployment = support::deployment("123456789012");
    let t = SqsTransport::new(&config, deployment, S3Store::new(&config, "unused"));
    let error = t
        .ensure_queue(&queue("jobs-eu-west-1"))
        .await
        .expect_err("nothing listens there");
    assert!(error.transient, "{error}");
    let text = error.to_string();
    assert!(
        text.contains("eu-west-1") && text.contains("brood-test-jobs"),
        "{text}"
    );
}
