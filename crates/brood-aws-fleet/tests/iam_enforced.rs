//! The workers' policy as IAM evaluates it: an AWS-compatible server of its own that enforces
//! IAM (moto with `INITIAL_NO_AUTH_ACTION_COUNT`), an IAM user holding exactly the policy
//! `worker_policy` generates, and what that user may and may not do.
//!
//! moto refuses role sessions even for what a role's policy allows, so the worker's permissions
//! are tested as a user's with the same document. The server is started here, from the moto
//! that `scripts/moto.sh` installs (it exports `BROOD_MOTO_SERVER`); without it the test fails.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_sqs::config::{Credentials, SharedCredentialsProvider};
use brood_aws::{Deployment, S3Store, SqsTransport};
use brood_aws_fleet::policy::{check_least_privilege, worker_policy, PolicyScope};
use brood_cluster::{ArtifactStore, QueueName, Transport};

const HOME: &str = "us-east-1";
const OTHER_REGION: &str = "eu-west-1";
/// moto's account for users created without credentials.
const ACCOUNT: &str = "123456789012";

/// A moto server enforcing IAM after its first `free` requests; stopped on drop.
struct Enforcing {
    child: Child,
    url: String,
}

impl Drop for Enforcing {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_enforcing(free: u32) -> Enforcing {
    let server = std::env::var("BROOD_MOTO_SERVER").unwrap_or_default();
    assert!(
        !server.is_empty() && std::path::Path::new(&server).exists(),
        "this test starts its own IAM-enforcing moto server from the one scripts/moto.sh \
         installs: run it after `source scripts/moto.sh`, which exports BROOD_MOTO_SERVER \
         (got {server:?})"
    );
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let log = std::env::temp_dir().join(format!("brood-moto-iam-{port}.log"));
    let child = Command::new(&server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("INITIAL_NO_AUTH_ACTION_COUNT", free.to_string())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("starting moto_server");
    let server = Enforcing {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the IAM-enforcing moto server did not listen within 20 s; see {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// The standard configuration pointed at `url` with the given static keys.
async fn config(url: &str, key: &str, secret: &str) -> SdkConfig {
    brood_aws::sdk_config(HOME, None)
        .await
        .to_builder()
        .endpoint_url(url)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            key, secret, None, None, "test",
        )))
        .build()
}

/// A user with one inline policy, and its access key.
async fn user(iam: &aws_sdk_iam::Client, name: &str, policy: &str) -> (String, String) {
    iam.create_user().user_name(name).send().await.unwrap();
    iam.put_user_policy()
        .user_name(name)
        .policy_name(name)
        .policy_document(policy)
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    (
        key.access_key_id().to_string(),
        key.secret_access_key().to_string(),
    )
}

fn denied<T, E: std::fmt::Debug>(what: &str, result: Result<T, E>) {
    match result {
        Ok(_) => panic!("{what}: allowed, but the worker's policy must refuse it"),
        Err(e) => {
            let text = format!("{e:?}");
            assert!(
                text.contains("AccessDenied") || text.contains("403"),
                "{what}: refused, but not for lack of permission: {text}"
            );
        }
    }
}

fn allowed<T, E: std::fmt::Debug>(what: &str, result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{what}: the worker's policy must allow it: {e:?}"))
}

#[tokio::test]
async fn the_worker_policy_allows_what_workers_do_and_refuses_the_rest() {
    // Three free requests create the administrator; every later one is checked.
    let server = start_enforcing(3);
    // Every client of this test goes to that server: the SDK would prefer the environment's
    // endpoint (the shared, permissive server) over the configuration's. This test binary has
    // one test, so nothing else reads the environment meanwhile.
    std::env::remove_var("AWS_ENDPOINT_URL");
    let anonymous = config(&server.url, "AKIAFREEFORTHREECALLS", "x").await;
    let iam = aws_sdk_iam::Client::new(&anonymous);
    let admin_policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    })
    .to_string();
    let (key, secret) = user(&iam, "admin", &admin_policy).await;
    let admin = config(&server.url, &key, &secret).await;
    // The free requests are used up: a key moto does not know is refused.
    let stranger = aws_sdk_sqs::Client::new(&anonymous);
    denied(
        "ListQueues with an unknown key",
        stranger.list_queues().send().await,
    );

    // What setup and a controller would have made: two deployments whose names are each
    // other's prefix, `team` and `team-ctl`, and runs r1 (the worker's) and r2 (another).
    let team = Deployment {
        name: "team".into(),
        home_region: HOME.into(),
        account: ACCOUNT.into(),
    };
    let other = Deployment {
        name: "team-ctl".into(),
        ..team.clone()
    };
    let bucket = team.default_bucket();
    let admin_s3 = brood_aws::s3_client(&admin);
    admin_s3
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    admin_s3
        .put_object()
        .bucket(&bucket)
        .key("runs/r2/us-east-1/w9/stats.csv")
        .body(b"another worker's results".to_vec().into())
        .send()
        .await
        .unwrap();
    let admin_store = S3Store::new(&admin, &bucket);
    let admin_team = SqsTransport::new(&admin, team.clone(), admin_store.clone());
    let admin_other = SqsTransport::new(&admin, other.clone(), admin_store.clone());
    let jobs_home = QueueName(format!("jobs-{HOME}"));
    let jobs_away = QueueName(format!("jobs-{OTHER_REGION}"));
    let controller = QueueName("controller-r1".into());
    let control = QueueName("ctl-r1-w1".into());
    for q in [&jobs_home, &jobs_away, &controller, &control] {
        admin_team.ensure_queue(q).await.unwrap();
        admin_other.ensure_queue(q).await.unwrap();
    }
    admin_team
        .ensure_queue(&QueueName("controller-r2".into()))
        .await
        .unwrap();
    for t in [&admin_team, &admin_other] {
        t.send(&jobs_home, b"a signed job").await.unwrap();
        t.send(&control, b"a signed start").await.unwrap();
    }
    // A body too large for SQS goes to spill/ in the bucket, behind a pointer message.
    let large = vec![7u8; brood_aws::MAX_MESSAGE_BYTES];
    admin_team.send(&control, &large).await.unwrap();
    admin_team
        .send(&QueueName("controller-r2".into()), b"another run's ready")
        .await
        .unwrap();

    // The worker: a user holding exactly the generated policy.
    let scope = PolicyScope {
        deployment: team.clone(),
        partition: "aws".into(),
        bucket: bucket.clone(),
        regions: vec![HOME.into(), OTHER_REGION.into()],
        groups: vec![format!(
            "arn:aws:autoscaling:{HOME}:{ACCOUNT}:autoScalingGroup:0f1e2d3c-aaaa-bbbb-cccc-111122223333:autoScalingGroupName/{}",
            team.group()
        )],
    };
    let policy = worker_policy(&scope);
    check_least_privilege(&policy, &scope).unwrap();
    let (key, secret) = user(
        &aws_sdk_iam::Client::new(&admin),
        "worker",
        &policy.to_string(),
    )
    .await;
    let worker = config(&server.url, &key, &secret).await;
    let store = S3Store::new(&worker, &bucket);
    let sqs_in = |config: &SdkConfig, region: &str| {
        aws_sdk_sqs::Client::new(&brood_aws::for_region(config, region))
    };
    // Queue URLs as the administrator finds them. (moto authorises GetQueueUrl and CreateQueue
    // against `*`, not the queue's ARN, so the worker's calls below name queues by URL, as the
    // transport does once it has looked a URL up; the grant of GetQueueUrl on exactly the
    // queues above is what AWS evaluates.)
    let url = |region: &'static str, name: String| {
        let admin = sqs_in(&admin, region);
        async move {
            admin
                .get_queue_url()
                .queue_name(brood_aws::sqs_name(&name))
                .send()
                .await
                .unwrap()
                .queue_url()
                .unwrap()
                .to_string()
        }
    };
    let sqs = sqs_in(&worker, HOME);
    let sqs_away = sqs_in(&worker, OTHER_REGION);

    // Allowed: what `brood worker` does.
    let jobs_url = url(HOME, team.jobs_queue()).await;
    let jobs = allowed(
        "receive from the region's jobs queue",
        sqs.receive_message()
            .queue_url(&jobs_url)
            .visibility_timeout(60)
            .send()
            .await,
    );
    let job = jobs.messages()[0].receipt_handle().unwrap().to_string();
    allowed(
        "extend a job's visibility",
        sqs.change_message_visibility()
            .queue_url(&jobs_url)
            .receipt_handle(&job)
            .visibility_timeout(60)
            .send()
            .await,
    );
    allowed(
        "receive from another region's jobs queue of the deployment",
        sqs_away
            .receive_message()
            .queue_url(url(OTHER_REGION, team.jobs_queue()).await)
            .send()
            .await,
    );
    let controller_url = url(HOME, team.run_queue("controller-r1")).await;
    allowed(
        "send to its run's controller queue",
        sqs.send_message()
            .queue_url(&controller_url)
            .message_body("ready")
            .send()
            .await,
    );
    let control_url = url(HOME, team.run_queue("ctl-r1-w1")).await;
    let controls = allowed(
        "receive from its control queue",
        sqs.receive_message()
            .queue_url(&control_url)
            .max_number_of_messages(10)
            .send()
            .await,
    );
    assert!(!controls.messages().is_empty());
    for m in controls.messages() {
        allowed(
            "acknowledge a control message",
            sqs.delete_message()
                .queue_url(&control_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await,
        );
    }
    allowed(
        "store its results under runs/",
        store.put("runs/r1/us-east-1/w1/stats.csv", b"x").await,
    );
    allowed(
        "acknowledge the job",
        sqs.delete_message()
            .queue_url(&jobs_url)
            .receipt_handle(&job)
            .send()
            .await,
    );
    // Bodies too large for SQS live under spill/: written, read, listed, deleted.
    let spilled = "spill/0123456789abcdef0123456789abcdef";
    allowed("write a large body", store.put(spilled, &large).await);
    assert_eq!(
        allowed("read a large body", store.get(spilled).await).as_deref(),
        Some(&large[..])
    );
    let s3 = brood_aws::s3_client(&worker);
    allowed(
        "list spill/ (so that a missing body is a 404, not a 403)",
        s3.list_objects_v2()
            .bucket(&bucket)
            .prefix("spill/")
            .send()
            .await,
    );
    allowed("delete a large body", store.delete(spilled).await);
    assert_eq!(
        allowed(
            "read a large body that is gone",
            store.get("spill/00000000000000000000000000000000").await,
        ),
        None
    );

    // Refused: everything else.
    let controller_r2 = url(HOME, team.run_queue("controller-r2")).await;
    denied(
        "delete its own run's controller queue",
        sqs.delete_queue().queue_url(&controller_url).send().await,
    );
    denied(
        "delete another run's controller queue",
        sqs.delete_queue().queue_url(&controller_r2).send().await,
    );
    denied(
        "read another run's controller queue",
        sqs.receive_message().queue_url(&controller_r2).send().await,
    );
    denied(
        "read (drain) its own run's controller queue",
        sqs.receive_message()
            .queue_url(&controller_url)
            .send()
            .await,
    );
    denied(
        "purge its run's controller queue",
        sqs.purge_queue().queue_url(&controller_url).send().await,
    );
    denied(
        "delete a control queue (the controller does)",
        sqs.delete_queue().queue_url(&control_url).send().await,
    );
    denied(
        "send to a control queue",
        sqs.send_message()
            .queue_url(&control_url)
            .message_body("forged")
            .send()
            .await,
    );
    denied(
        "send to the jobs queue",
        sqs.send_message()
            .queue_url(&jobs_url)
            .message_body("forged")
            .send()
            .await,
    );
    denied(
        "change a queue's attributes",
        sqs.set_queue_attributes()
            .queue_url(&jobs_url)
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                "0",
            )
            .send()
            .await,
    );
    denied(
        "create a control queue (the controller does)",
        sqs.create_queue()
            .queue_name(team.run_queue("ctl-r1-w2"))
            .send()
            .await,
    );
    denied("list queues", sqs.list_queues().send().await);
    // Another deployment (`team-ctl`, whose names begin with `team-ctl`): nothing at all.
    denied(
        "receive another deployment's jobs",
        sqs.receive_message()
            .queue_url(url(HOME, other.jobs_queue()).await)
            .send()
            .await,
    );
    denied(
        "send to another deployment's controller queue",
        sqs.send_message()
            .queue_url(url(HOME, other.run_queue("controller-r1")).await)
            .message_body("ready")
            .send()
            .await,
    );
    denied(
        "read another deployment's control queue",
        sqs.receive_message()
            .queue_url(url(HOME, other.run_queue("ctl-r1-w1")).await)
            .send()
            .await,
    );
    denied(
        "delete another deployment's controller queue",
        sqs.delete_queue()
            .queue_url(url(HOME, other.run_queue("controller-r1")).await)
            .send()
            .await,
    );
    // Results are the controller's to read.
    denied(
        "read results under runs/",
        s3.get_object()
            .bucket(&bucket)
            .key("runs/r2/us-east-1/w9/stats.csv")
            .send()
            .await,
    );
    // (Listing runs/ is refused by the grant's `s3:prefix` condition, which moto does not
    // evaluate: it ignores `StringLike` conditions. The policy's unit tests check that grant.)
    denied(
        "delete results under runs/",
        s3.delete_object()
            .bucket(&bucket)
            .key("runs/r2/us-east-1/w9/stats.csv")
            .send()
            .await,
    );
    denied(
        "overwrite the deployment's settings",
        s3.put_object()
            .bucket(&bucket)
            .key(Deployment::CONFIG_KEY)
            .body(b"{}".to_vec().into())
            .send()
            .await,
    );
}
