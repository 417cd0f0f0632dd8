//! brood's IAM policies, generated here and nowhere else.
//!
//! - [`worker_policy`]: the workers' role (written by `brood aws setup`): exactly the actions a
//!   worker performs, on exactly this deployment's queues, bucket prefixes and AutoScaling
//!   groups. No action has a wildcard and no resource is `*`; the only wildcards are trailing
//!   ones on names this deployment owns (per-run queues and keys are created per run, so they
//!   cannot be listed in advance), each right after a delimiter that no other deployment's names
//!   have there ([`check_least_privilege`] enforces this before setup writes the policy).
//! - [`operator_policy`]: what the person or CI role running `brood aws setup`, `brood run
//!   --backend aws` and `brood cleanup` needs (`brood aws policy` prints it): every call those
//!   commands make, on the deployment's resources by name, or by the `brood:deployment` tag where
//!   AWS names resources by id (launch templates, security groups); only `Describe*`/`List*`
//!   calls that have no resource in AWS are on `*`.
//!
//! Every ARN starts with the partition of the caller's own ARN (`aws`, `aws-cn`, `aws-us-gov`).
//! `scripts/iam-check.sh` lints both policies with parliament; `tests/iam_enforced.rs` checks the
//! workers' policy as moto's IAM enforcement evaluates it.

use brood_aws::Deployment;
use serde_json::{json, Value};

/// IAM paths keep brood's roles and profiles apart for listing.
pub(crate) const IAM_PATH: &str = "/brood/";

/// What the workers' policy is scoped to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyScope {
    pub deployment: Deployment,
    /// The partition every ARN starts with (`aws`, `aws-cn`, `aws-us-gov`), from the caller's
    /// own ARN ([`brood_aws::caller`]).
    pub partition: String,
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

/// The transport-level names of a run's queues (`brood_control::queues`): the controller's
/// `controller-<run>` and each worker's control queue `ctl-<run>-<worker>`.
const CONTROLLER_QUEUES: &str = "controller-";
const CONTROL_QUEUES: &str = "ctl-";

/// An SQS queue's ARN.
fn sqs_arn(partition: &str, region: &str, account: &str, name: &str) -> String {
    format!("arn:{partition}:sqs:{region}:{account}:{name}")
}

/// The inline policy document of the workers' role.
///
/// Each grant is what one queue needs from a worker: it takes jobs from its region's jobs
/// queue (receive, delete, extend), sends to its run's controller queue (send only: it cannot
/// read, drain, create or delete it) and reads its own control queue (receive, delete; the
/// controller creates and deletes control queues). Run queues are matched by
/// `brood-<deployment>_controller-*` and `brood-<deployment>_ctl-*`: the `_` cannot occur in a
/// deployment's name, so no other deployment's queue matches. Workers of one deployment share
/// this role, so IAM cannot tell one worker's control queue from another's; what a worker may
/// do with a message there is bounded by the controller's signature on it.
pub fn worker_policy(scope: &PolicyScope) -> Value {
    let d = &scope.deployment;
    let p = &scope.partition;
    let jobs: Vec<String> = scope
        .regions
        .iter()
        .map(|r| sqs_arn(p, r, &d.account, &d.jobs_queue()))
        .collect();
    let run_queues = |kind: &str| {
        sqs_arn(
            p,
            &d.home_region,
            &d.account,
            &format!("{}{kind}*", d.run_queue_prefix()),
        )
    };
    let bucket = format!("arn:{p}:s3:::{}", scope.bucket);
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
            "Sid": "ReportToTheController",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage", "sqs:GetQueueUrl"],
            "Resource": [run_queues(CONTROLLER_QUEUES)],
        }),
        json!({
            "Sid": "ReadTheControlQueue",
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueUrl"],
            "Resource": [run_queues(CONTROL_QUEUES)],
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
        // Without a list grant, S3 answers a read of a missing key with 403 instead of 404; the
        // transport drops a pointer whose body is gone (already acknowledged) only on a 404.
        json!({
            "Sid": "SeeMissingLargeMessages",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [bucket.clone()],
            "Condition": {"StringLike": {"s3:prefix": [format!("{SPILL_PREFIX}*")]}},
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

/// What the policy of the person (or CI role) running brood is scoped to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorScope {
    /// The deployment's name (`default` unless named).
    pub deployment: String,
    pub partition: String,
    pub account: String,
    /// The bucket: `brood-<deployment>-<account>` unless set up with `--bucket`.
    pub bucket: String,
    /// Regions the deployment may use, the home region among them; empty: any region.
    pub regions: Vec<String>,
}

/// The IAM policy for whoever runs `brood aws setup`, `brood run --backend aws` and
/// `brood cleanup` for one deployment: every call those commands make, each on this
/// deployment's own resources where the service can name them (the bucket, queues, role,
/// instance profile and groups by name; launch templates and security groups, whose ARNs hold
/// only ids, by the `brood:deployment` tag brood gives them in their create call). What is on
/// `*` is what AWS has no resource for: the read-only `Describe*`/`List*` calls that find
/// things (cleanup finds resources by tags), each listed by name.
pub fn operator_policy(scope: &OperatorScope) -> Value {
    let d = Deployment {
        name: scope.deployment.clone(),
        home_region: String::new(),
        account: scope.account.clone(),
    };
    let (p, a) = (&scope.partition, &scope.account);
    let regions: Vec<&str> = if scope.regions.is_empty() {
        vec!["*"]
    } else {
        scope.regions.iter().map(String::as_str).collect()
    };
    let each = |f: &dyn Fn(&str) -> Vec<String>| -> Vec<String> {
        regions.iter().flat_map(|r| f(r)).collect()
    };
    let bucket = format!("arn:{p}:s3:::{}", scope.bucket);
    let path = IAM_PATH;
    let role = format!("arn:{p}:iam::{a}:role{path}{}", d.worker_role());
    let profile = format!("arn:{p}:iam::{a}:instance-profile{path}{}", d.worker_role());
    let tagged = |key: &str| json!({"StringEquals": {key: scope.deployment}});
    let ec2 = |kind: &str| each(&|r| vec![format!("arn:{p}:ec2:{r}:{a}:{kind}/*")]);
    let templates = ec2("launch-template");
    let mut launched = ec2("instance");
    launched.extend(ec2("volume"));
    let mut launch_resources = launched.clone();
    launch_resources.extend(ec2("network-interface"));
    launch_resources.extend(ec2("subnet"));
    launch_resources.extend(ec2("security-group"));
    launch_resources.extend(each(&|r| vec![format!("arn:{p}:ec2:{r}::image/*")]));
    launch_resources.extend(templates.clone());
    let mut groups_in_vpcs = ec2("security-group");
    groups_in_vpcs.extend(ec2("vpc"));
    let mut tag_on_create = ec2("security-group");
    tag_on_create.extend(templates.clone());
    let own_groups_and_templates = tag_on_create.clone();
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TheBucket",
                "Effect": "Allow",
                "Action": [
                    "s3:CreateBucket", "s3:ListBucket", "s3:GetBucketTagging",
                    "s3:PutBucketTagging", "s3:PutBucketPublicAccessBlock",
                    "s3:PutLifecycleConfiguration", "s3:DeleteBucket"
                ],
                "Resource": [bucket],
            },
            {
                "Sid": "TheBucketsObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": [
                    format!("{bucket}/{}", Deployment::CONFIG_KEY),
                    format!("{bucket}/{}", crate::lock::LOCK_KEY),
                    format!("{bucket}/{BINARY_PREFIX}*"),
                    format!("{bucket}/{RESULTS_PREFIX}*"),
                    format!("{bucket}/{SPILL_PREFIX}*"),
                ],
            },
            // A worker binary over 8 MiB goes up in parts (s3:PutObject); a failed upload's
            // parts are removed.
            {
                "Sid": "AbandonABinaryUpload",
                "Effect": "Allow",
                "Action": ["s3:AbortMultipartUpload"],
                "Resource": [format!("{bucket}/{BINARY_PREFIX}*")],
            },
            // Cleanup empties the bucket before deleting it (and lifecycle rules, which setup
            // writes, may expire any key anyway).
            {
                "Sid": "EmptyTheBucket",
                "Effect": "Allow",
                "Action": ["s3:DeleteObject"],
                "Resource": [format!("{bucket}/*")],
            },
            {
                "Sid": "TheJobsQueues",
                "Effect": "Allow",
                "Action": [
                    "sqs:CreateQueue", "sqs:TagQueue", "sqs:ListQueueTags", "sqs:GetQueueUrl",
                    "sqs:GetQueueAttributes", "sqs:SetQueueAttributes", "sqs:SendMessage",
                    "sqs:DeleteQueue"
                ],
                "Resource": each(&|r| vec![
                    sqs_arn(p, r, a, &d.jobs_queue()),
                    sqs_arn(p, r, a, &d.jobs_dead_letter_queue()),
                ]),
            },
            {
                "Sid": "TheRunQueues",
                "Effect": "Allow",
                "Action": [
                    "sqs:CreateQueue", "sqs:TagQueue", "sqs:ListQueueTags", "sqs:GetQueueUrl",
                    "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility", "sqs:DeleteQueue"
                ],
                "Resource": each(&|r| vec![
                    sqs_arn(p, r, a, &format!("{}*", d.run_queue_prefix())),
                ]),
            },
            {
                "Sid": "TheWorkersRole",
                "Effect": "Allow",
                "Action": [
                    "iam:CreateRole", "iam:TagRole", "iam:PutRolePolicy", "iam:ListRolePolicies",
                    "iam:DeleteRolePolicy", "iam:ListRoleTags", "iam:ListInstanceProfilesForRole",
                    "iam:DeleteRole"
                ],
                "Resource": [role],
            },
            {
                "Sid": "TheWorkersInstanceProfile",
                "Effect": "Allow",
                "Action": [
                    "iam:CreateInstanceProfile", "iam:TagInstanceProfile",
                    "iam:GetInstanceProfile", "iam:AddRoleToInstanceProfile",
                    "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"
                ],
                "Resource": [profile],
            },
            {
                "Sid": "PassTheWorkersRoleToEc2",
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": [role],
                "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
            },
            {
                "Sid": "AutoScalingsServiceRoleOnFirstUse",
                "Effect": "Allow",
                "Action": ["iam:CreateServiceLinkedRole"],
                "Resource": [format!(
                    "arn:{p}:iam::{a}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
                )],
                "Condition": {"StringEquals": {"iam:AWSServiceName": "autoscaling.amazonaws.com"}},
            },
            {
                "Sid": "TaggedSecurityGroupsInTheWorkersVpc",
                "Effect": "Allow",
                "Action": ["ec2:CreateSecurityGroup"],
                "Resource": groups_in_vpcs,
                "Condition": tagged(&format!("aws:RequestTag/{}", brood_aws::TAG_DEPLOYMENT)),
            },
            {
                "Sid": "TaggedLaunchTemplates",
                "Effect": "Allow",
                "Action": ["ec2:CreateLaunchTemplate"],
                "Resource": templates.clone(),
                "Condition": tagged(&format!("aws:RequestTag/{}", brood_aws::TAG_DEPLOYMENT)),
            },
            {
                "Sid": "TagsInTheCreateCall",
                "Effect": "Allow",
                "Action": ["ec2:CreateTags"],
                "Resource": tag_on_create,
                "Condition": {"StringEquals": {
                    "ec2:CreateAction": ["CreateSecurityGroup", "CreateLaunchTemplate"]
                }},
            },
            {
                "Sid": "OwnSecurityGroupsAndTemplates",
                "Effect": "Allow",
                "Action": ["ec2:DeleteSecurityGroup", "ec2:DeleteLaunchTemplate"],
                "Resource": own_groups_and_templates,
                "Condition": tagged(&format!("ec2:ResourceTag/{}", brood_aws::TAG_DEPLOYMENT)),
            },
            // AutoScaling checks that whoever creates or updates a group from a launch template
            // may run instances from it. Only through a launch template, and none of another
            // deployment's (nor its security groups); subnets and images carry no brood tag.
            {
                "Sid": "InstancesFromLaunchTemplates",
                "Effect": "Allow",
                "Action": ["ec2:RunInstances"],
                "Resource": launch_resources,
                "Condition": {
                    "ArnLike": {"ec2:LaunchTemplate": templates},
                    "StringEqualsIfExists": {
                        format!("ec2:ResourceTag/{}", brood_aws::TAG_DEPLOYMENT): scope.deployment
                    },
                },
            },
            {
                "Sid": "TagsOfLaunchedInstances",
                "Effect": "Allow",
                "Action": ["ec2:CreateTags"],
                "Resource": launched,
                "Condition": {"StringEquals": {"ec2:CreateAction": "RunInstances"}},
            },
            {
                "Sid": "TheGroups",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:CreateAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup",
                    "autoscaling:CreateOrUpdateTags", "autoscaling:DeleteAutoScalingGroup",
                    "autoscaling:SuspendProcesses"
                ],
                "Resource": each(&|r| vec![format!(
                    "arn:{p}:autoscaling:{r}:{a}:autoScalingGroup:*:autoScalingGroupName/{}",
                    d.group()
                )]),
            },
            {
                "Sid": "AmazonLinuxImages",
                "Effect": "Allow",
                "Action": ["ssm:GetParameter"],
                "Resource": each(&|r| vec![format!(
                    // Public parameters have no account in their ARN; `*` matches that.
                    "arn:{p}:ssm:{r}:*:parameter/aws/service/ami-amazon-linux-latest/*"
                )]),
            },
            {
                "Sid": "FindThingsWhereAwsHasNoResource",
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeRegions", "ec2:DescribeVpcs", "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups", "ec2:DescribeLaunchTemplates",
                    "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeInstanceTypes",
                    "ec2:DescribeRouteTables", "ec2:DescribeInstanceTypeOfferings",
                    "autoscaling:DescribeAutoScalingGroups",
                    "sqs:ListQueues", "s3:ListAllMyBuckets", "iam:ListRoles",
                    "iam:ListInstanceProfiles"
                ],
                "Resource": "*",
            }
        ]
    })
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
/// names: every action is a full name, every resource is an ARN of the scope's partition naming
/// this deployment's bucket, queues or groups, and a `*` may only end a name this deployment
/// owns, right after a delimiter no other deployment's names have there (`/` after a bucket
/// prefix, `_<kind>-` after the deployment's prefix in a run queue's name).
pub fn check_least_privilege(policy: &Value, scope: &PolicyScope) -> Result<(), String> {
    let statements = policy["Statement"]
        .as_array()
        .ok_or("the policy has no Statement list")?;
    let d = &scope.deployment;
    let p = &scope.partition;
    let owned: Vec<String> = vec![
        format!("arn:{p}:s3:::{}/{RESULTS_PREFIX}", scope.bucket),
        format!("arn:{p}:s3:::{}/{BINARY_PREFIX}", scope.bucket),
        format!("arn:{p}:s3:::{}/{SPILL_PREFIX}", scope.bucket),
        format!(":{}:{}{CONTROLLER_QUEUES}", d.account, d.run_queue_prefix()),
        format!(":{}:{}{CONTROL_QUEUES}", d.account, d.run_queue_prefix()),
    ];
    let arn = format!("arn:{p}:");
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
            if !resource.starts_with(&arn) {
                return Err(format!("resource {resource:?} is not an ARN in {arn}"));
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
            partition: "aws".into(),
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
        assert!(text.contains("arn:aws:sqs:eu-west-1:123456789012:brood-team_ctl-*"));
        assert!(text.contains("autoScalingGroupName/brood-team-workers"));
    }

    /// The actions each resource gets, over all statements.
    fn grants(policy: &Value) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for s in policy["Statement"].as_array().unwrap() {
            for a in strings(&s["Action"]) {
                for r in strings(&s["Resource"]) {
                    out.push((a.clone(), r));
                }
            }
        }
        out
    }

    #[test]
    fn workers_only_send_to_the_controller_and_read_their_queues() {
        let policy = worker_policy(&scope());
        let g = grants(&policy);
        let on = |suffix: &str| -> Vec<&str> {
            let mut v: Vec<&str> = g
                .iter()
                .filter(|(_, r)| r.ends_with(suffix))
                .map(|(a, _)| a.as_str())
                .collect();
            v.sort();
            v.dedup();
            v
        };
        assert_eq!(
            on(":brood-team_controller-*"),
            ["sqs:GetQueueUrl", "sqs:SendMessage"]
        );
        assert_eq!(
            on(":brood-team_ctl-*"),
            ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]
        );
        assert_eq!(
            on(":brood-team-jobs"),
            [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage"
            ]
        );
        let text = policy.to_string();
        for never in [
            "sqs:CreateQueue",
            "sqs:DeleteQueue",
            "sqs:TagQueue",
            "sqs:PurgeQueue",
        ] {
            assert!(!text.contains(never), "{never}: {text}");
        }
        // Reading results is the controller's business.
        assert!(!g
            .iter()
            .any(|(a, r)| a == "s3:GetObject" && r.contains("/runs/")));
    }

    #[test]
    fn listing_the_bucket_is_limited_to_spilled_bodies() {
        let policy = worker_policy(&scope());
        let list = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| strings(&s["Action"]) == ["s3:ListBucket"])
            .expect("a ListBucket grant");
        assert_eq!(list["Resource"][0], "arn:aws:s3:::brood-team-123456789012");
        assert_eq!(list["Condition"]["StringLike"]["s3:prefix"][0], "spill/*");
    }

    #[test]
    fn arns_are_in_the_callers_partition() {
        let mut s = scope();
        s.partition = "aws-cn".into();
        s.groups.clear();
        let policy = worker_policy(&s);
        check_least_privilege(&policy, &s).unwrap();
        for (_, r) in grants(&policy) {
            assert!(r.starts_with("arn:aws-cn:"), "{r}");
        }
        // A policy in another partition than the scope's is refused.
        assert!(check_least_privilege(&worker_policy(&scope()), &s).is_err());
        let o = operator_scope();
        let o = OperatorScope {
            partition: "aws-us-gov".into(),
            ..o
        };
        for (_, r) in grants(&operator_policy(&o)) {
            assert!(r == "*" || r.starts_with("arn:aws-us-gov:"), "{r}");
        }
    }

    /// Whether an IAM resource pattern (only `*` wildcards) matches a name.
    fn matches(pattern: &str, name: &str) -> bool {
        let parts: Vec<&str> = pattern.split('*').collect();
        let mut rest = name;
        for (i, part) in parts.iter().enumerate() {
            if i == 0 {
                let Some(r) = rest.strip_prefix(part) else {
                    return false;
                };
                rest = r;
            } else if i == parts.len() - 1 {
                return rest.ends_with(part);
            } else {
                let Some(at) = rest.find(part) else {
                    return false;
                };
                rest = &rest[at + part.len()..];
            }
        }
        rest.is_empty()
    }

    #[test]
    fn no_deployments_patterns_match_another_deployments_resources() {
        // Names chosen so that one is the other's prefix, with the kinds of queue in between.
        let names = [
            "team",
            "team-ctl",
            "team-controller",
            "team-jobs",
            "t",
            "team-a",
        ];
        let resources = |name: &str| -> Vec<String> {
            let d = Deployment {
                name: name.into(),
                home_region: "eu-west-1".into(),
                account: "123456789012".into(),
            };
            let q = |n: String| format!("arn:aws:sqs:eu-west-1:123456789012:{n}");
            let b = d.default_bucket();
            vec![
                q(d.jobs_queue()),
                q(d.jobs_dead_letter_queue()),
                q(brood_aws::sqs_name(&d.run_queue("controller-r1"))),
                q(brood_aws::sqs_name(&d.run_queue("ctl-r1-w1"))),
                q(brood_aws::sqs_name(&d.run_queue(&format!("ctl-{}-w1", "r".repeat(80))))),
                format!("arn:aws:s3:::{b}"),
                format!("arn:aws:s3:::{b}/runs/r1/a/w1/stats.csv"),
                format!("arn:aws:s3:::{b}/spill/0"),
                format!("arn:aws:iam::123456789012:role/brood/{}", d.worker_role()),
                format!(
                    "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:x:autoScalingGroupName/{}",
                    d.group()
                ),
            ]
        };
        for mine in names {
            let d = Deployment {
                name: mine.into(),
                home_region: "eu-west-1".into(),
                account: "123456789012".into(),
            };
            let worker = worker_policy(&PolicyScope {
                deployment: d.clone(),
                partition: "aws".into(),
                bucket: d.default_bucket(),
                regions: vec!["eu-west-1".into()],
                groups: vec![],
            });
            let operator = operator_policy(&OperatorScope {
                deployment: mine.into(),
                partition: "aws".into(),
                account: "123456789012".into(),
                bucket: d.default_bucket(),
                regions: vec!["eu-west-1".into()],
            });
            let own = resources(mine);
            for (_, pattern) in grants(&worker).into_iter().chain(grants(&operator)) {
                if pattern == "*" {
                    continue;
                }
                for other in names.iter().filter(|o| **o != mine) {
                    for r in resources(other) {
                        assert!(
                            !matches(&pattern, &r),
                            "{mine}'s {pattern} matches {other}'s {r}"
                        );
                    }
                }
            }
            // And the patterns do cover the deployment's own run queues.
            for r in &own[2..5] {
                assert!(grants(&operator).iter().any(|(_, p)| matches(p, r)), "{r}");
            }
        }
    }

    fn operator_scope() -> OperatorScope {
        OperatorScope {
            deployment: "team".into(),
            partition: "aws".into(),
            account: "123456789012".into(),
            bucket: "brood-team-123456789012".into(),
            regions: vec![],
        }
    }

    #[test]
    fn the_operator_policy_names_every_action_and_scopes_what_it_can() {
        let policy = operator_policy(&operator_scope());
        for (action, resource) in grants(&policy) {
            assert!(!action.contains('*'), "{action}");
            let describe = ["Describe", "List"]
                .iter()
                .any(|v| action.split(':').nth(1).unwrap().starts_with(v));
            if resource == "*" {
                assert!(describe, "{action} on *");
            } else {
                assert!(
                    resource.contains("brood-team")
                        || resource.contains("launch-template/")
                        || resource.contains("security-group/")
                        || resource.contains("AWSServiceRoleForAutoScaling")
                        || action == "ec2:RunInstances"
                        || action == "ec2:CreateSecurityGroup"
                        || action == "ec2:CreateTags"
                        || action == "ssm:GetParameter",
                    "{action} on {resource}"
                );
            }
        }
        // Named regions replace the wildcard.
        let mut s = operator_scope();
        s.regions = vec!["eu-west-1".into(), "us-east-1".into()];
        let text = operator_policy(&s).to_string();
        assert!(text.contains("arn:aws:sqs:us-east-1:123456789012:brood-team-jobs"));
        assert!(!text.contains(":sqs:*:"), "{text}");
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
        // A pattern without the delimiter would match deployment `team-ctl`'s queues.
        assert!(check_least_privilege(
            &bad(
                "sqs:SendMessage",
                "arn:aws:sqs:eu-west-1:123456789012:brood-team-ctl-*"
            ),
            &s
        )
        .is_err());
        assert!(check_least_privilege(
            &bad(
                "sqs:SendMessage",
                "arn:aws:sqs:eu-west-1:123456789012:brood-team_ctl-*"
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
