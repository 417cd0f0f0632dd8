//! The fault proxy in front of the AWS-compatible test server (moto, started by
//! `scripts/moto.sh`, which exports `AWS_ENDPOINT_URL`): what it forwards arrives unchanged,
//! each rule fires the number of times it says, and the SDK parses each fault with AWS's code.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use brood_fault_proxy::{Fault, FaultProxy, Rule};

/// The test server's URL. The SDK prefers the environment's endpoint to the configuration's,
/// so it is read once and removed before any client is made: every client of this binary
/// names its endpoint (the server's or a proxy's) itself.
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

async fn config(endpoint: &str, region: &str) -> SdkConfig {
    brood_aws::sdk_config(region, None)
        .await
        .to_builder()
        .endpoint_url(endpoint)
        .build()
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

#[tokio::test]
async fn what_the_proxy_forwards_arrives_unchanged() {
    let moto = moto();
    let proxy = FaultProxy::start(moto, Vec::new()).unwrap();
    let through = aws_sdk_sqs::Client::new(&config(&proxy.url(), "eu-west-1").await);
    let direct = aws_sdk_sqs::Client::new(&config(moto, "eu-west-1").await);
    let url = through
        .create_queue()
        .queue_name("fault-proxy-forwarded")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let body = "ünïcode & <xml> \"quotes\" and a long tail ".repeat(200);
    through
        .send_message()
        .queue_url(&url)
        .message_body(&body)
        .send()
        .await
        .unwrap();
    let got = direct
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert_eq!(got.messages()[0].body(), Some(body.as_str()));
    // S3 (REST, path-style, a body of its own) goes through as well.
    let s3 = brood_aws::s3_client(&config(&proxy.url(), "us-east-1").await);
    s3.create_bucket()
        .bucket("fault-proxy-forwarded")
        .send()
        .await
        .unwrap();
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    s3.put_object()
        .bucket("fault-proxy-forwarded")
        .key("k")
        .body(bytes.clone().into())
        .send()
        .await
        .unwrap();
    let direct_s3 = brood_aws::s3_client(&config(moto, "us-east-1").await);
    let read = direct_s3
        .get_object()
        .bucket("fault-proxy-forwarded")
        .key("k")
        .send()
        .await
        .unwrap();
    assert_eq!(read.body.collect().await.unwrap().into_bytes(), bytes);
    assert_eq!(proxy.seen("CreateQueue"), 1);
    assert_eq!(proxy.seen("SendMessage"), 1);
    assert_eq!(proxy.seen("ReceiveMessage"), 0, "that one went direct");
}

#[tokio::test]
async fn a_queue_deleted_recently_is_refused_with_sqs_own_error_for_a_while() {
    let proxy = FaultProxy::start(
        moto(),
        vec![Rule {
            after: vec!["DeleteQueue".into()],
            within_secs: Some(2.0),
            same_queue: true,
            ..rule(
                "CreateQueue",
                Fault::Error {
                    code: "AWS.SimpleQueueService.QueueDeletedRecently".into(),
                    message: "You must wait 60 seconds after deleting a queue before you can \
                              create another with the same name."
                        .into(),
                    status: None,
                },
            )
        }],
    )
    .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&config(&proxy.url(), "us-east-1").await);
    let create = |name: &'static str| sqs.create_queue().queue_name(name).send();
    let url = create("fault-proxy-recent")
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sqs.delete_queue().queue_url(&url).send().await.unwrap();
    let e = create("fault-proxy-recent").await.unwrap_err();
    let service = e.as_service_error().expect("a service error");
    assert!(service.is_queue_deleted_recently(), "{service:?}");
    use aws_sdk_sqs::error::ProvideErrorMetadata;
    assert_eq!(
        service.code(),
        Some("AWS.SimpleQueueService.QueueDeletedRecently")
    );
    assert!(
        service.message().unwrap().contains("60 seconds"),
        "{service:?}"
    );
    create("fault-proxy-other").await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    create("fault-proxy-recent").await.unwrap();
    assert_eq!(proxy.fired("CreateQueue"), 1);
    assert_eq!(proxy.seen("CreateQueue"), 4);
}

#[tokio::test]
async fn ec2_and_autoscaling_errors_come_through_with_their_codes() {
    let proxy = FaultProxy::start(
        moto(),
        vec![
            Rule {
                times: Some(1),
                ..rule(
                    "DescribeSecurityGroups",
                    Fault::Error {
                        code: "DependencyViolation".into(),
                        message: "resource sg-1 has a dependent object".into(),
                        status: None,
                    },
                )
            },
            Rule {
                times: Some(2),
                ..rule("DescribeAutoScalingGroups", Fault::Throttle)
            },
            Rule {
                times: Some(2),
                ..rule("DescribeVpcs", Fault::Throttle)
            },
            Rule {
                times: Some(10),
                ..rule("DescribeLaunchTemplates", Fault::Throttle)
            },
        ],
    )
    .unwrap();
    let config = config(&proxy.url(), "eu-west-1").await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let e = ec2.describe_security_groups().send().await.unwrap_err();
    use aws_sdk_ec2::error::ProvideErrorMetadata;
    assert_eq!(e.code(), Some("DependencyViolation"), "{e:?}");
    assert_eq!(e.message(), Some("resource sg-1 has a dependent object"));
    ec2.describe_security_groups().send().await.unwrap();
    // A throttling burst shorter than the SDK's attempts is retried and the call succeeds.
    let asg = aws_sdk_autoscaling::Client::new(&config);
    asg.describe_auto_scaling_groups().send().await.unwrap();
    assert_eq!(
        (
            proxy.fired("DescribeAutoScalingGroups"),
            proxy.seen("DescribeAutoScalingGroups")
        ),
        (2, 3)
    );
    ec2.describe_vpcs().send().await.unwrap();
    assert_eq!(
        (proxy.fired("DescribeVpcs"), proxy.seen("DescribeVpcs")),
        (2, 3)
    );
    // A longer one ends after the SDK's attempts with EC2's own code.
    let e = ec2.describe_launch_templates().send().await.unwrap_err();
    assert_eq!(e.code(), Some("RequestLimitExceeded"), "{e:?}");
    assert_eq!(
        proxy.fired("DescribeLaunchTemplates"),
        brood_aws::MAX_ATTEMPTS
    );
}

#[tokio::test]
async fn a_failed_scaling_activity_is_added_to_the_answer() {
    let quota = "You have requested more vCPU capacity than your current vCPU limit of 0 allows \
                 for the instance bucket that the specified instance type belongs to.";
    let proxy = FaultProxy::start(
        moto(),
        vec![rule(
            "DescribeScalingActivities",
            Fault::FailedScalingActivity {
                message: quota.into(),
            },
        )],
    )
    .unwrap();
    let asg = aws_sdk_autoscaling::Client::new(&config(&proxy.url(), "eu-west-1").await);
    let before = SystemTime::now() - Duration::from_secs(1);
    let out = asg
        .describe_scaling_activities()
        .auto_scaling_group_name("brood-nowhere-workers")
        .send()
        .await
        .unwrap();
    let first = &out.activities()[0];
    use aws_sdk_autoscaling::types::ScalingActivityStatusCode;
    assert_eq!(
        first.status_code(),
        Some(&ScalingActivityStatusCode::Failed)
    );
    assert_eq!(first.status_message(), Some(quota));
    assert_eq!(
        first.auto_scaling_group_name(),
        Some("brood-nowhere-workers")
    );
    let started = SystemTime::try_from(*first.start_time().unwrap()).unwrap();
    assert!(started >= before, "{started:?} is before {before:?}");
    assert_eq!(proxy.fired("DescribeScalingActivities"), 1);
}
