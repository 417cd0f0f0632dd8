//! The control plane under faults real AWS produces and the test server (moto, started by
//! `scripts/moto.sh`) does not: every call goes through a fault proxy (`brood-fault-proxy`)
//! in front of the server, whose rules answer chosen calls with AWS's own errors. Each test
//! checks what the user gets: the call retried and done, or a stop at once in AWS's words.
//!
//! Each test uses its own deployment and its own proxy.

use std::sync::OnceLock;
use std::time::Duration;

use brood_aws_fleet::{cleanup, setup, AsgFleet, Aws, CleanupOptions, FleetOptions, SetupOptions};
use brood_cluster::{Fleet, FleetRequest, QueueName, WorkerState};
use brood_fault_proxy::{Fault, FaultProxy, Rule};

const REGION: &str = "us-east-1";

/// The test server's URL, read once. The SDK prefers `AWS_ENDPOINT_URL` from the environment
/// to the configuration's endpoint, so it is removed before any client is made: every client
/// of this binary goes to a proxy.
fn moto() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let url = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
        assert!(
            url.starts_with("http://127.0.0.1"),
            "these tests need the AWS-compatible test server: run them after `source \
             scripts/moto.sh`, which starts moto and exports AWS_ENDPOINT_URL (got {url:?})"
        );
        std::env::remove_var("AWS_ENDPOINT_URL");
        url
    })
}

/// A proxy with `rules` in front of the server, and the configuration that goes through it.
async fn through(rules: Vec<Rule>) -> (FaultProxy, Aws) {
    let proxy = FaultProxy::start(moto(), rules).unwrap();
    let aws = Aws::load(None).await.unwrap().with_endpoint(&proxy.url());
    (proxy, aws)
}

fn rule(action: &str, fault: Fault) -> Rule {
    Rule {
        name: None,
        action: action.into(),
        after: Vec::new(),
        within_secs: None,
        same_queue: false,
        times: None,
        fault,
    }
}

fn error(code: &str, message: &str) -> Fault {
    Fault::Error {
        code: code.into(),
        message: message.into(),
        status: None,
    }
}

fn options(deployment: &str) -> SetupOptions {
    SetupOptions {
        deployment: deployment.into(),
        regions: vec![REGION.into()],
        allow_targets: vec!["127.0.0.1".into()],
        retention_days: Some(7),
        ..Default::default()
    }
}

fn cleanup_options(deployment: &str) -> CleanupOptions {
    CleanupOptions {
        deployment: deployment.into(),
        purge_results: true,
        regions: vec![REGION.into()],
        ..Default::default()
    }
}

/// A small x86_64 Linux executable's headers (what the upload checks), padded.
fn fake_binary(dir: &std::path::Path) -> std::path::PathBuf {
    let bytes = brood_aws_fleet::elf::craft::stand_in_worker();
    let path = dir.join("brood");
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The deployment set up, and a fleet of one worker for run `run-1` that is not up yet.
async fn deployment(aws: &Aws, name: &str, dir: &std::path::Path) -> AsgFleet {
    let report = setup(aws, &options(name)).await.unwrap();
    AsgFleet::new(
        aws.clone(),
        report.deployment,
        report.config,
        FleetOptions {
            run_id: "run-1".into(),
            worker_binary: fake_binary(dir),
            instance_type: None,
            ami: Default::default(),
            spot: false,
            idle_exit: "3m".into(),
            stop_after: Duration::from_secs(3600),
        },
    )
}

fn one_worker() -> FleetRequest {
    FleetRequest {
        region: REGION.into(),
        workers: 1,
        jobs: QueueName(format!("jobs-{REGION}")),
        controller: QueueName("controller-run-1".into()),
        controller_key: "ab".repeat(32),
    }
}

async fn security_groups(aws: &Aws, deployment: &str) -> usize {
    aws.ec2(REGION)
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:brood:deployment")
                .values(deployment)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .security_groups()
        .len()
}

#[tokio::test]
async fn cleanup_retries_a_security_group_still_used_by_terminating_instances() {
    let d = "fault-sg";
    // Right after the group's instances are told to go, EC2 refuses the security group
    // twice: they are still terminating.
    let (proxy, aws) = through(vec![Rule {
        name: Some("in use".into()),
        after: vec!["DeleteAutoScalingGroup".into(), "TerminateInstances".into()],
        times: Some(2),
        ..rule(
            "DeleteSecurityGroup",
            error(
                "DependencyViolation",
                "resource sg-0123456789abcdef0 has a dependent object",
            ),
        )
    }])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let fleet = deployment(&aws, d, dir.path()).await;
    fleet.up(&one_worker()).await.unwrap();
    assert_eq!(security_groups(&aws, d).await, 1);

    let report = cleanup(&aws, &cleanup_options(d)).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(proxy.fired("in use"), 2);
    assert_eq!(proxy.seen("DeleteSecurityGroup"), 3);
    assert!(
        report
            .removed
            .iter()
            .any(|r| r.starts_with("security group")),
        "{:?}",
        report.removed
    );
    assert_eq!(security_groups(&aws, d).await, 0);
}

#[tokio::test]
async fn a_security_group_in_use_for_longer_is_a_clear_failure_to_run_again() {
    let d = "fault-sg-long";
    let (proxy, aws) = through(vec![Rule {
        after: vec!["DeleteAutoScalingGroup".into()],
        ..rule(
            "DeleteSecurityGroup",
            error(
                "DependencyViolation",
                "resource sg-1 has a dependent object",
            ),
        )
    }])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let fleet = deployment(&aws, d, dir.path()).await;
    fleet.up(&one_worker()).await.unwrap();
    let report = cleanup(&aws, &cleanup_options(d)).await.unwrap();
    let [failure] = report.errors.as_slice() else {
        panic!("{:?}", report.errors);
    };
    assert!(
        failure.contains("DeleteSecurityGroup")
            && failure.contains(REGION)
            && failure.contains("run `brood cleanup` again"),
        "{failure}"
    );
    assert!(proxy.fired("DeleteSecurityGroup") > 2);
    // The instances are gone now; a second cleanup finishes the job.
    drop(proxy);
    let (_proxy, aws) = through(Vec::new()).await;
    let again = cleanup(&aws, &cleanup_options(d)).await.unwrap();
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    assert_eq!(security_groups(&aws, d).await, 0);
}

#[tokio::test]
async fn a_fresh_instance_profile_is_retried_until_ec2_knows_it() {
    let d = "fault-profile";
    // AutoScaling refuses the template's profile for the first three tries after IAM made it.
    let fresh = format!(
        "You must use a valid fully-formed launch template. Value (brood-{d}-worker) for \
         parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"
    );
    let (proxy, aws) = through(vec![Rule {
        after: vec!["CreateInstanceProfile".into()],
        times: Some(3),
        ..rule("CreateAutoScalingGroup", error("ValidationError", &fresh))
    }])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let fleet = deployment(&aws, d, dir.path()).await;
    let statuses = fleet.up(&one_worker()).await.unwrap();
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    assert_eq!(proxy.fired("CreateAutoScalingGroup"), 3);
    assert_eq!(proxy.seen("CreateAutoScalingGroup"), 4);
    let report = cleanup(&aws, &cleanup_options(d)).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

#[tokio::test]
async fn throttling_bursts_are_retried_and_setup_fleet_and_cleanup_succeed() {
    let d = "fault-throttle";
    let burst = |action: &str, times| Rule {
        times: Some(times),
        ..rule(action, Fault::Throttle)
    };
    // A burst longer than the SDK's own attempts (4) is retried by brood as well.
    let (proxy, aws) = through(vec![
        burst("CreateQueue", 2),
        burst("CreateRole", 2),
        burst("CreateSecurityGroup", 2),
        burst("CreateLaunchTemplate", 6),
        burst("CreateAutoScalingGroup", 2),
        burst("GetParameter", 2),
        burst("DescribeScalingActivities", 2),
        burst("DeleteAutoScalingGroup", 2),
        burst("DeleteQueue", 2),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let fleet = deployment(&aws, d, dir.path()).await;
    let statuses = fleet.up(&one_worker()).await.unwrap();
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    let report = cleanup(&aws, &cleanup_options(d)).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    for (action, times) in [
        ("CreateQueue", 2),
        ("CreateRole", 2),
        ("CreateSecurityGroup", 2),
        ("CreateLaunchTemplate", 6),
        ("CreateAutoScalingGroup", 2),
        ("GetParameter", 2),
        ("DescribeScalingActivities", 2),
        ("DeleteAutoScalingGroup", 2),
        ("DeleteQueue", 2),
    ] {
        assert_eq!(proxy.fired(action), times, "{action}");
    }
    assert_eq!(security_groups(&aws, d).await, 0);
}

#[tokio::test]
async fn a_failed_launch_ends_the_fleet_as_failed_in_aws_words() {
    let d = "fault-quota";
    let quota = "You have requested more vCPU capacity than your current vCPU limit of 0 allows \
                 for the instance bucket that the specified instance type belongs to. Please \
                 visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to \
                 this limit. Launching EC2 instance failed.";
    let (proxy, aws) = through(vec![rule(
        "DescribeScalingActivities",
        Fault::FailedScalingActivity {
            message: quota.into(),
        },
    )])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let fleet = deployment(&aws, d, dir.path()).await;
    let statuses = fleet.up(&one_worker()).await.unwrap();
    let failed: Vec<&str> = statuses
        .iter()
        .filter_map(|s| match &s.state {
            WorkerState::Failed { reason } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(failed, [quota], "{statuses:?}");
    assert!(proxy.fired("DescribeScalingActivities") >= 1);
    fleet.down(REGION).await.unwrap();
    let desired = brood_aws_fleet::fleet::desired_capacity(&aws, d, REGION)
        .await
        .unwrap();
    assert_eq!(desired, Some(0));
    let report = cleanup(&aws, &cleanup_options(d)).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

/// Setup right after a cleanup: SQS refuses to create a queue of a name deleted less than
/// 60 s ago (here 15 s, the proxy's window, which outlasts the rest of the cleanup). Setup waits
/// it out and succeeds.
#[tokio::test]
async fn setup_right_after_cleanup_waits_out_a_queue_deleted_recently() {
    let d = "fault-recent";
    let (proxy, aws) = through(vec![Rule {
        after: vec!["DeleteQueue".into()],
        within_secs: Some(15.0),
        same_queue: true,
        ..rule(
            "CreateQueue",
            error(
                "AWS.SimpleQueueService.QueueDeletedRecently",
                "You must wait 60 seconds after deleting a queue before you can create another \
                 with the same name.",
            ),
        )
    }])
    .await;
    setup(&aws, &options(d)).await.unwrap();
    let report = cleanup(&aws, &cleanup_options(d)).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let started = std::time::Instant::now();
    setup(&aws, &options(d)).await.unwrap();
    // Refused at least once, then created once the name was free again.
    assert!(proxy.fired("CreateQueue") >= 1);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let report = cleanup(&aws, &cleanup_options(d)).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}
