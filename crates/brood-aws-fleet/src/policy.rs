//! The workers' IAM policy: exactly the actions a worker performs, on exactly this deployment's
//! queues, bucket prefixes and AutoScaling groups. No action has a wildcard and no resource is `*`;
//! the only wildcards are trailing ones on names this deployment owns (per-run queues and keys are
//! created per run, so they cannot be listed in advance).

use brood_aws::Deployment;
use serde_json::{json, Value};

/// What the policy is scoped to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyScope {
    pub deployment: Deployment,
    pub bucket: String,
    /// Every region with a jobs queue (the home region's run queues are added separately).
    pub regions: Vec<String>,
    /// Full ARNs of the deployment's AutoScaling groups, known once the groups exist.
    pub groups: Vec<String>,
}

/// Bucket prefixes a worker touches: it writes results under `runs/`, reads the worker binary
/// under `bin/`, and writes, reads and deletes large message bodies under `spill/`.
pub const RESULTS_PREFIX: &str = "runs/";
pub const BINARY_PREFIX: &str = "bin/";
/// Message bodies too large for SQS (the transport's `SPILL_PREFIX`): written, read and deleted.
pub const SPILL_PREFIX: &str = "spill/";

/// The inline policy document of the workers' role.
pub fn worker_policy(scope: &PolicyScope) -> Value {
    let d = &scope.deployment;
    let sqs = |region: &str, name: &str| format!("arn:aws:sqs:{region}:{}:{name}", d.account);
    let jobs: Vec<String> = scope
        .regions
        .iter()
        .map(|r| sqs(r, &d.jobs_queue()))
        .collect();
    // Run queues (`controller-<run>`, `ctl-<run>-<worker>`) live in the home region only.
    let run_queues = vec![
        sqs(&d.home_region, &d.run_queue("controller-*")),
        sqs(&d.home_region, &d.run_queue("ctl-*")),
    ];
    let bucket = format!("arn:aws:s3:::{}", scope.bucket);
    let mut statements = vec![
        json!({
            "Sid": "TakeJobs",
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                "sqs:GetQueueUrl"
            ],
            "Resource": jobs,
        }),
        json!({
            "Sid": "TalkToTheController",
            "Effect": "Allow",
            "Action": [
                "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:CreateQueue",
                "sqs:TagQueue", "sqs:DeleteQueue"
            ],
            "Resource": run_queues,
        }),
        json!({
            "Sid": "StoreResults",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": [format!("{bucket}/{RESULTS_PREFIX}*")],
        }),
        json!({
            "Sid": "LargeMessages",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
            "Resource": [format!("{bucket}/{SPILL_PREFIX}*")],
        }),
        json!({
            "Sid": "FetchTheWorkerBinary",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [format!("{bucket}/{BINARY_PREFIX}*")],
        }),
    ];
    if !scope.groups.is_empty() {
        statements.push(json!({
            "Sid": "LeaveTheGroupWhenIdle",
            "Effect": "Allow",
            "Action": ["autoscaling:TerminateInstanceInAutoScalingGroup"],
            "Resource": scope.groups,
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The role's trust policy: only EC2 instances may assume it.
pub fn trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }],
    })
}

/// Checks that a policy grants no wildcard action and no resource beyond the deployment's own
/// names: every action is a full name, every resource is an ARN naming this deployment's bucket,
/// queues or groups, and a `*` may only end a name this deployment owns.
pub fn check_least_privilege(policy: &Value, scope: &PolicyScope) -> Result<(), String> {
    let statements = policy["Statement"]
        .as_array()
        .ok_or("the policy has no Statement list")?;
    let d = &scope.deployment;
    let owned: Vec<String> = vec![
        format!("arn:aws:s3:::{}/{RESULTS_PREFIX}", scope.bucket),
        format!("arn:aws:s3:::{}/{BINARY_PREFIX}", scope.bucket),
        format!("arn:aws:s3:::{}/{SPILL_PREFIX}", scope.bucket),
        format!(":{}:{}", d.account, d.run_queue("controller-")),
        format!(":{}:{}", d.account, d.run_queue("ctl-")),
    ];
    for s in statements {
        if s["Effect"] != "Allow" {
            continue;
        }
        for action in strings(&s["Action"]) {
            if action.contains('*') || !action.contains(':') {
                return Err(format!("action {action:?} is a wildcard"));
            }
        }
        for resource in strings(&s["Resource"]) {
            if !resource.starts_with("arn:aws:") {
                return Err(format!("resource {resource:?} is not an ARN"));
            }
            if let Some(star) = resource.find('*') {
                let ok = star == resource.len() - 1
                    && owned.iter().any(|o| resource[..star].ends_with(o.as_str()));
                if !ok {
                    return Err(format!("resource {resource:?} has a wildcard"));
                }
            }
            let mentions_deployment = resource.contains(&d.prefix())
                || resource.contains(&format!(":::{}", scope.bucket));
            if !mentions_deployment {
                return Err(format!("resource {resource:?} is not this deployment's"));
            }
        }
    }
    Ok(())
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> PolicyScope {
        PolicyScope {
            deployment: Deployment {
                name: "team".into(),
                home_region: "eu-west-1".into(),
                account: "123456789012".into(),
            },
            bucket: "brood-team-123456789012".into(),
            regions: vec!["eu-west-1".into(), "us-east-1".into()],
            groups: vec![
                "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:0f1e2d3c-aaaa-bbbb-cccc-111122223333:autoScalingGroupName/brood-team-workers".into(),
            ],
        }
    }

    #[test]
    fn the_worker_policy_has_no_wildcard_action_or_resource() {
        let s = scope();
        let policy = worker_policy(&s);
        check_least_privilege(&policy, &s).unwrap();
        let text = policy.to_string();
        assert!(!text.contains("\"*\""), "{text}");
        assert!(!text.contains("sqs:*") && !text.contains("s3:*"), "{text}");
        assert!(text.contains("arn:aws:sqs:us-east-1:123456789012:brood-team-jobs"));
        assert!(text.contains("arn:aws:sqs:eu-west-1:123456789012:brood-team-ctl-*"));
        assert!(text.contains("autoScalingGroupName/brood-team-workers"));
    }

    #[test]
    fn the_check_catches_wildcards_and_foreign_resources() {
        let s = scope();
        let bad = |action: &str, resource: &str| json!({"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]});
        assert!(check_least_privilege(
            &bad(
                "sqs:*",
                "arn:aws:sqs:eu-west-1:123456789012:brood-team-jobs"
            ),
            &s
        )
        .is_err());
        assert!(check_least_privilege(&bad("s3:GetObject", "*"), &s).is_err());
        assert!(check_least_privilege(
            &bad("s3:GetObject", "arn:aws:s3:::brood-team-123456789012/*"),
            &s
        )
        .is_err());
        assert!(check_least_privilege(
            &bad(
                "sqs:SendMessage",
                "arn:aws:sqs:*:123456789012:brood-team-jobs"
            ),
            &s
        )
        .is_err());
        assert!(check_least_privilege(
            &bad(
                "sqs:SendMessage",
                "arn:aws:sqs:eu-west-1:123456789012:other-queue"
            ),
            &s
        )
        .is_err());
        assert!(check_least_privilege(
            &bad(
                "sqs:SendMessage",
                "arn:aws:sqs:eu-west-1:123456789012:brood-team-jobs"
            ),
            &s
        )
        .is_ok());
    }

    #[test]
    fn only_ec2_may_assume_the_role() {
        let t = trust_policy();
        assert_eq!(
            t["Statement"][0]["Principal"]["Service"],
            "ec2.amazonaws.com"
        );
    }
}
