//! `brood worker --backend aws` as a process, against SQS and S3 on the AWS-compatible server
//! that `scripts/test.sh` starts, with exactly the flags a fleet's user data gives it. The test
//! plays the controller: it signs the job, answers Ready with Start, and reads the snapshots,
//! the Done and the stored results. Each test uses a deployment of its own.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use brood_aws::{account_id, sdk_config, Deployment, S3Store, SdkConfig, SqsTransport};
use brood_cluster::{ArtifactStore, QueueName, Transport};
use brood_protocol::{
    decode, encode, generate_signing_key, new_nonce, plan_hash, public_key_to_hex, Job, Message,
    Region, RunId, SigningKey, Start,
};
use brood_stats::Snapshot;
use brood_target::{Target, TargetConfig};

const HOME: &str = "us-east-1";
const REGION: &str = "eu-west-1";

fn endpoint() {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if url.starts_with("http://127.0.0.1:") => {}
        other => panic!(
            "AWS_ENDPOINT_URL is {other:?}: these tests need the AWS-compatible server on \
             127.0.0.1 that scripts/test.sh starts (source scripts/moto.sh before cargo test)"
        ),
    }
}

/// A deployment of its own (in the server's default account), its bucket and its queues.
async fn deployment(name: &str) -> (SdkConfig, SqsTransport, S3Store) {
    endpoint();
    let config = sdk_config(HOME, None).await;
    let suffix: u32 = rand::random();
    let deployment = Deployment {
        name: format!("{name}-{suffix:08x}"),
        home_region: HOME.into(),
        account: account_id(&config).await.expect("account id"),
    };
    let store = S3Store::new(&config, &deployment.default_bucket());
    store
        .client()
        .create_bucket()
        .bucket(store.bucket())
        .send()
        .await
        .expect("create the bucket");
    let transport = SqsTransport::new(&config, deployment, store.clone());
    (config, transport, store)
}

fn job(run: &str, url: &str, run_time: Duration) -> Job {
    let options = brood_plan::LoadOptions {
        users: Some(2),
        spawn_rate: Some(100.0),
        run_time: Some(run_time),
        ..brood_plan::LoadOptions::default()
    };
    let plan = brood_plan::compile(&brood_plan::Scenario::quick(url).unwrap(), &options).unwrap();
    let now = brood_engine::unix_ms_now();
    Job {
        run_id: RunId::new(run).unwrap(),
        region: Region::new(REGION).unwrap(),
        slot: 0,
        workers_in_region: 1,
        segment: brood_plan::Segment::WHOLE,
        plan_hash: plan_hash(&plan),
        plan: Some(plan),
        controller_queue: format!("controller-{run}"),
        issued_ms: now,
        expires_ms: now + 60_000,
        nonce: new_nonce().unwrap(),
        barrier_timeout_ms: 10_000,
        heartbeat_ms: 1000,
    }
}

/// The worker as the user data starts it.
fn worker(deployment: &str, bucket: &str, key: &SigningKey, run: &str) -> Command {
    let spool = std::env::temp_dir().join(format!("brood-spool-{deployment}"));
    let mut c = Command::new(env!("CARGO_BIN_EXE_brood"));
    c.args(["worker", "--backend", "aws", "--deployment", deployment])
        .args(["--home-region", HOME, "--region", REGION])
        .args(["--bucket", bucket, "--queue", &format!("jobs-{REGION}")])
        .args(["--controller-queue", &format!("controller-{run}")])
        .args(["--controller-key", &public_key_to_hex(&key.verifying_key())])
        .args(["--idle-exit", "4s"])
        .arg("--spool")
        .arg(spool);
    c
}

#[test]
fn an_aws_worker_runs_a_signed_job_and_stores_its_results_in_the_bucket() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let target = Target::start(TargetConfig::default()).unwrap();
    let key = generate_signing_key().unwrap();
    let run = "aws-run-1";
    let (_, transport, store) = runtime.block_on(deployment("w"));
    let jobs = QueueName(format!("jobs-{REGION}"));
    let controller = QueueName(format!("controller-{run}"));
    runtime.block_on(async {
        for q in [&jobs, &controller] {
            transport.ensure_queue(q).await.unwrap();
        }
        let job = job(run, &target.url("/delay/5"), Duration::from_secs(2));
        let bytes = encode(&Message::Job(Box::new(job)), Some(&key)).unwrap();
        transport.send(&jobs, &bytes).await.unwrap();
    });
    let name = transport.deployment().name.clone();
    let child = worker(&name, store.bucket(), &key, run)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    // The controller's side: Ready → Start, then snapshots until Done.
    let (worker_id, streamed, prefix) = runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut worker_id = None;
        let mut streamed = 0u64;
        loop {
            assert!(Instant::now() < deadline, "no Done within 60 s");
            let got = transport
                .receive(
                    &controller,
                    10,
                    Duration::from_secs(1),
                    Duration::from_secs(30),
                )
                .await
                .unwrap();
            for d in got {
                transport.ack(&controller, &d.receipt).await.unwrap();
                match decode(&d.body).unwrap().into_message() {
                    Message::Ready(r) => {
                        assert_eq!(r.region.as_str(), REGION);
                        let now = brood_engine::unix_ms_now();
                        let start = Message::Start(Start {
                            run_id: RunId::new(run).unwrap(),
                            at_unix_ms: now + 500,
                            workers: 1,
                            issued_ms: now,
                            expires_ms: now + 60_000,
                            nonce: new_nonce().unwrap(),
                        });
                        // As the controller does: it creates each worker's control queue.
                        let ctl = QueueName(format!("ctl-{run}-{}", r.worker_id));
                        transport.ensure_queue(&ctl).await.unwrap();
                        let bytes = encode(&start, Some(&key)).unwrap();
                        transport.send(&ctl, &bytes).await.unwrap();
                        worker_id = Some(r.worker_id.to_string());
                    }
                    Message::Snapshot(s) => streamed += s.stats.aggregated().requests,
                    Message::Done(done) => {
                        return (
                            worker_id.expect("Ready before Done"),
                            streamed,
                            done.artifacts_prefix,
                        )
                    }
                    _ => {}
                }
            }
        }
    });
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(worker_id.starts_with(&format!("{REGION}-")), "{worker_id}");
    assert_eq!(prefix, format!("runs/{run}/{REGION}/{worker_id}"));
    runtime.block_on(async {
        let keys = store.list(&format!("{prefix}/")).await.unwrap();
        for file in [
            "stats.csv",
            "stats_history.csv",
            "failures.csv",
            "snapshot.bin",
        ] {
            assert!(
                keys.contains(&format!("{prefix}/{file}")),
                "{file} in {keys:?}"
            );
        }
        let stored = store
            .get(&format!("{prefix}/snapshot.bin"))
            .await
            .unwrap()
            .unwrap();
        let stored = Snapshot::decode(&stored).unwrap().aggregated().requests;
        assert!(stored > 0, "the worker sent requests");
        assert_eq!(
            stored, streamed,
            "the stored results hold what was streamed"
        );
        // The job was acknowledged once the results were stored.
        let left = transport
            .receive(&jobs, 10, Duration::ZERO, Duration::from_secs(1))
            .await
            .unwrap();
        assert!(left.is_empty(), "the job is gone from its queue");
    });
}

#[test]
fn an_aws_worker_leaves_a_job_signed_by_another_controller_in_its_queue() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ours = generate_signing_key().unwrap();
    let theirs = generate_signing_key().unwrap();
    let run = "aws-run-forged";
    let (_, transport, store) = runtime.block_on(deployment("f"));
    let jobs = QueueName(format!("jobs-{REGION}"));
    let controller = QueueName(format!("controller-{run}"));
    let forged_bytes = runtime.block_on(async {
        for q in [&jobs, &controller] {
            transport.ensure_queue(q).await.unwrap();
        }
        let job = job(run, "http://127.0.0.1:9/", Duration::from_secs(1));
        let forged = encode(&Message::Job(Box::new(job)), Some(&theirs)).unwrap();
        transport.send(&jobs, &forged).await.unwrap();
        forged
    });
    let name = transport.deployment().name.clone();
    let output: Output = worker(&name, store.bucket(), &ours, run).output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert_eq!(err.matches("rejected a job").count(), 1, "{err}");
    assert!(err.contains("left in"), "{err}");
    // The job is not this worker's to delete: it is back in its queue for its own controller's
    // workers, unchanged.
    let back = runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = transport
                .receive(&jobs, 10, Duration::from_secs(2), Duration::from_secs(30))
                .await
                .unwrap();
            if !got.is_empty() || Instant::now() > deadline {
                return got;
            }
        }
    });
    assert_eq!(back.len(), 1, "the foreign job is still in {}", jobs.0);
    assert_eq!(back[0].body, forged_bytes);
    assert!(back[0].receive_count >= 2, "{}", back[0].receive_count);
    let left = runtime.block_on(async {
        transport
            .receive(
                &controller,
                10,
                Duration::from_secs(1),
                Duration::from_secs(1),
            )
            .await
            .unwrap()
    });
    assert!(
        left.is_empty(),
        "nothing ran: no Ready reached the controller"
    );
}

#[test]
fn aws_worker_flags_are_checked() {
    endpoint();
    let key = public_key_to_hex(&generate_signing_key().unwrap().verifying_key());
    let cases: [(&[&str], &str); 4] = [
        (
            &["--region", REGION, "--queue", "jobs-us-east-1"],
            "--queue",
        ),
        (
            &["--region", "EU WEST", "--queue", "jobs-EU WEST"],
            "--region",
        ),
        (
            &[
                "--region",
                REGION,
                "--queue",
                "jobs-eu-west-1",
                "--home-region",
                "x_y",
            ],
            "--home-region",
        ),
        (
            &[
                "--region",
                REGION,
                "--queue",
                "jobs-eu-west-1",
                "--deployment",
                "Team A",
            ],
            "--deployment",
        ),
    ];
    for (flags, named) in cases {
        let o = Command::new(env!("CARGO_BIN_EXE_brood"))
            .args([
                "worker",
                "--backend",
                "aws",
                "--controller-queue",
                "controller-x",
            ])
            .args(["--controller-key", &key])
            .args(flags)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_ne!(o.status.code(), Some(0), "{flags:?}: {err}");
        assert!(err.contains(named), "{flags:?} should name {named}: {err}");
    }
    let o = Command::new(env!("CARGO_BIN_EXE_brood"))
        .args([
            "worker",
            "--backend",
            "local",
            "--region",
            "a",
            "--queue",
            "jobs-a",
        ])
        .args(["--controller-queue", "c", "--controller-key", &key])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--dir"), "{err}");
}
