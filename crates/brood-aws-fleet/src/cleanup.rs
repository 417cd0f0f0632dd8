//! `brood cleanup`: deletes everything a deployment created, in every region at once, found by its
//! tags with each service's own describe call (not from a local state file): AutoScaling groups
//! (forced, so their instances go too) with their scheduled actions, launch templates, security
//! groups, queues, the role with its instance profile and policy, the run lock, and with
//! `--purge-results` the bucket. Idempotent and resumable: what is already gone is simply not found.

use std::time::{Duration, Instant};

use brood_aws::{Deployment, TAG_DEPLOYMENT};
use futures::future::join_all;

use crate::aws::{aws_error, code, retry};
use crate::setup::IAM_PATH;
use crate::{Aws, FleetError};

#[derive(Clone, Debug, Default)]
pub struct CleanupOptions {
    pub deployment: String,
    pub dry_run: bool,
    pub purge_results: bool,
    /// Regions to search; empty: every region the account can use.
    pub regions: Vec<String>,
}

/// What cleanup found and removed (or, in a dry run, would remove).
#[derive(Clone, Debug, Default)]
pub struct CleanupReport {
    /// `kind name (region)`, one per resource.
    pub removed: Vec<String>,
    /// Failures, each naming its region and resource; a second run retries them.
    pub errors: Vec<String>,
    pub regions_searched: usize,
    pub elapsed: Duration,
    pub dry_run: bool,
}

impl CleanupReport {
    pub fn render(&self) -> String {
        let verb = if self.dry_run {
            "would remove"
        } else {
            "removed"
        };
        let mut out = String::new();
        for r in &self.removed {
            out += &format!("  {verb} {r}\n");
        }
        for e in &self.errors {
            out += &format!("  FAILED {e}\n");
        }
        out += &format!(
            "{verb} {} resources in {} regions in {:.1}s{}\n",
            self.removed.len(),
            self.regions_searched,
            self.elapsed.as_secs_f64(),
            if self.errors.is_empty() {
                String::new()
            } else {
                format!("; {} failed (run cleanup again)", self.errors.len())
            }
        );
        out
    }
}

pub async fn cleanup(aws: &Aws, options: &CleanupOptions) -> Result<CleanupReport, FleetError> {
    let started = Instant::now();
    let name = if options.deployment.is_empty() {
        "default"
    } else {
        &options.deployment
    };
    crate::setup::check_deployment_name(name)?;
    let deployment = Deployment {
        name: name.into(),
        home_region: aws.home_region.clone(),
        account: aws.account().await?,
    };
    let regions = if options.regions.is_empty() {
        all_regions(aws).await?
    } else {
        options.regions.clone()
    };
    let mut report = CleanupReport {
        regions_searched: regions.len(),
        dry_run: options.dry_run,
        ..Default::default()
    };
    let per_region = join_all(
        regions
            .iter()
            .map(|r| clean_region(aws, &deployment, r, options.dry_run)),
    );
    let (regional, global) = tokio::join!(per_region, clean_iam(aws, &deployment, options.dry_run));
    for (removed, errors) in regional.into_iter().chain([global]) {
        report.removed.extend(removed);
        report.errors.extend(errors);
    }
    let (removed, errors) = clean_buckets(aws, &deployment, options).await;
    report.removed.extend(removed);
    report.errors.extend(errors);
    report.elapsed = started.elapsed();
    Ok(report)
}

type Outcome = (Vec<String>, Vec<String>);

/// Every region enabled for the account.
async fn all_regions(aws: &Aws) -> Result<Vec<String>, FleetError> {
    let out = aws
        .ec2(&aws.home_region)
        .describe_regions()
        .send()
        .await
        .map_err(|e| aws_error("DescribeRegions", &aws.home_region, "regions", e))?;
    Ok(out
        .regions()
        .iter()
        .filter_map(|r| r.region_name.clone())
        .collect())
}

fn tag_filter(d: &Deployment) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name(format!("tag:{TAG_DEPLOYMENT}"))
        .values(&d.name)
        .build()
}

/// What one delete call found.
#[derive(Debug, PartialEq, Eq)]
enum Gone {
    /// Deleted by this call.
    Now,
    /// Gone already (an earlier cleanup, or another one at the same time).
    Already,
}

/// A delete call's answer: done, already gone (an error whose code contains one of
/// `already_gone`), or the failure naming the operation, region and resource.
fn deleted<T, E, R>(
    sent: Result<T, aws_sdk_ec2::error::SdkError<E, R>>,
    already_gone: &[&str],
    operation: &'static str,
    region: &str,
    resource: &str,
) -> Result<Gone, FleetError>
where
    E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match sent {
        Ok(_) => Ok(Gone::Now),
        Err(e) if code(&e).is_some_and(|c| already_gone.iter().any(|g| c.contains(g))) => {
            Ok(Gone::Already)
        }
        Err(e) => Err(aws_error(operation, region, resource, e)),
    }
}

/// Most a cleanup waits, per region, for the deployment's instances to finish terminating.
const TERMINATION_WAIT: Duration = Duration::from_secs(5 * 60);

/// Waits (bounded, printing what it waits for) until no instance of the deployment in `region`
/// is still running or terminating: their security groups cannot be deleted before.
async fn wait_for_instances(aws: &Aws, d: &Deployment, region: &str) -> Result<(), FleetError> {
    let ec2 = aws.ec2(region);
    let deadline = Instant::now() + TERMINATION_WAIT;
    let mut said = 0;
    loop {
        let out = ec2
            .describe_instances()
            .filters(tag_filter(d))
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("instance-state-name")
                    .set_values(Some(
                        ["pending", "running", "shutting-down", "stopping", "stopped"]
                            .map(String::from)
                            .to_vec(),
                    ))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| aws_error("DescribeInstances", region, "tagged instances", e))?;
        let left: usize = out.reservations().iter().map(|r| r.instances().len()).sum();
        if left == 0 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(FleetError::Aws {
                operation: "DescribeInstances",
                region: region.into(),
                resource: format!("{left} instances of deployment {}", d.name),
                message: "still terminating: run `brood cleanup` again in a few minutes".into(),
                transient: true,
            });
        }
        if left != said {
            eprintln!("brood cleanup: waiting for {left} instances to terminate in {region}");
            said = left;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// Groups first (forced: their instances terminate), then templates and queues; security groups
/// once the instances are gone.
async fn clean_region(aws: &Aws, d: &Deployment, region: &str, dry_run: bool) -> Outcome {
    let mut removed = Vec::new();
    let mut errors = Vec::new();
    let mut note = |r: Result<Vec<String>, FleetError>| match r {
        Ok(v) => removed.extend(v),
        Err(e) => errors.push(e.to_string()),
    };
    note(clean_groups(aws, d, region, dry_run).await);
    let (templates, queues) = tokio::join!(
        clean_templates(aws, d, region, dry_run),
        clean_queues(aws, d, region, dry_run)
    );
    note(templates);
    note(queues);
    if !dry_run {
        if let Err(e) = wait_for_instances(aws, d, region).await {
            note(Err(e));
            return (removed, errors);
        }
    }
    note(clean_security_groups(aws, d, region, dry_run).await);
    (removed, errors)
}

async fn clean_groups(
    aws: &Aws,
    d: &Deployment,
    region: &str,
    dry_run: bool,
) -> Result<Vec<String>, FleetError> {
    use aws_sdk_autoscaling::types::Filter;
    let asg = aws.autoscaling(region);
    let out = asg
        .describe_auto_scaling_groups()
        .filters(
            Filter::builder()
                .name(format!("tag:{TAG_DEPLOYMENT}"))
                .values(&d.name)
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws_error("DescribeAutoScalingGroups", region, "tagged groups", e))?;
    let mut removed = Vec::new();
    for g in out.auto_scaling_groups() {
        let name = g.auto_scaling_group_name().unwrap_or_default();
        removed.extend(clean_scheduled_actions(aws, region, name, dry_run).await?);
        if !dry_run {
            let sent = asg
                .delete_auto_scaling_group()
                .auto_scaling_group_name(name)
                .force_delete(true)
                .send()
                .await;
            // AutoScaling says ValidationError for a group that no longer exists.
            if deleted(
                sent,
                &["ValidationError"],
                "DeleteAutoScalingGroup",
                region,
                name,
            )? == Gone::Already
            {
                continue;
            }
        }
        removed.push(format!("group {name} ({region})"));
    }
    Ok(removed)
}

/// A group's scheduled actions (the run's scheduled stop), deleted before the group: AWS deletes
/// them with it, but the test server keeps them.
async fn clean_scheduled_actions(
    aws: &Aws,
    region: &str,
    group: &str,
    dry_run: bool,
) -> Result<Vec<String>, FleetError> {
    let asg = aws.autoscaling(region);
    let out = asg
        .describe_scheduled_actions()
        .auto_scaling_group_name(group)
        .send()
        .await
        .map_err(|e| aws_error("DescribeScheduledActions", region, group, e))?;
    let mut removed = Vec::new();
    for action in out.scheduled_update_group_actions() {
        let name = action.scheduled_action_name().unwrap_or_default();
        if !dry_run {
            let sent = asg
                .delete_scheduled_action()
                .auto_scaling_group_name(group)
                .scheduled_action_name(name)
                .send()
                .await;
            // AutoScaling says ValidationError for an action (or group) that no longer exists.
            if deleted(
                sent,
                &["ValidationError"],
                "DeleteScheduledAction",
                region,
                name,
            )? == Gone::Already
            {
                continue;
            }
        }
        removed.push(format!("scheduled action {name} of {group} ({region})"));
    }
    Ok(removed)
}

async fn clean_templates(
    aws: &Aws,
    d: &Deployment,
    region: &str,
    dry_run: bool,
) -> Result<Vec<String>, FleetError> {
    let ec2 = aws.ec2(region);
    let out = ec2
        .describe_launch_templates()
        .filters(tag_filter(d))
        .send()
        .await
        .map_err(|e| {
            aws_error(
                "DescribeLaunchTemplates",
                region,
                "tagged launch templates",
                e,
            )
        })?;
    let mut removed = Vec::new();
    for t in out.launch_templates() {
        let id = t.launch_template_id().unwrap_or_default();
        let name = t.launch_template_name().unwrap_or_default();
        if !dry_run {
            let sent = ec2
                .delete_launch_template()
                .launch_template_id(id)
                .send()
                .await;
            if deleted(sent, &["NotFound"], "DeleteLaunchTemplate", region, name)? == Gone::Already
            {
                continue;
            }
        }
        removed.push(format!("launch template {name} ({region})"));
    }
    Ok(removed)
}

/// EC2's code for a security group that something (a terminating instance) still uses.
const IN_USE: &str = "DependencyViolation";

async fn clean_security_groups(
    aws: &Aws,
    d: &Deployment,
    region: &str,
    dry_run: bool,
) -> Result<Vec<String>, FleetError> {
    let ec2 = aws.ec2(region);
    let out = ec2
        .describe_security_groups()
        .filters(tag_filter(d))
        .send()
        .await
        .map_err(|e| {
            aws_error(
                "DescribeSecurityGroups",
                region,
                "tagged security groups",
                e,
            )
        })?;
    let mut removed = Vec::new();
    for g in out.security_groups() {
        let id = g.group_id().unwrap_or_default();
        let name = g.group_name().unwrap_or_default();
        if !dry_run {
            // EC2 keeps a group in use for a while after its instances show terminated: that
            // DependencyViolation is retried for about 20 s before cleanup gives up on it.
            let gone = retry(&[IN_USE], || async {
                let sent = ec2.delete_security_group().group_id(id).send().await;
                deleted(sent, &["NotFound"], "DeleteSecurityGroup", region, name)
            })
            .await;
            match gone {
                Ok(Gone::Now) => {}
                Ok(Gone::Already) => continue,
                Err(FleetError::Aws { message, .. }) if message.starts_with(IN_USE) => {
                    return Err(FleetError::Aws {
                        operation: "DeleteSecurityGroup",
                        region: region.into(),
                        resource: format!("{name} ({id})"),
                        message: "still used by terminating instances: run `brood cleanup` \
                                  again in a minute"
                            .into(),
                        transient: true,
                    })
                }
                Err(e) => return Err(e),
            }
        }
        removed.push(format!("security group {name} ({region})"));
    }
    Ok(removed)
}

/// Queues named with the deployment's prefix and tagged with it (run queues made by the transport
/// carry the prefix; untagged ones with the prefix are the deployment's too).
async fn clean_queues(
    aws: &Aws,
    d: &Deployment,
    region: &str,
    dry_run: bool,
) -> Result<Vec<String>, FleetError> {
    let sqs = aws.sqs(region);
    // The jobs queue and its dead-letter queue by their names, run queues by their prefix
    // (`brood-<d>_`, which no other deployment's names start with): a listing by `brood-<d>-`
    // would also find the queues of a deployment named `<d>-something`.
    let ours = |name: &str| {
        name == d.jobs_queue()
            || name == d.jobs_dead_letter_queue()
            || name.starts_with(&d.run_queue_prefix())
    };
    let mut urls = Vec::new();
    for prefix in [d.jobs_queue(), d.run_queue_prefix()] {
        let mut token = None;
        loop {
            let out = sqs
                .list_queues()
                .queue_name_prefix(&prefix)
                .max_results(1000)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws_error("ListQueues", region, &prefix, e))?;
            urls.extend(
                out.queue_urls()
                    .iter()
                    .filter(|url| ours(url.rsplit('/').next().unwrap_or(url)))
                    .cloned(),
            );
            token = out.next_token;
            if token.is_none() {
                break;
            }
        }
    }
    let (sqs, prefix_name) = (&sqs, &d.name);
    let checks = urls.iter().map(|url| async move {
        let name = url.rsplit('/').next().unwrap_or(url).to_string();
        let tags = sqs
            .list_queue_tags()
            .queue_url(url)
            .send()
            .await
            .map_err(|e| aws_error("ListQueueTags", region, &name, e))?
            .tags
            .unwrap_or_default();
        let ours = match tags.get(TAG_DEPLOYMENT) {
            Some(v) => v == prefix_name,
            None => true,
        };
        if !ours {
            return Ok(None);
        }
        if !dry_run {
            match sqs.delete_queue().queue_url(url).send().await {
                Ok(_) => {}
                Err(e) if code(&e).is_some_and(|c| c.contains("NonExistentQueue")) => {
                    return Ok(None)
                }
                Err(e) => return Err(aws_error("DeleteQueue", region, &name, e)),
            }
        }
        Ok(Some(format!("queue {name} ({region})")))
    });
    let results = join_all(checks).await;
    let mut removed = Vec::new();
    for r in results {
        if let Some(line) = r? {
            removed.push(line);
        }
    }
    Ok(removed)
}

/// Roles and instance profiles under brood's IAM path tagged with the deployment.
async fn clean_iam(aws: &Aws, d: &Deployment, dry_run: bool) -> Outcome {
    match clean_iam_inner(aws, d, dry_run).await {
        Ok(removed) => (removed, Vec::new()),
        Err(e) => (Vec::new(), vec![e.to_string()]),
    }
}

async fn clean_iam_inner(
    aws: &Aws,
    d: &Deployment,
    dry_run: bool,
) -> Result<Vec<String>, FleetError> {
    let iam = aws.iam();
    let g = "global";
    let tagged = |tags: &[aws_sdk_iam::types::Tag]| {
        tags.iter()
            .any(|t| t.key() == TAG_DEPLOYMENT && t.value() == d.name)
    };
    let mut removed = Vec::new();
    let roles = iam
        .list_roles()
        .path_prefix(IAM_PATH)
        .send()
        .await
        .map_err(|e| aws_error("ListRoles", g, IAM_PATH, e))?;
    // A deployment has one role and one instance profile, of this name: others under the path
    // belong to other deployments, and their tags are not read.
    let own = d.worker_role();
    for role in roles.roles() {
        let name = role.role_name();
        if name != own {
            continue;
        }
        // A role (or profile, below) that another deployment's cleanup deletes between the
        // listing and this call is gone, and was not this deployment's.
        let tags = match iam.list_role_tags().role_name(name).send().await {
            Ok(tags) => tags,
            Err(e) if code(&e) == Some("NoSuchEntity") => continue,
            Err(e) => return Err(aws_error("ListRoleTags", g, name, e)),
        };
        if !tagged(tags.tags()) {
            continue;
        }
        if !dry_run {
            let policies = iam
                .list_role_policies()
                .role_name(name)
                .send()
                .await
                .map_err(|e| aws_error("ListRolePolicies", g, name, e))?;
            for p in policies.policy_names() {
                iam.delete_role_policy()
                    .role_name(name)
                    .policy_name(p)
                    .send()
                    .await
                    .map_err(|e| aws_error("DeleteRolePolicy", g, name, e))?;
            }
            let profiles = iam
                .list_instance_profiles_for_role()
                .role_name(name)
                .send()
                .await
                .map_err(|e| aws_error("ListInstanceProfilesForRole", g, name, e))?;
            for p in profiles.instance_profiles() {
                iam.remove_role_from_instance_profile()
                    .instance_profile_name(p.instance_profile_name())
                    .role_name(name)
                    .send()
                    .await
                    .map_err(|e| {
                        aws_error(
                            "RemoveRoleFromInstanceProfile",
                            g,
                            p.instance_profile_name(),
                            e,
                        )
                    })?;
            }
            iam.delete_role()
                .role_name(name)
                .send()
                .await
                .map_err(|e| aws_error("DeleteRole", g, name, e))?;
        }
        removed.push(format!("role {name} and its policy"));
    }
    let profiles = iam
        .list_instance_profiles()
        .path_prefix(IAM_PATH)
        .send()
        .await
        .map_err(|e| aws_error("ListInstanceProfiles", g, IAM_PATH, e))?;
    for p in profiles.instance_profiles() {
        let name = p.instance_profile_name();
        if name != own {
            continue;
        }
        // GetInstanceProfile carries the tags (not every AWS-compatible server has
        // ListInstanceProfileTags).
        let profile = match iam
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) if code(&e) == Some("NoSuchEntity") => continue,
            Err(e) => return Err(aws_error("GetInstanceProfile", g, name, e)),
        };
        let tags = profile
            .instance_profile
            .map(|p| p.tags.unwrap_or_default())
            .unwrap_or_default();
        if !tagged(&tags) {
            continue;
        }
        if !dry_run {
            for r in p.roles() {
                iam.remove_role_from_instance_profile()
                    .instance_profile_name(name)
                    .role_name(r.role_name())
                    .send()
                    .await
                    .map_err(|e| aws_error("RemoveRoleFromInstanceProfile", g, name, e))?;
            }
            iam.delete_instance_profile()
                .instance_profile_name(name)
                .send()
                .await
                .map_err(|e| aws_error("DeleteInstanceProfile", g, name, e))?;
        }
        removed.push(format!("instance profile {name}"));
    }
    Ok(removed)
}

/// The deployment's buckets: tagged with it, or of its default name (a setup that failed between
/// creating the bucket and tagging it); untagged buckets of other names, or ones this client
/// cannot read, are not ours.
async fn deployment_buckets(aws: &Aws, d: &Deployment) -> Result<Vec<String>, String> {
    let s3 = aws.s3();
    let buckets = match s3.list_buckets().send().await {
        Ok(out) => out.buckets.unwrap_or_default(),
        Err(e) => return Err(aws_error("ListBuckets", &aws.home_region, "buckets", e).to_string()),
    };
    let mut ours = Vec::new();
    for b in buckets {
        let Some(name) = b.name else { continue };
        let tagged = match s3.get_bucket_tagging().bucket(&name).send().await {
            Ok(t) => t
                .tag_set
                .iter()
                .any(|t| t.key == TAG_DEPLOYMENT && t.value == d.name),
            Err(_) => false,
        };
        if tagged || name == d.default_bucket() {
            ours.push(name);
        }
    }
    Ok(ours)
}

/// The deployment's buckets, emptied and deleted; or, keeping the results, only their run lock
/// removed (a run whose controller died leaves it until it expires).
async fn clean_buckets(aws: &Aws, d: &Deployment, options: &CleanupOptions) -> Outcome {
    let s3 = aws.s3();
    let region = aws.home_region.clone();
    let mut removed = Vec::new();
    let mut errors = Vec::new();
    let buckets = match deployment_buckets(aws, d).await {
        Ok(buckets) => buckets,
        Err(e) => return (removed, vec![e]),
    };
    for name in buckets {
        if !options.purge_results {
            match crate::lock::holder(aws, &name).await {
                Ok(None) => {}
                Ok(Some(h)) => {
                    if !options.dry_run {
                        if let Err(e) = crate::lock::remove(aws, &name).await {
                            errors.push(e.to_string());
                            continue;
                        }
                    }
                    removed.push(format!(
                        "run lock s3://{name}/{} (run {})",
                        crate::lock::LOCK_KEY,
                        h.run_id
                    ));
                }
                // No bucket of that name (any more), or not readable as a lock: nothing held.
                Err(e) => errors.push(e.to_string()),
            }
            continue;
        }
        if !options.dry_run {
            if let Err(e) = empty_and_delete(&s3, &name, &region).await {
                errors.push(e.to_string());
                continue;
            }
        }
        removed.push(format!("bucket {name} with its results"));
    }
    (removed, errors)
}

async fn empty_and_delete(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    region: &str,
) -> Result<(), FleetError> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    loop {
        let out = s3
            .list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| aws_error("ListObjectsV2", region, bucket, e))?;
        let keys: Vec<ObjectIdentifier> = out
            .contents()
            .iter()
            .filter_map(|o| o.key.clone())
            .filter_map(|k| ObjectIdentifier::builder().key(k).build().ok())
            .collect();
        if keys.is_empty() {
            break;
        }
        let delete = Delete::builder()
            .set_objects(Some(keys))
            .quiet(true)
            .build()
            .map_err(|e| FleetError::Invalid {
                field: "delete".into(),
                message: e.to_string(),
            })?;
        let out = s3
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| aws_error("DeleteObjects", region, bucket, e))?;
        // S3 answers 200 with an error per key it did not delete (AccessDenied, say): listing
        // again would find the same keys for ever.
        if let Some(e) = out.errors().first() {
            return Err(FleetError::Aws {
                operation: "DeleteObjects",
                region: region.into(),
                resource: format!("{bucket}/{}", e.key().unwrap_or_default()),
                message: format!(
                    "{}: {}",
                    e.code().unwrap_or("Error"),
                    e.message().unwrap_or("not deleted")
                ),
                transient: false,
            });
        }
    }
    match s3.delete_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(e) if code(&e) == Some("NoSuchBucket") => Ok(()),
        Err(e) => Err(aws_error("DeleteBucket", region, bucket, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_and_times() {
        let r = CleanupReport {
            removed: vec!["queue a (us-east-1)".into()],
            errors: vec![],
            regions_searched: 17,
            elapsed: Duration::from_millis(1500),
            dry_run: true,
        };
        let text = r.render();
        assert!(text.contains("would remove queue a"), "{text}");
        assert!(
            text.contains("would remove 1 resources in 17 regions in 1.5s"),
            "{text}"
        );
    }
}
