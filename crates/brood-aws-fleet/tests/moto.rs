//! The control plane against an AWS-compatible server (moto, started by `scripts/test.sh`, which
//! exports `AWS_ENDPOINT_URL`): setup twice, a fleet in two regions, scale to zero, cleanup twice,
//! an idle worker leaving its group through the instance metadata service, and the user data run
//! with bash and the AWS CLI (`BROOD_AWS_CLI`, installed by `scripts/moto.sh`).
//!
//! Each test uses its own deployment name, so tests running at once do not see each other's
//! resources (cleanup and every check filter by the deployment's tag).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use brood_aws_fleet::elf::craft::executable as elf_file;
use brood_aws_fleet::policy::{check_least_privilege, PolicyScope};
use brood_aws_fleet::{cleanup, setup, AsgFleet, Aws, CleanupOptions, FleetOptions, SetupOptions};
use brood_cluster::{Fleet, FleetRequest, QueueName};

const TAG: &str = "brood:deployment";
/// The fleets' scheduled stop, an hour after `up`.
const STOP_AFTER: Duration = Duration::from_secs(3600);

async fn aws() -> Aws {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1"),
        "these tests need the AWS-compatible test server: run them with scripts/test.sh, which \
         starts moto and exports AWS_ENDPOINT_URL (got {endpoint:?})"
    );
    let aws = Aws::load(None)
        .await
        .expect("loading the AWS configuration");
    for region in ["us-east-1", "eu-west-1"] {
        public_default_vpc(&aws, region).await;
    }
    aws
}

/// The test server's default VPC in `region` made public, as on AWS (see `test_server`);
/// serialised, as the tests share the server.
async fn public_default_vpc(aws: &Aws, region: &str) {
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = ONE_AT_A_TIME.lock().await;
    brood_aws_fleet::test_server::public_default_vpc(aws, region)
        .await
        .unwrap();
}

/// A new internet gateway attached to `vpc`.
async fn internet_gateway(aws: &Aws, region: &str, vpc: &str) -> String {
    let ec2 = aws.ec2(region);
    let igw = ec2
        .create_internet_gateway()
        .send()
        .await
        .unwrap()
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap()
        .to_string();
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(vpc)
        .send()
        .await
        .unwrap();
    igw
}

fn options(deployment: &str, regions: &[&str]) -> SetupOptions {
    SetupOptions {
        deployment: deployment.into(),
        regions: regions.iter().map(|r| r.to_string()).collect(),
        allow_targets: vec!["127.0.0.1".into()],
        retention_days: Some(7),
        ..Default::default()
    }
}

/// A small x86_64 Linux executable (its ELF headers, needing GLIBC_2.17 of libc.so.6).
fn fake_binary(dir: &std::path::Path) -> std::path::PathBuf {
    let bytes = brood_aws_fleet::elf::craft::stand_in_worker();
    let path = dir.join("brood");
    std::fs::write(&path, bytes).unwrap();
    path
}

fn has_tag<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>, deployment: &str) -> bool {
    tags.into_iter().any(|(k, v)| k == TAG && v == deployment)
}

/// Everything tagged with the deployment, per kind, with each service's own describe call.
async fn tagged(aws: &Aws, deployment: &str, regions: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for region in regions {
        let asg = aws.autoscaling(region);
        for g in asg
            .describe_auto_scaling_groups()
            .send()
            .await
            .unwrap()
            .auto_scaling_groups()
        {
            if has_tag(
                g.tags()
                    .iter()
                    .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
                deployment,
            ) {
                found.push(format!(
                    "group {:?} in {region}",
                    g.auto_scaling_group_name()
                ));
            }
        }
        let actions = asg
            .describe_scheduled_actions()
            .auto_scaling_group_name(format!("brood-{deployment}-workers"))
            .send()
            .await
            .unwrap();
        for a in actions.scheduled_update_group_actions() {
            found.push(format!(
                "scheduled action {:?} in {region}",
                a.scheduled_action_name()
            ));
        }
        let ec2 = aws.ec2(region);
        let filter = aws_sdk_ec2::types::Filter::builder()
            .name(format!("tag:{TAG}"))
            .values(deployment)
            .build();
        let lts = ec2
            .describe_launch_templates()
            .filters(filter.clone())
            .send()
            .await
            .unwrap();
        for t in lts.launch_templates() {
            found.push(format!(
                "launch template {:?} in {region}",
                t.launch_template_name()
            ));
        }
        let sgs = ec2
            .describe_security_groups()
            .filters(filter.clone())
            .send()
            .await
            .unwrap();
        for g in sgs.security_groups() {
            found.push(format!("security group {:?} in {region}", g.group_name()));
        }
        let instances = ec2
            .describe_instances()
            .filters(filter)
            .send()
            .await
            .unwrap();
        for r in instances.reservations() {
            for i in r.instances() {
                let terminated = i
                    .state()
                    .and_then(|s| s.name())
                    .is_some_and(|n| *n == aws_sdk_ec2::types::InstanceStateName::Terminated);
                if !terminated {
                    found.push(format!("instance {:?} in {region}", i.instance_id()));
                }
            }
        }
        let sqs = aws.sqs(region);
        let queues = sqs
            .list_queues()
            .queue_name_prefix(format!("brood-{deployment}-"))
            .send()
            .await
            .unwrap();
        for q in queues.queue_urls() {
            found.push(format!("queue {q}"));
        }
    }
    let iam = aws.iam();
    for r in iam.list_roles().send().await.unwrap().roles() {
        // A role another test deletes between the listing and this call is gone, not a leftover.
        let tags = match iam.list_role_tags().role_name(r.role_name()).send().await {
            Ok(tags) => tags,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                continue
            }
            Err(e) => panic!("listing the tags of role {}: {e:?}", r.role_name()),
        };
        if has_tag(tags.tags().iter().map(|t| (t.key(), t.value())), deployment) {
            found.push(format!("role {}", r.role_name()));
        }
    }
    for p in iam
        .list_instance_profiles()
        .send()
        .await
        .unwrap()
        .instance_profiles()
    {
        if p.instance_profile_name()
            .contains(&format!("brood-{deployment}-"))
        {
            found.push(format!("instance profile {}", p.instance_profile_name()));
        }
    }
    found
}

#[tokio::test]
async fn setup_is_idempotent_and_tags_what_it_makes() {
    let aws = aws().await;
    let d = "setup-twice";
    let regions = ["us-east-1", "eu-west-1"];
    let first = setup(&aws, &options(d, &regions)).await.unwrap();
    assert!(
        first.lines.iter().any(|l| l.starts_with("created role")),
        "{:?}",
        first.lines
    );
    let second = setup(&aws, &options(d, &regions)).await.unwrap();
    assert!(
        second.lines.iter().all(|l| !l.starts_with("created")),
        "a second setup created something: {:?}",
        second.lines
    );
    assert_eq!(first.config, second.config);
    assert_eq!(second.config.retention_days, 7);
    assert!(second.config.allowed_targets.contains("127.0.0.1"));

    // The bucket: tagged, with the lifecycle rule, and the settings in it.
    let s3 = aws.s3();
    let bucket = &second.config.bucket;
    assert_eq!(bucket, &second.deployment.default_bucket());
    let tags = s3.get_bucket_tagging().bucket(bucket).send().await.unwrap();
    assert!(tags
        .tag_set()
        .iter()
        .any(|t| t.key() == TAG && t.value() == d));
    let lifecycle = s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let rule = lifecycle
        .rules()
        .iter()
        .find(|r| r.id() == Some("brood-expire-runs"))
        .unwrap();
    assert_eq!(rule.expiration().and_then(|e| e.days()), Some(7));
    // Uploaded worker binaries expire too, and incomplete uploads are aborted, all set once
    // however often setup runs.
    let prefix_of = |r: &aws_sdk_s3::types::LifecycleRule| {
        r.filter()
            .and_then(|f| f.prefix())
            .unwrap_or_default()
            .to_string()
    };
    let binaries = lifecycle
        .rules()
        .iter()
        .find(|r| r.id() == Some("brood-expire-worker-binaries"))
        .unwrap();
    assert_eq!(prefix_of(binaries), "bin/");
    assert_eq!(binaries.expiration().and_then(|e| e.days()), Some(30));
    let uploads = lifecycle
        .rules()
        .iter()
        .find(|r| r.id() == Some("brood-abort-incomplete-uploads"))
        .unwrap();
    assert_eq!(prefix_of(uploads), "");
    assert_eq!(
        uploads
            .abort_incomplete_multipart_upload()
            .and_then(|a| a.days_after_initiation()),
        Some(1)
    );
    assert!(uploads.expiration().is_none(), "{uploads:?}");
    let mut ids: Vec<&str> = lifecycle.rules().iter().filter_map(|r| r.id()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "brood-abort-incomplete-uploads",
            "brood-expire-runs",
            "brood-expire-spilled-messages",
            "brood-expire-worker-binaries"
        ]
    );
    let config = s3
        .get_object()
        .bucket(bucket)
        .key("deployment.json")
        .send()
        .await
        .unwrap();
    let text = config.body.collect().await.unwrap().into_bytes();
    assert!(String::from_utf8_lossy(&text).contains("127.0.0.1"));

    // Queues with their dead-letter queue, per region, tagged.
    for region in regions {
        let sqs = aws.sqs(region);
        let url = sqs
            .get_queue_url()
            .queue_name(format!("brood-{d}-jobs"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .unwrap();
        let redrive = attrs
            .attributes()
            .unwrap()
            .get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
            .unwrap();
        assert!(
            redrive.contains(&format!("brood-{d}-jobs-dlq")),
            "{redrive}"
        );
        let tags = sqs.list_queue_tags().queue_url(&url).send().await.unwrap();
        assert_eq!(tags.tags().unwrap().get(TAG).map(String::as_str), Some(d));
    }

    // The role's policy: least privilege, no wildcard.
    let iam = aws.iam();
    let role = second.deployment.worker_role();
    let policy = iam
        .get_role_policy()
        .role_name(&role)
        .policy_name(&role)
        .send()
        .await
        .unwrap();
    let doc = urlencoding_decode(policy.policy_document());
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let scope = PolicyScope {
        deployment: second.deployment.clone(),
        partition: "aws".into(),
        bucket: bucket.clone(),
        regions: regions.iter().map(|r| r.to_string()).collect(),
        groups: vec![],
    };
    check_least_privilege(&doc, &scope).unwrap();
    assert!(!doc.to_string().contains("\"*\""));

    cleanup(&aws, &cleanup_options(d)).await.unwrap();
}

#[tokio::test]
async fn a_region_the_account_cannot_use_is_refused_before_anything_is_made() {
    let aws = aws().await;
    let d = "regions-off";
    for (region, says) in [
        ("xx-east-9", "not a region"),
        // moto lists the opt-in regions as not enabled.
        ("ap-east-1", "not enabled for this account"),
    ] {
        let e = setup(&aws, &options(d, &["us-east-1", region]))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--regions") && e.contains(region) && e.contains(says),
            "{region}: {e}"
        );
    }
    assert!(
        !brood_aws_fleet::setup::region_problem("ap-east-1", &[("ap-east-1", "not-opted-in")])
            .unwrap()
            .is_empty()
    );
    // Nothing exists: no bucket, no queue, no role.
    let bucket = format!("brood-{d}-{}", aws.account().await.unwrap());
    let head = aws.s3().head_bucket().bucket(&bucket).send().await;
    assert!(head.is_err(), "the bucket {bucket} was made");
    let queue = aws
        .sqs("us-east-1")
        .get_queue_url()
        .queue_name(format!("brood-{d}-jobs"))
        .send()
        .await;
    assert!(queue.is_err(), "the jobs queue was made");
    let role = aws
        .iam()
        .get_role()
        .role_name(format!("brood-{d}-worker"))
        .send()
        .await;
    assert!(role.is_err(), "the role was made");
    assert!(tagged(&aws, d, &["us-east-1"]).await.is_empty());
}

#[tokio::test]
async fn the_run_lock_admits_one_run_at_a_time_and_a_stale_one_is_taken_over() {
    use brood_aws_fleet::lock::{acquire, holder, LockHolder};
    let aws = aws().await;
    let d = "run-lock";
    let report = setup(&aws, &options(d, &["us-east-1"])).await.unwrap();
    let bucket = report.config.bucket.clone();
    let hour = Duration::from_secs(3600);

    // Two runs starting at the same moment: exactly one gets the lock.
    let (a, b) = tokio::join!(
        acquire(&aws, d, &bucket, LockHolder::new("run-a", "host-a", hour)),
        acquire(&aws, d, &bucket, LockHolder::new("run-b", "host-b", hour)),
    );
    let (held, refused) = match (a, b) {
        (Ok(l), Err(e)) | (Err(e), Ok(l)) => (l, e.to_string()),
        other => panic!("not exactly one lock: {other:?}"),
    };
    assert_eq!(held.note, None);
    let winner = held.holder.run_id.clone();
    assert_eq!(
        holder(&aws, &bucket).await.unwrap().as_ref(),
        Some(&held.holder)
    );
    // The refusal names the run holding it, since when and until when, and the ways past it.
    for part in [
        format!("deployment {d}"),
        format!("run {winner}"),
        "since 20".to_string(),
        "expires at 20".to_string(),
        "--deployment NAME".to_string(),
        format!("brood cleanup --deployment {d}"),
    ] {
        assert!(refused.contains(&part), "{part:?} in {refused}");
    }
    // A third run is refused too, and the lock still names the first.
    let e = acquire(&aws, d, &bucket, LockHolder::new("run-c", "h", hour))
        .await
        .unwrap_err();
    assert!(e.to_string().contains(&winner), "{e}");
    assert!(held.release().await.unwrap());
    assert_eq!(holder(&aws, &bucket).await.unwrap(), None);

    // A lock past its expiry (its controller died) is taken over, with a note.
    let dead = acquire(
        &aws,
        d,
        &bucket,
        LockHolder::new("run-dead", "h", Duration::ZERO),
    )
    .await
    .unwrap();
    let next = acquire(&aws, d, &bucket, LockHolder::new("run-next", "h", hour))
        .await
        .unwrap();
    let note = next.note.clone().unwrap_or_default();
    assert!(
        note.contains("took over") && note.contains("run-dead"),
        "{note}"
    );
    // The dead run's release (were it to come back) leaves the new holder's lock alone.
    assert!(!dead.release().await.unwrap());
    assert_eq!(
        holder(&aws, &bucket).await.unwrap().map(|h| h.run_id),
        Some("run-next".to_string())
    );

    // cleanup removes a lock left behind, also when it keeps the results.
    let kept = cleanup(
        &aws,
        &CleanupOptions {
            deployment: d.into(),
            purge_results: false,
            regions: vec!["us-east-1".into()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        kept.removed
            .iter()
            .any(|r| r.contains("run lock") && r.contains("run-next")),
        "{:?}",
        kept.removed
    );
    assert_eq!(holder(&aws, &bucket).await.unwrap(), None);
    cleanup(&aws, &cleanup_options(d)).await.unwrap();
}

fn cleanup_options(d: &str) -> CleanupOptions {
    CleanupOptions {
        deployment: d.into(),
        purge_results: true,
        ..Default::default()
    }
}

/// IAM returns policy documents URL-encoded (AWS does; a document already in JSON is unchanged).
fn urlencoding_decode(text: &str) -> String {
    if text.trim_start().starts_with('{') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| u8::from_str_radix(&text[i + 1..i + 3], 16).ok())
            .flatten();
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn a_fleet_comes_up_scales_to_zero_and_cleanup_removes_everything() {
    let aws = aws().await;
    let d = "fleet-two";
    let regions = ["us-east-1", "eu-west-1"];
    let report = setup(&aws, &options(d, &regions)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fleet = AsgFleet::new(
        aws.clone(),
        report.deployment.clone(),
        report.config.clone(),
        FleetOptions {
            run_id: "run-1".into(),
            worker_binary: fake_binary(dir.path()),
            instance_type: None,
            ami: Default::default(),
            spot: false,
            idle_exit: "3m".into(),
            stop_after: STOP_AFTER,
        },
    );
    let before_up = SystemTime::now();
    for (region, workers) in [("us-east-1", 2), ("eu-west-1", 1)] {
        let statuses = fleet
            .up(&FleetRequest {
                region: region.into(),
                workers,
                jobs: QueueName(format!("jobs-{region}")),
                controller: QueueName("controller-run-1".into()),
                controller_key: "ab".repeat(32),
            })
            .await
            .unwrap();
        assert_eq!(statuses.len(), workers as usize, "{region}: {statuses:?}");
    }
    let binary = fleet.upload_binary().await.unwrap();
    for (region, workers) in [("us-east-1", 2), ("eu-west-1", 1)] {
        // The launch template: user data that fetches the checked binary and starts the worker.
        let ec2 = aws.ec2(region);
        let versions = ec2
            .describe_launch_template_versions()
            .launch_template_name(format!("brood-{d}-worker"))
            .versions("$Default")
            .send()
            .await
            .unwrap();
        let data = versions.launch_template_versions()[0]
            .launch_template_data()
            .unwrap();
        let user_data = base64::engine::general_purpose::STANDARD
            .decode(data.user_data().unwrap())
            .unwrap();
        let user_data = String::from_utf8(user_data).unwrap();
        assert!(user_data.contains(&binary.sha256), "{user_data}");
        let args = brood_aws_fleet::userdata::worker_args(&user_data).unwrap();
        let at = |flag: &str| args[args.iter().position(|a| a == flag).unwrap() + 1].clone();
        assert_eq!(at("--queue"), format!("jobs-{region}"));
        assert_eq!(at("--region"), region);
        assert_eq!(at("--controller-queue"), "controller-run-1");
        assert_eq!(
            data.iam_instance_profile().and_then(|p| p.name()),
            Some(format!("brood-{d}-worker").as_str())
        );
        assert_eq!(
            data.instance_initiated_shutdown_behavior(),
            Some(&aws_sdk_ec2::types::ShutdownBehavior::Terminate)
        );
        // The default type has fixed performance: no CPU credits to ask for.
        assert_eq!(data.instance_type().map(|t| t.as_str()), Some("c6i.large"));
        assert_eq!(data.credit_specification(), None);
        // The group: tagged with the deployment and the run, at the sized capacity.
        let groups = aws
            .autoscaling(region)
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(format!("brood-{d}-workers"))
            .send()
            .await
            .unwrap();
        let g = &groups.auto_scaling_groups()[0];
        assert_eq!(g.desired_capacity(), Some(workers));
        let tags: HashMap<_, _> = g
            .tags()
            .iter()
            .map(|t| (t.key().unwrap(), t.value().unwrap()))
            .collect();
        assert_eq!(tags.get(TAG), Some(&d));
        assert_eq!(tags.get("brood:run"), Some(&"run-1"));
        // The safety net: the group goes to zero an hour after `up`, whatever happens.
        let actions = aws
            .autoscaling(region)
            .describe_scheduled_actions()
            .auto_scaling_group_name(format!("brood-{d}-workers"))
            .send()
            .await
            .unwrap();
        let [action] = actions.scheduled_update_group_actions() else {
            panic!("{region}: {actions:?}");
        };
        assert_eq!(
            action.scheduled_action_name(),
            Some(format!("brood-{d}-workers-stop-by").as_str())
        );
        assert_eq!(
            (
                action.min_size(),
                action.max_size(),
                action.desired_capacity()
            ),
            (Some(0), Some(0), Some(0))
        );
        let at = SystemTime::try_from(*action.start_time().unwrap()).unwrap();
        assert!(
            at >= before_up + STOP_AFTER
                && at <= SystemTime::now() + STOP_AFTER + Duration::from_secs(1),
            "{region}: stops at {at:?}, {STOP_AFTER:?} after up at {before_up:?}"
        );
    }
    // The policy now names the groups, and still has no wildcard.
    let iam = aws.iam();
    let role = report.deployment.worker_role();
    let policy = iam
        .get_role_policy()
        .role_name(&role)
        .policy_name(&role)
        .send()
        .await
        .unwrap();
    let doc = urlencoding_decode(policy.policy_document());
    assert!(
        doc.contains("autoScalingGroupName/brood-fleet-two-workers"),
        "{doc}"
    );

    for region in regions {
        fleet.down(region).await.unwrap();
        let running = fleet.status(region).await.unwrap();
        assert!(
            running
                .iter()
                .all(|w| !matches!(w.state, brood_cluster::WorkerState::Running)),
            "{region}: {running:?}"
        );
    }

    // A second run in the same deployment gets its own template, and the group follows it.
    let second = AsgFleet::new(
        aws.clone(),
        report.deployment.clone(),
        report.config.clone(),
        FleetOptions {
            run_id: "run-3".into(),
            worker_binary: fake_binary(dir.path()),
            instance_type: Some("t3.small".into()),
            ami: Default::default(),
            spot: false,
            idle_exit: "3m".into(),
            stop_after: STOP_AFTER,
        },
    );
    let again = second
        .up(&FleetRequest {
            region: "us-east-1".into(),
            workers: 1,
            jobs: QueueName("jobs-us-east-1".into()),
            controller: QueueName("controller-run-3".into()),
            controller_key: "ab".repeat(32),
        })
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "{again:?}");
    let text = brood_aws_fleet::fleet::user_data(&aws, d, "us-east-1")
        .await
        .unwrap()
        .unwrap();
    assert!(text.contains("controller-run-3"), "{text}");
    // A burstable type is launched with standard credits, never unlimited.
    let versions = aws
        .ec2("us-east-1")
        .describe_launch_template_versions()
        .launch_template_name(format!("brood-{d}-worker"))
        .versions("$Default")
        .send()
        .await
        .unwrap();
    let data = versions.launch_template_versions()[0]
        .launch_template_data()
        .unwrap();
    assert_eq!(data.instance_type().map(|t| t.as_str()), Some("t3.small"));
    assert_eq!(
        data.credit_specification().and_then(|c| c.cpu_credits()),
        Some("standard")
    );
    second.down("us-east-1").await.unwrap();

    let mut all_regions = vec!["us-east-1", "eu-west-1", "ap-south-1"];
    all_regions.sort();
    assert!(!tagged(&aws, d, &all_regions).await.is_empty());
    let report = cleanup(&aws, &cleanup_options(d)).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(
        report.elapsed < Duration::from_secs(30),
        "cleanup took {:?}",
        report.elapsed
    );
    let left = tagged(&aws, d, &all_regions).await;
    assert!(left.is_empty(), "left after cleanup: {left:?}");
    let again = cleanup(&aws, &cleanup_options(d)).await.unwrap();
    assert!(
        again.removed.is_empty() && again.errors.is_empty(),
        "{again:?}"
    );
}

/// A one-request-at-a-time stand-in for the instance metadata service (IMDSv2: a token first):
/// the instance's region at `placement/region`, its id at every other path.
fn fake_imds(instance_id: String, region: &str) -> String {
    let region = region.to_string();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(8) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).to_lowercase();
            let body = if request.starts_with("put /latest/api/token") {
                "token-123".to_string()
            } else if !request.contains("x-aws-ec2-metadata-token: token-123") {
                let _ = s.write_all(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n");
                continue;
            } else if request.starts_with("get /latest/meta-data/placement/region ") {
                region.clone()
            } else {
                instance_id.clone()
            };
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nx-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn an_idle_worker_leaves_its_group_one_fewer_desired() {
    let aws = aws().await;
    let d = "leave";
    let region = "us-east-1";
    let report = setup(&aws, &options(d, &[region])).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fleet = AsgFleet::new(
        aws.clone(),
        report.deployment.clone(),
        report.config.clone(),
        FleetOptions {
            run_id: "run-2".into(),
            worker_binary: fake_binary(dir.path()),
            instance_type: None,
            ami: Default::default(),
            spot: false,
            idle_exit: "3m".into(),
            stop_after: STOP_AFTER,
        },
    );
    let up = fleet
        .up(&FleetRequest {
            region: region.into(),
            workers: 2,
            jobs: QueueName(format!("jobs-{region}")),
            controller: QueueName("controller-run-2".into()),
            controller_key: "ab".repeat(32),
        })
        .await
        .unwrap();
    let imds = fake_imds(up[0].id.clone(), region);
    // Only this test reads the metadata service, so the variable affects no other test.
    std::env::set_var("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds);
    let left = brood_aws_fleet::leave::leave_group(&aws, region)
        .await
        .unwrap();
    assert_eq!(left, up[0].id);
    let groups = aws
        .autoscaling(region)
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(format!("brood-{d}-workers"))
        .send()
        .await
        .unwrap();
    assert_eq!(groups.auto_scaling_groups()[0].desired_capacity(), Some(1));
    let report = cleanup(&aws, &cleanup_options(d)).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

/// Runs a user data script as an instance would, with bash, with what only an instance has
/// replaced: `/usr/local/bin` and `/var/lib/brood` by folders of `dir`, the metadata service by
/// `imds`, and on the `PATH` first the AWS CLI (pointed at the test server by `AWS_ENDPOINT_URL`)
/// and a `shutdown` that only records that it was called.
fn run_user_data(script: &str, dir: &std::path::Path, imds: &str) -> std::process::Output {
    let cli = std::env::var("BROOD_AWS_CLI").unwrap_or_default();
    assert!(
        std::path::Path::new(&cli).is_file(),
        "this test needs the AWS CLI: run it with scripts/test.sh (scripts/moto.sh installs the CLI \
         and exports BROOD_AWS_CLI; got {cli:?})"
    );
    let shims = dir.join("shims");
    std::fs::create_dir_all(&shims).unwrap();
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let _ = std::fs::remove_file(shims.join("aws"));
    std::os::unix::fs::symlink(&cli, shims.join("aws")).unwrap();
    executable(
        &shims.join("shutdown"),
        &format!(
            "#!/bin/sh\necho \"$@\" >> {}\n",
            dir.join("shutdown-called").display()
        ),
    );
    let script_path = dir.join("user-data");
    std::fs::write(&script_path, script).unwrap();
    let path = format!(
        "{}:{}",
        shims.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    std::process::Command::new("bash")
        .arg(&script_path)
        .env("PATH", path)
        .env("BROOD_BIN_DIR", dir.join("bin"))
        .env("BROOD_WORK_DIR", dir.join("work"))
        .env("BROOD_IMDS", imds)
        // The CLI's credentials and region come from the environment, never from the metadata
        // service (the fake one answers only the script's own questions).
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.join("no-aws-credentials"),
        )
        .output()
        .unwrap()
}

fn executable(path: &std::path::Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn the_user_data_starts_a_checked_worker_and_a_corrupt_binary_leaves_for_good() {
    let aws = aws().await;
    let d = "userdata";
    let region = "us-east-1";
    let report = setup(&aws, &options(d, &[region])).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fleet = AsgFleet::new(
        aws.clone(),
        report.deployment.clone(),
        report.config.clone(),
        FleetOptions {
            run_id: "run-4".into(),
            worker_binary: fake_binary(dir.path()),
            instance_type: None,
            ami: Default::default(),
            spot: false,
            idle_exit: "3m".into(),
            stop_after: STOP_AFTER,
        },
    );
    let up = fleet
        .up(&FleetRequest {
            region: region.into(),
            workers: 2,
            jobs: QueueName(format!("jobs-{region}")),
            controller: QueueName("controller-run-4".into()),
            controller_key: "ab".repeat(32),
        })
        .await
        .unwrap();
    assert_eq!(up.len(), 2, "{up:?}");
    let binary = fleet.upload_binary().await.unwrap().clone();
    // The user data as the launch template holds it.
    let user_data = brood_aws_fleet::fleet::user_data(&aws, d, region)
        .await
        .unwrap()
        .unwrap();
    let desired = || async {
        brood_aws_fleet::fleet::desired_capacity(&aws, d, region)
            .await
            .unwrap()
    };
    assert_eq!(desired().await, Some(2));
    let put = |bytes: Vec<u8>| {
        let aws = aws.clone();
        let (bucket, key) = (report.config.bucket.clone(), binary.key.clone());
        async move {
            aws.s3()
                .put_object()
                .bucket(bucket)
                .key(key)
                .body(bytes.into())
                .send()
                .await
                .unwrap();
        }
    };

    // (a) A good binary: a stand-in that records where and with what it was started. The script
    // expects its checksum; it downloads it, checks it, starts it, and leaves when it exits.
    let machine = dir.path().join("a");
    let argv = machine.join("argv");
    let shim = format!(
        "#!/bin/sh\n{{ pwd; printf '%s\\n' \"$@\"; }} > {}\n",
        argv.display()
    );
    put(brood_aws_fleet::fleet::pack(shim.as_bytes())).await;
    let good = user_data.replace(&binary.sha256, &sha256_hex(shim.as_bytes()));
    assert_ne!(good, user_data);
    let out = run_user_data(&good, &machine, &fake_imds(up[0].id.clone(), region));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    let recorded = std::fs::read_to_string(&argv).expect("the worker was not started");
    let mut lines = recorded.lines();
    let cwd = std::fs::canonicalize(machine.join("work")).unwrap();
    assert_eq!(lines.next().map(std::path::PathBuf::from), Some(cwd));
    let args: Vec<&str> = lines.collect();
    assert_eq!(args.first(), Some(&"worker"), "{args:?}");
    let args = &args[1..];
    let expected = brood_aws_fleet::userdata::worker_args(&user_data).unwrap();
    assert_eq!(
        args,
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let at = |flag: &str| args[args.iter().position(|a| *a == flag).unwrap() + 1];
    assert_eq!(at("--queue"), format!("jobs-{region}"));
    assert_eq!(at("--controller-queue"), "controller-run-4");
    assert_eq!(at("--controller-key"), "ab".repeat(32));
    assert_eq!(at("--bucket"), report.config.bucket);
    assert!(machine.join("work/spool").is_dir());
    assert!(!machine.join("bin/brood.download").exists());
    // The worker exited, so the instance left its group, one fewer desired.
    assert_eq!(desired().await, Some(1));
    assert!(!machine.join("shutdown-called").exists());

    // (b) A corrupt binary: the checksum does not match, nothing starts, and the instance
    // terminates itself through its group with the desired capacity decremented.
    let mut corrupt = std::fs::read(fake_binary(dir.path())).unwrap();
    corrupt[100] ^= 0xff;
    put(brood_aws_fleet::fleet::pack(&corrupt)).await;
    let machine = dir.path().join("b");
    let out = run_user_data(&user_data, &machine, &fake_imds(up[1].id.clone(), region));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("checksum does not match"), "{stderr}");
    assert!(!machine.join("argv").exists());
    assert!(!machine.join("bin/brood").exists());
    assert!(!machine.join("bin/brood.download").exists());
    assert!(!machine.join("shutdown-called").exists(), "{stderr}");
    assert_eq!(desired().await, Some(0));
    let statuses = fleet.status(region).await.unwrap();
    assert!(
        statuses
            .iter()
            .all(|w| !matches!(w.state, brood_cluster::WorkerState::Running)),
        "{statuses:?}"
    );

    let report = cleanup(&aws, &cleanup_options(d)).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

#[tokio::test]
async fn instance_types_come_from_ec2_and_an_unknown_one_names_the_flag_and_region() {
    use brood_aws_fleet::instance::{describe, InstanceSpec};
    use brood_aws_fleet::Arch;
    let aws = aws().await;
    assert_eq!(
        describe(&aws, "eu-west-1", "t3.small").await.unwrap(),
        InstanceSpec {
            vcpus: 2,
            archs: vec![Arch::X86_64]
        }
    );
    // Not in the built-in price list: EC2 knows it.
    let big = describe(&aws, "us-east-1", "c7g.4xlarge").await.unwrap();
    assert_eq!((big.vcpus, big.archs), (16, vec![Arch::Arm64]));
    let e = describe(&aws, "eu-west-1", "t3.nonsense")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("--instance-type: t3.nonsense"), "{e}");
    assert!(e.contains("eu-west-1"), "{e}");
}

#[tokio::test]
async fn a_fleet_refuses_an_instance_type_of_another_architecture() {
    let aws = aws().await;
    let d = "arch-mismatch";
    let region = "us-east-1";
    let report = setup(&aws, &options(d, &[region])).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fleet = AsgFleet::new(
        aws.clone(),
        report.deployment.clone(),
        report.config.clone(),
        FleetOptions {
            run_id: "run-arch".into(),
            worker_binary: fake_binary(dir.path()),
            instance_type: Some("t4g.small".into()),
            ami: Default::default(),
            spot: false,
            idle_exit: "3m".into(),
            stop_after: STOP_AFTER,
        },
    );
    let e = fleet
        .up(&FleetRequest {
            region: region.into(),
            workers: 1,
            jobs: QueueName(format!("jobs-{region}")),
            controller: QueueName("controller-run-arch".into()),
            controller_key: "ab".repeat(32),
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("t4g.small in us-east-1 runs arm64"), "{e}");
    let groups = aws
        .autoscaling(region)
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(format!("brood-{d}-workers"))
        .send()
        .await
        .unwrap();
    assert!(groups.auto_scaling_groups().is_empty(), "{groups:?}");
    let report = cleanup(&aws, &cleanup_options(d)).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

#[tokio::test]
async fn a_large_binary_goes_up_in_parts_and_reads_back_whole() {
    use flate2::read::GzDecoder;
    let aws = aws().await;
    let d = "big-binary";
    let report = setup(&aws, &options(d, &["us-east-1"])).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // 12 MB that gzip cannot shrink, so the upload takes two parts.
    let mut bytes = elf_file(0x3e, None, &[], 0);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    while bytes.len() < 12_000_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    let path = dir.path().join("brood");
    std::fs::write(&path, &bytes).unwrap();
    let fleet = AsgFleet::new(
        aws.clone(),
        report.deployment.clone(),
        report.config.clone(),
        FleetOptions {
            run_id: "run-big".into(),
            worker_binary: path,
            instance_type: None,
            ami: Default::default(),
            spot: false,
            idle_exit: "3m".into(),
            stop_after: STOP_AFTER,
        },
    );
    let uploaded = fleet.upload_binary().await.unwrap();
    assert_eq!(uploaded.sha256, sha256_hex(&bytes));
    let object = aws
        .s3()
        .get_object()
        .bucket(&report.config.bucket)
        .key(&uploaded.key)
        .send()
        .await
        .unwrap();
    let packed = object.body.collect().await.unwrap().into_bytes();
    assert!(packed.len() > 8 << 20, "{} bytes", packed.len());
    let mut unpacked = Vec::new();
    GzDecoder::new(&packed[..])
        .read_to_end(&mut unpacked)
        .unwrap();
    assert!(unpacked == bytes, "the binary did not read back whole");
    let report = cleanup(&aws, &cleanup_options(d)).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

/// A VPC of the test's own in `region`: subnets `public_a` and `public_e` routed to an internet
/// gateway, `nat` routed through a NAT gateway, and `private` on the main table, which has no
/// way out; in the zones `zones` names by letter, in that order (in us-east-1, zone e offers no
/// t3.small on the test server).
struct TestVpc {
    vpc: String,
    public_a: String,
    public_e: String,
    nat: String,
    private: String,
}

async fn test_vpc(aws: &Aws, region: &str, cidr: u8, zones: [&'static str; 4]) -> TestVpc {
    let ec2 = aws.ec2(region);
    let vpc = ec2
        .create_vpc()
        .cidr_block(format!("10.{cidr}.0.0/16"))
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();
    let subnet = |n: u8, zone: &'static str| {
        let ec2 = ec2.clone();
        let vpc = vpc.clone();
        async move {
            ec2.create_subnet()
                .vpc_id(vpc)
                .cidr_block(format!("10.{cidr}.{n}.0/24"))
                .availability_zone(format!("{region}{zone}"))
                .send()
                .await
                .unwrap()
                .subnet()
                .unwrap()
                .subnet_id()
                .unwrap()
                .to_string()
        }
    };
    let public_a = subnet(1, zones[0]).await;
    let public_e = subnet(2, zones[1]).await;
    let nat = subnet(3, zones[2]).await;
    let private = subnet(4, zones[3]).await;
    let table = || {
        let ec2 = ec2.clone();
        let vpc = vpc.clone();
        async move {
            ec2.create_route_table()
                .vpc_id(vpc)
                .send()
                .await
                .unwrap()
                .route_table()
                .unwrap()
                .route_table_id()
                .unwrap()
                .to_string()
        }
    };
    let igw = internet_gateway(aws, region, &vpc).await;
    let public_table = table().await;
    ec2.create_route()
        .route_table_id(&public_table)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw)
        .send()
        .await
        .unwrap();
    for s in [&public_a, &public_e] {
        ec2.associate_route_table()
            .route_table_id(&public_table)
            .subnet_id(s)
            .send()
            .await
            .unwrap();
    }
    let eip = ec2
        .allocate_address()
        .domain(aws_sdk_ec2::types::DomainType::Vpc)
        .send()
        .await
        .unwrap();
    let gateway = ec2
        .create_nat_gateway()
        .subnet_id(&public_a)
        .allocation_id(eip.allocation_id().unwrap())
        .send()
        .await
        .unwrap();
    let nat_id = gateway.nat_gateway().unwrap().nat_gateway_id().unwrap();
    let nat_table = table().await;
    ec2.create_route()
        .route_table_id(&nat_table)
        .destination_cidr_block("0.0.0.0/0")
        .nat_gateway_id(nat_id)
        .send()
        .await
        .unwrap();
    ec2.associate_route_table()
        .route_table_id(&nat_table)
        .subnet_id(&nat)
        .send()
        .await
        .unwrap();
    TestVpc {
        vpc,
        public_a,
        public_e,
        nat,
        private,
    }
}

fn network(vpc: Option<&str>, subnets: &[&str]) -> brood_aws_fleet::network::RegionNetwork {
    brood_aws_fleet::network::RegionNetwork {
        vpc: vpc.map(str::to_string),
        subnets: subnets.iter().map(|s| s.to_string()).collect(),
        security_group: None,
    }
}

/// The launch template's network interfaces and security groups, and the group's subnets and
/// suspended processes, in `region`.
struct Network {
    public_ip: Option<bool>,
    interface_groups: Vec<String>,
    template_groups: Vec<String>,
    subnets: String,
    suspended: Vec<String>,
}

async fn fleet_network(aws: &Aws, d: &str, region: &str) -> Network {
    let versions = aws
        .ec2(region)
        .describe_launch_template_versions()
        .launch_template_name(format!("brood-{d}-worker"))
        .versions("$Default")
        .send()
        .await
        .unwrap();
    let data = versions.launch_template_versions()[0]
        .launch_template_data()
        .unwrap();
    let interface = data.network_interfaces().first();
    let groups = aws
        .autoscaling(region)
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(format!("brood-{d}-workers"))
        .send()
        .await
        .unwrap();
    let g = &groups.auto_scaling_groups()[0];
    Network {
        public_ip: interface.and_then(|i| i.associate_public_ip_address()),
        interface_groups: interface.map(|i| i.groups().to_vec()).unwrap_or_default(),
        template_groups: data.security_group_ids().to_vec(),
        subnets: g.vpc_zone_identifier().unwrap_or_default().to_string(),
        suspended: g
            .suspended_processes()
            .iter()
            .filter_map(|p| p.process_name().map(str::to_string))
            .collect(),
    }
}

#[tokio::test]
async fn a_fleet_in_a_vpc_uses_only_subnets_with_a_way_out() {
    let aws = aws().await;
    let d = "net-vpc";
    let region = "us-east-1";
    let net = test_vpc(&aws, region, 71, ["a", "e", "b", "c"]).await;
    let mut given = options(d, &[region]);
    given
        .networks
        .insert(region.into(), network(Some(&net.vpc), &[]));
    let report = setup(&aws, &given).await.unwrap();
    assert!(
        report.lines.iter().any(|l| l.contains(&net.public_a)
            && l.contains(&net.public_e)
            && !l.contains(&net.private)
            && !l.contains(&net.nat)),
        "{:?}",
        report.lines
    );
    // What setup chose is stored for runs.
    assert_eq!(
        report.config.networks[region].vpc.as_deref(),
        Some(net.vpc.as_str())
    );
    let dir = tempfile::tempdir().unwrap();
    let fleet = |config: brood_aws_fleet::DeploymentConfig, run: &str| {
        AsgFleet::new(
            aws.clone(),
            report.deployment.clone(),
            config,
            FleetOptions {
                run_id: run.into(),
                worker_binary: fake_binary(dir.path()),
                instance_type: Some("t3.small".into()),
                ami: Default::default(),
                spot: false,
                idle_exit: "3m".into(),
                stop_after: STOP_AFTER,
            },
        )
    };
    let request = |run: &str| FleetRequest {
        region: region.into(),
        workers: 1,
        jobs: QueueName(format!("jobs-{region}")),
        controller: QueueName(format!("controller-{run}")),
        controller_key: "ab".repeat(32),
    };
    let statuses = fleet(report.config.clone(), "run-net-1")
        .up(&request("run-net-1"))
        .await
        .unwrap();
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    let got = fleet_network(&aws, d, region).await;
    // Zone e offers no t3.small on the test server: its public subnet is left out too.
    assert_eq!(got.subnets, net.public_a);
    assert_eq!(got.public_ip, Some(true));
    assert_eq!(
        got.interface_groups.len(),
        1,
        "the group is on the interface"
    );
    assert!(got.template_groups.is_empty(), "{:?}", got.template_groups);
    assert_eq!(got.suspended, vec!["AZRebalance".to_string()]);
    let group = aws
        .ec2(region)
        .describe_security_groups()
        .group_ids(&got.interface_groups[0])
        .send()
        .await
        .unwrap();
    assert_eq!(group.security_groups()[0].vpc_id(), Some(net.vpc.as_str()));

    // A named private subnet without a way out is refused, naming it, the region and the option.
    let mut private = options(d, &[region]);
    private
        .networks
        .insert(region.into(), network(None, &[&net.private]));
    let e = setup(&aws, &private).await.unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{region}: subnet {} has no route out (its route table sends 0.0.0.0/0 to no internet \
             gateway or NAT gateway); give --subnets with subnets that reach the internet",
            net.private
        )
    );
    // A named subnet behind a NAT gateway is taken, without a public IP.
    let mut nat = options(d, &[region]);
    nat.networks
        .insert(region.into(), network(None, &[&net.nat]));
    let report = setup(&aws, &nat).await.unwrap();
    assert_eq!(
        report.config.networks[region].subnets,
        vec![net.nat.clone()]
    );
    fleet(report.config.clone(), "run-net-2")
        .up(&request("run-net-2"))
        .await
        .unwrap();
    let got = fleet_network(&aws, d, region).await;
    assert_eq!(got.subnets, net.nat);
    assert_eq!(got.public_ip, None);
    assert_eq!(got.template_groups.len(), 1, "{:?}", got.template_groups);
    assert_eq!(got.suspended, vec!["AZRebalance".to_string()]);

    fleet(report.config.clone(), "run-net-2")
        .down(region)
        .await
        .unwrap();
    let report = cleanup(&aws, &cleanup_options(d)).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let left = tagged(&aws, d, &[region]).await;
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn a_region_without_a_default_vpc_needs_the_vpc_named() {
    use aws_sdk_ec2::types::Filter;
    let aws = aws().await;
    // A region no other test uses: its default VPC is deleted here.
    let region = "ca-central-1";
    let ec2 = aws.ec2(region);
    let vpcs = ec2
        .describe_vpcs()
        .filters(Filter::builder().name("isDefault").values("true").build())
        .send()
        .await
        .unwrap();
    for vpc in vpcs.vpcs() {
        let vpc = vpc.vpc_id().unwrap();
        let subnets = ec2
            .describe_subnets()
            .filters(Filter::builder().name("vpc-id").values(vpc).build())
            .send()
            .await
            .unwrap();
        for s in subnets.subnets() {
            ec2.delete_subnet()
                .subnet_id(s.subnet_id().unwrap())
                .send()
                .await
                .unwrap();
        }
        ec2.delete_vpc().vpc_id(vpc).send().await.unwrap();
    }
    let e = setup(&aws, &options("net-none", &[region]))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!("{region}: no default VPC; give --vpc and --subnets")
    );
    // Named, a VPC of the region is used.
    let net = test_vpc(&aws, region, 72, ["a", "b", "d", "a"]).await;
    let mut given = options("net-none", &[region]);
    given
        .networks
        .insert(region.into(), network(Some(&net.vpc), &[]));
    setup(&aws, &given).await.unwrap();
    let report = cleanup(&aws, &cleanup_options("net-none")).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}
