//! `brood aws setup`: creates, or finds, everything a deployment needs, idempotently: the bucket
//! (tagged, private, with a lifecycle rule expiring `runs/`), the workers' role and instance
//! profile with their least-privilege policy, and per region the jobs queue with its dead-letter
//! queue, the subnets workers will use (checked for a way out) and an egress-only security group
//! (unless one is given). The settings, with the allow-list and the network choices, go into the
//! bucket.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use brood_aws::Deployment;
use futures::future::try_join_all;

use crate::aws::{aws_error, code, retry, tag_pairs};
use crate::config::{normalize_allowed, DeploymentConfig};
use crate::network::RegionNetwork;
use crate::placement;
use crate::policy::{
    trust_policy, worker_policy, PolicyScope, BINARY_PREFIX, RESULTS_PREFIX, SPILL_PREFIX,
};
use crate::{Aws, FleetError};

/// Run data expires after this many days unless set.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;
/// Uploaded worker binaries expire after this many days (one per version and checksum pile up).
pub const BINARY_EXPIRY_DAYS: u32 = 30;
/// Multipart uploads left incomplete are aborted after this many days.
pub const ABORT_UPLOADS_AFTER_DAYS: u32 = 1;
/// How long setup waits for SQS to take a queue's name again: AWS refuses the name of a queue
/// deleted less than 60 s ago (`brood cleanup` right before `brood aws setup`).
pub const QUEUE_NAME_REUSE_WAIT: Duration = Duration::from_secs(70);
/// How often a refused queue name is tried again.
const QUEUE_NAME_POLL: Duration = Duration::from_secs(5);
/// Messages a worker could not process go to the dead-letter queue after this many receipts.
const MAX_RECEIVES: u32 = 5;
pub(crate) use crate::policy::IAM_PATH;

#[derive(Clone, Debug, Default)]
pub struct SetupOptions {
    /// `default` unless named.
    pub deployment: String,
    pub regions: Vec<String>,
    pub bucket: Option<String>,
    pub allow_targets: Vec<String>,
    pub retention_days: Option<u32>,
    /// Per region, the network `--vpc`, `--subnets` and `--security-group` chose
    /// ([`crate::network::parse_network`]); it replaces what the deployment stored for that
    /// region. Regions not named keep theirs.
    pub networks: BTreeMap<String, RegionNetwork>,
}

/// What setup did.
#[derive(Clone, Debug)]
pub struct SetupReport {
    pub deployment: Deployment,
    pub config: DeploymentConfig,
    /// `created …` or `found …`, one line per resource.
    pub lines: Vec<String>,
    pub elapsed: Duration,
}

/// Checks a deployment name: lowercase letters, digits and `-`, up to 20 characters.
pub fn check_deployment_name(name: &str) -> Result<(), FleetError> {
    let ok = !name.is_empty()
        && name.len() <= 20
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(FleetError::Invalid {
            field: "--deployment".into(),
            message: format!("{name:?}: use 1 to 20 lowercase letters, digits and inner `-`"),
        })
    }
}

/// Checks a region name such as `eu-west-1`, by brood-aws's one rule, as a `--regions` error.
pub fn check_region(region: &str) -> Result<(), FleetError> {
    brood_aws::check_region(region).map_err(|e| FleetError::Invalid {
        field: "--regions".into(),
        message: e.to_string(),
    })
}

/// Refuses a region the account cannot use, before anything is created there: one EC2 does not
/// list (`DescribeRegions` with `AllRegions`, from the home region), or an opt-in region not
/// enabled for the account, with how to enable it.
pub async fn check_regions_enabled(aws: &Aws, regions: &[String]) -> Result<(), FleetError> {
    if regions.is_empty() {
        return Ok(());
    }
    let home = &aws.home_region;
    let out = aws
        .ec2(home)
        .describe_regions()
        .all_regions(true)
        .send()
        .await
        .map_err(|e| aws_error("DescribeRegions", home, "regions", e))?;
    let known: Vec<(&str, &str)> = out
        .regions()
        .iter()
        .filter_map(|r| Some((r.region_name()?, r.opt_in_status().unwrap_or(""))))
        .collect();
    for region in regions {
        if let Some(problem) = region_problem(region, &known) {
            return Err(FleetError::Invalid {
                field: "--regions".into(),
                message: problem,
            });
        }
    }
    Ok(())
}

/// Why the account cannot use `region`, given each region EC2 lists with its opt-in status.
pub fn region_problem(region: &str, known: &[(&str, &str)]) -> Option<String> {
    let enable = format!(
        "enable it in the AWS console (account menu, AWS Regions) or with `aws account \
         enable-region --region-name {region}`, wait until it shows as enabled (minutes to hours), \
         then run again"
    );
    match known.iter().find(|(name, _)| *name == region) {
        None => {
            let mut names: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
            names.sort_unstable();
            Some(format!(
                "{region} is not a region this account's partition knows (EC2 lists: {})",
                names.join(", ")
            ))
        }
        Some((_, "opt-in-not-required" | "opted-in")) => None,
        Some((_, "not-opted-in")) => Some(format!(
            "{region} is an opt-in region that is not enabled for this account: {enable}"
        )),
        Some((_, "opting-in")) => Some(format!(
            "{region} is being enabled for this account; wait until it shows as enabled and run \
             again"
        )),
        Some((_, status)) => Some(format!(
            "{region} cannot be used by this account (opt-in status {status:?}): {enable}"
        )),
    }
}

pub async fn setup(aws: &Aws, options: &SetupOptions) -> Result<SetupReport, FleetError> {
    let started = Instant::now();
    let name = if options.deployment.is_empty() {
        "default"
    } else {
        &options.deployment
    };
    check_deployment_name(name)?;
    for r in &options.regions {
        check_region(r)?;
    }
    let allowed = options
        .allow_targets
        .iter()
        .map(|a| normalize_allowed(a))
        .collect::<Result<Vec<_>, _>>()?;
    let deployment = Deployment {
        name: name.to_string(),
        home_region: aws.home_region.clone(),
        account: aws.account().await?,
    };
    // Before anything is made: a region the account cannot use would fail half-way through.
    check_regions_enabled(aws, &options.regions).await?;
    let bucket = options
        .bucket
        .clone()
        .unwrap_or_else(|| deployment.default_bucket());
    let mut lines = Vec::new();
    lines.push(ensure_bucket(aws, &deployment, &bucket).await?);
    let mut config = read_config(aws, &bucket)
        .await?
        .unwrap_or_else(|| DeploymentConfig {
            deployment: deployment.name.clone(),
            home_region: deployment.home_region.clone(),
            bucket: bucket.clone(),
            retention_days: DEFAULT_RETENTION_DAYS,
            ..Default::default()
        });
    if config.deployment != deployment.name || config.home_region != deployment.home_region {
        return Err(FleetError::Deployment {
            deployment: deployment.name.clone(),
            message: format!(
                "bucket {bucket} belongs to deployment {} homed in {}",
                config.deployment, config.home_region
            ),
        });
    }
    config.regions.extend(options.regions.iter().cloned());
    for (region, network) in &options.networks {
        if !config.regions.contains(region) {
            return Err(FleetError::Invalid {
                field: "--regions".into(),
                message: format!("{region} has a network choice but is not among the regions"),
            });
        }
        config.networks.insert(region.clone(), network.clone());
    }
    config.allowed_targets.extend(allowed);
    if let Some(days) = options.retention_days {
        if days == 0 {
            return Err(FleetError::Invalid {
                field: "--retention-days".into(),
                message: "must be at least 1".into(),
            });
        }
        config.retention_days = days;
    }
    lines.push(ensure_lifecycle(aws, &bucket, config.retention_days).await?);
    let d = &deployment;
    let regional = try_join_all(config.regions.iter().map(|r| {
        let network = config.networks.get(r).cloned().unwrap_or_default();
        async move { ensure_region(aws, d, r, &network).await }
    }))
    .await?;
    lines.extend(regional.into_iter().flatten());
    lines.extend(ensure_role(aws, &deployment).await?);
    let groups = group_arns(aws, &deployment, &config).await?;
    put_worker_policy(aws, &deployment, &config, groups).await?;
    lines.push(format!(
        "policy {} (least privilege)",
        deployment.worker_role()
    ));
    write_config(aws, &config).await?;
    lines.push(format!("settings s3://{bucket}/{}", Deployment::CONFIG_KEY));
    Ok(SetupReport {
        deployment,
        config,
        lines,
        elapsed: started.elapsed(),
    })
}

/// The deployment's settings from its bucket; `None` when the bucket has none yet.
pub async fn read_config(aws: &Aws, bucket: &str) -> Result<Option<DeploymentConfig>, FleetError> {
    let s3 = aws.s3();
    let key = Deployment::CONFIG_KEY;
    match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => {
            let bytes = out.body.collect().await.map_err(|e| FleetError::Aws {
                operation: "GetObject",
                region: aws.home_region.clone(),
                resource: format!("s3://{bucket}/{key}"),
                message: e.to_string(),
                transient: true,
            })?;
            DeploymentConfig::from_json(&bytes.into_bytes(), &format!("s3://{bucket}/{key}"))
                .map(Some)
        }
        Err(e) if matches!(code(&e), Some("NoSuchKey") | Some("NoSuchBucket")) => Ok(None),
        Err(e) => Err(aws_error(
            "GetObject",
            &aws.home_region,
            &format!("s3://{bucket}/{key}"),
            e,
        )),
    }
}

async fn write_config(aws: &Aws, config: &DeploymentConfig) -> Result<(), FleetError> {
    let key = Deployment::CONFIG_KEY;
    retry(&[], || async {
        aws.s3()
            .put_object()
            .bucket(&config.bucket)
            .key(key)
            .content_type("application/json")
            .body(config.to_json().into())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                aws_error(
                    "PutObject",
                    &aws.home_region,
                    &format!("s3://{}/{key}", config.bucket),
                    e,
                )
            })
    })
    .await
}

async fn ensure_bucket(aws: &Aws, d: &Deployment, bucket: &str) -> Result<String, FleetError> {
    use aws_sdk_s3::types::{
        BucketLocationConstraint, CreateBucketConfiguration, PublicAccessBlockConfiguration, Tag,
        Tagging,
    };
    let s3 = aws.s3();
    let region = &aws.home_region;
    let res = format!("bucket {bucket}");
    let found = match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => true,
        Err(e) if matches!(code(&e), Some("NotFound") | Some("NoSuchBucket")) => false,
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => false,
        Err(e) => return Err(aws_error("HeadBucket", region, &res, e)),
    };
    if !found {
        let mut create = s3.create_bucket().bucket(bucket);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region.as_str()))
                    .build(),
            );
        }
        match create.send().await {
            Ok(_) => {}
            Err(e) if code(&e) == Some("BucketAlreadyOwnedByYou") => {}
            Err(e) => return Err(aws_error("CreateBucket", region, &res, e)),
        }
    }
    let tags = tag_pairs(&d.name, None)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid_build("bucket tags", e))?;
    let tagging = Tagging::builder()
        .set_tag_set(Some(tags))
        .build()
        .map_err(|e| invalid_build("bucket tags", e))?;
    s3.put_bucket_tagging()
        .bucket(bucket)
        .tagging(tagging)
        .send()
        .await
        .map_err(|e| aws_error("PutBucketTagging", region, &res, e))?;
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .block_public_policy(true)
                .ignore_public_acls(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws_error("PutPublicAccessBlock", region, &res, e))?;
    Ok(format!(
        "{} bucket {bucket} in {region}",
        if found { "found" } else { "created" }
    ))
}

async fn ensure_lifecycle(aws: &Aws, bucket: &str, days: u32) -> Result<String, FleetError> {
    use aws_sdk_s3::types::{
        AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
        LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
    };
    let rule = |id: &str, prefix: &str, days: u32| {
        LifecycleRule::builder()
            .id(id)
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
            .expiration(LifecycleExpiration::builder().days(days as i32).build())
            .build()
            .map_err(|e| invalid_build("lifecycle rule", e))
    };
    // An upload cut off half-way (a controller or worker killed while writing) is billed until
    // aborted; nothing of brood's resumes one.
    let abort_uploads = LifecycleRule::builder()
        .id("brood-abort-incomplete-uploads")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(ABORT_UPLOADS_AFTER_DAYS as i32)
                .build(),
        )
        .build()
        .map_err(|e| invalid_build("lifecycle rule", e))?;
    // The whole configuration is replaced each time, so setup run again leaves the same rules.
    // Spilled message bodies outlive no message: SQS keeps one 14 days at most. A worker binary
    // in use is uploaded again by the fleet before it would expire.
    let config = BucketLifecycleConfiguration::builder()
        .rules(rule("brood-expire-runs", RESULTS_PREFIX, days)?)
        .rules(rule("brood-expire-spilled-messages", SPILL_PREFIX, 14)?)
        .rules(rule(
            "brood-expire-worker-binaries",
            BINARY_PREFIX,
            BINARY_EXPIRY_DAYS,
        )?)
        .rules(abort_uploads)
        .build()
        .map_err(|e| invalid_build("lifecycle rule", e))?;
    aws.s3()
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(config)
        .send()
        .await
        .map_err(|e| {
            aws_error(
                "PutBucketLifecycleConfiguration",
                &aws.home_region,
                &format!("bucket {bucket}"),
                e,
            )
        })?;
    Ok(format!(
        "lifecycle: {RESULTS_PREFIX} expires after {days} days, {BINARY_PREFIX} after \
         {BINARY_EXPIRY_DAYS}, incomplete uploads are aborted after {ABORT_UPLOADS_AFTER_DAYS}"
    ))
}

fn invalid_build(what: &str, e: impl std::fmt::Display) -> FleetError {
    FleetError::Invalid {
        field: what.into(),
        message: e.to_string(),
    }
}

/// The jobs queue with its dead-letter queue, the subnets workers will use, and the security
/// group, of one region.
async fn ensure_region(
    aws: &Aws,
    d: &Deployment,
    region: &str,
    network: &RegionNetwork,
) -> Result<Vec<String>, FleetError> {
    let network_lines = async {
        let (vpc, chosen) = placement::subnets(aws, region, network).await?;
        let group = placement::security_group(aws, d, region, network, &vpc).await?;
        let ids: Vec<&str> = chosen.subnets.iter().map(|s| s.id.as_str()).collect();
        let way_out = if chosen.public_ip {
            "internet gateway, public IPs"
        } else {
            "NAT gateway, no public IPs"
        };
        Ok::<_, FleetError>(vec![
            format!(
                "subnets {} of {vpc} in {region} ({way_out})",
                ids.join(", ")
            ),
            group.1,
        ])
    };
    let (queues, network) = tokio::join!(ensure_queues(aws, d, region), network_lines);
    let mut lines = vec![queues?];
    lines.extend(network?);
    Ok(lines)
}

async fn ensure_queues(aws: &Aws, d: &Deployment, region: &str) -> Result<String, FleetError> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let sqs = aws.sqs(region);
    let tags = tag_pairs(&d.name, None);
    let dlq_name = d.jobs_dead_letter_queue();
    let mut create = sqs
        .create_queue()
        .queue_name(&dlq_name)
        .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600");
    for (k, v) in &tags {
        create = create.tags(k, v);
    }
    let dlq = create_queue_when_name_is_free(create, &dlq_name, region)
        .await
        .map_err(|e| aws_error("CreateQueue", region, &dlq_name, e))?;
    let dlq_url = dlq.queue_url.unwrap_or_default();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| aws_error("GetQueueAttributes", region, &dlq_name, e))?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap_or_default();
    let redrive = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": MAX_RECEIVES.to_string()});
    let jobs = d.jobs_queue();
    let mut create = sqs
        .create_queue()
        .queue_name(&jobs)
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string());
    for (k, v) in &tags {
        create = create.tags(k, v);
    }
    match create_queue_when_name_is_free(create, &jobs, region).await {
        Ok(_) => {}
        // An existing queue with other attributes: set ours.
        Err(e)
            if matches!(
                code(&e),
                Some("QueueAlreadyExists") | Some("QueueNameExists")
            ) =>
        {
            let url = sqs
                .get_queue_url()
                .queue_name(&jobs)
                .send()
                .await
                .map_err(|e| aws_error("GetQueueUrl", region, &jobs, e))?
                .queue_url
                .unwrap_or_default();
            sqs.set_queue_attributes()
                .queue_url(url)
                .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
                .send()
                .await
                .map_err(|e| aws_error("SetQueueAttributes", region, &jobs, e))?;
        }
        Err(e) => return Err(aws_error("CreateQueue", region, &jobs, e)),
    }
    Ok(format!("queues {jobs} and {dlq_name} in {region}"))
}

/// Creates a queue, waiting while SQS refuses its name because a queue of that name was deleted
/// less than 60 s ago (`QueueDeletedRecently`: setup right after `brood cleanup`), for up to
/// [`QUEUE_NAME_REUSE_WAIT`]; any other answer is returned as it is.
pub(crate) async fn create_queue_when_name_is_free(
    create: aws_sdk_sqs::operation::create_queue::builders::CreateQueueFluentBuilder,
    queue: &str,
    region: &str,
) -> Result<
    aws_sdk_sqs::operation::create_queue::CreateQueueOutput,
    aws_sdk_sqs::error::SdkError<
        aws_sdk_sqs::operation::create_queue::CreateQueueError,
        aws_sdk_sqs::config::http::HttpResponse,
    >,
> {
    let started = Instant::now();
    let mut told = false;
    loop {
        match create.clone().send().await {
            Err(e)
                if brood_aws::is_queue_deleted_recently(&e)
                    && started.elapsed() < QUEUE_NAME_REUSE_WAIT =>
            {
                if !told {
                    eprintln!(
                        "brood: {queue} in {region}: deleted less than 60 s ago; AWS refuses the \
                         name until then, waiting..."
                    );
                    told = true;
                }
                tokio::time::sleep(QUEUE_NAME_POLL).await;
            }
            other => return other,
        }
    }
}

/// The role and instance profile of the workers (same name).
async fn ensure_role(aws: &Aws, d: &Deployment) -> Result<Vec<String>, FleetError> {
    use aws_sdk_iam::types::Tag;
    let iam = aws.iam();
    let name = d.worker_role();
    let region = "global";
    let tags = || {
        tag_pairs(&d.name, None)
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid_build("IAM tags", e))
    };
    let mut lines = Vec::new();
    match iam
        .create_role()
        .role_name(&name)
        .path(IAM_PATH)
        .description("brood workers: only this deployment's queues, bucket prefixes and groups")
        .assume_role_policy_document(trust_policy().to_string())
        .set_tags(Some(tags()?))
        .send()
        .await
    {
        Ok(_) => lines.push(format!("created role {name}")),
        Err(e) if code(&e) == Some("EntityAlreadyExists") => {
            lines.push(format!("found role {name}"))
        }
        Err(e) => return Err(aws_error("CreateRole", region, &format!("role {name}"), e)),
    }
    match iam
        .create_instance_profile()
        .instance_profile_name(&name)
        .path(IAM_PATH)
        .set_tags(Some(tags()?))
        .send()
        .await
    {
        Ok(_) => lines.push(format!("created instance profile {name}")),
        Err(e) if code(&e) == Some("EntityAlreadyExists") => {
            lines.push(format!("found instance profile {name}"))
        }
        Err(e) => {
            return Err(aws_error(
                "CreateInstanceProfile",
                region,
                &format!("instance profile {name}"),
                e,
            ))
        }
    }
    let profile = iam
        .get_instance_profile()
        .instance_profile_name(&name)
        .send()
        .await
        .map_err(|e| {
            aws_error(
                "GetInstanceProfile",
                region,
                &format!("instance profile {name}"),
                e,
            )
        })?;
    let has_role = profile
        .instance_profile()
        .is_some_and(|p| p.roles().iter().any(|r| r.role_name() == name));
    if !has_role {
        match iam
            .add_role_to_instance_profile()
            .instance_profile_name(&name)
            .role_name(&name)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if code(&e) == Some("LimitExceeded") => {}
            Err(e) => {
                return Err(aws_error(
                    "AddRoleToInstanceProfile",
                    region,
                    &format!("instance profile {name}"),
                    e,
                ))
            }
        }
    }
    Ok(lines)
}

/// The ARNs of the deployment's groups that exist now, in the configured regions.
pub(crate) async fn group_arns(
    aws: &Aws,
    d: &Deployment,
    config: &DeploymentConfig,
) -> Result<Vec<String>, FleetError> {
    let lookups = config.regions.iter().map(|region| async move {
        let out = aws
            .autoscaling(region)
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(d.group())
            .send()
            .await
            .map_err(|e| aws_error("DescribeAutoScalingGroups", region, &d.group(), e))?;
        Ok::<_, FleetError>(
            out.auto_scaling_groups()
                .iter()
                .filter_map(|g| g.auto_scaling_group_arn.clone())
                .collect::<Vec<_>>(),
        )
    });
    Ok(try_join_all(lookups).await?.into_iter().flatten().collect())
}

/// Writes the workers' inline policy, scoped to the deployment as it is now.
pub(crate) async fn put_worker_policy(
    aws: &Aws,
    d: &Deployment,
    config: &DeploymentConfig,
    groups: Vec<String>,
) -> Result<(), FleetError> {
    let scope = PolicyScope {
        deployment: d.clone(),
        partition: aws.caller().await?.partition,
        bucket: config.bucket.clone(),
        regions: config.regions.iter().cloned().collect(),
        groups,
    };
    let policy = worker_policy(&scope);
    crate::policy::check_least_privilege(&policy, &scope).map_err(|m| FleetError::Invalid {
        field: "worker policy".into(),
        message: m,
    })?;
    let name = d.worker_role();
    retry(&["NoSuchEntity"], || async {
        aws.iam()
            .put_role_policy()
            .role_name(&name)
            .policy_name(&name)
            .policy_document(policy.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error("PutRolePolicy", "global", &format!("role {name}"), e))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_the_account_cannot_use_is_named_with_the_way_to_enable_it() {
        let known = [
            ("us-east-1", "opt-in-not-required"),
            ("ap-east-1", "not-opted-in"),
            ("me-south-1", "opted-in"),
            ("il-central-1", "opting-in"),
        ];
        assert_eq!(region_problem("us-east-1", &known), None);
        assert_eq!(region_problem("me-south-1", &known), None);
        let off = region_problem("ap-east-1", &known).unwrap();
        assert!(
            off.contains("ap-east-1")
                && off.contains("not enabled")
                && off.contains("enable-region --region-name ap-east-1"),
            "{off}"
        );
        let coming = region_problem("il-central-1", &known).unwrap();
        assert!(coming.contains("being enabled"), "{coming}");
        let unknown = region_problem("xx-east-9", &known).unwrap();
        assert!(
            unknown.contains("xx-east-9") && unknown.contains("us-east-1"),
            "{unknown}"
        );
    }

    #[test]
    fn deployment_and_region_names_are_checked() {
        check_deployment_name("team-a").unwrap();
        for bad in ["", "Team", "a_b", "-a", "a-", "x".repeat(21).as_str()] {
            let e = check_deployment_name(bad).unwrap_err().to_string();
            assert!(e.contains("--deployment"), "{bad}: {e}");
        }
        check_region("ap-south-1").unwrap();
        check_region("us-gov-west-1").unwrap();
        for bad in ["useast1", "us-east", "US-EAST-1", "us-east-x"] {
            assert!(
                check_region(bad)
                    .unwrap_err()
                    .to_string()
                    .contains("--regions"),
                "{bad}"
            );
        }
    }
}
