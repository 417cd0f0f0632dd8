//! `AsgFleet`: brood's `Fleet` on EC2. Per region a launch template (the current Amazon Linux 2023
//! AMI, the instance type, the user data that fetches the worker binary and starts `brood worker`,
//! the instance profile, shutdown terminates, IMDSv2 only, tags with the run, a public IP when the
//! subnets route to an internet gateway) and an AutoScaling group over the region's subnets with
//! a way out (`placement.rs`: the chosen or default VPC, in zones that offer the instance type)
//! whose desired capacity is the region's worker count, with AZ rebalancing suspended.
//! `down` scales the group to zero; `brood cleanup` deletes it.
//!
//! Each group also gets a scheduled action that sets it to zero shortly after the run's planned
//! end ([`stop_after`]): AutoScaling carries it out by itself, so instances do not outlive a run
//! whose controller is gone and whose workers cannot leave.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use base64::Engine as _;
use brood_aws::Deployment;
use brood_cluster::{BackendError, Fleet, FleetRequest, WorkerState, WorkerStatus};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::ami::Amis;
use crate::aws::{aws_error, code, retry_fresh_profile, tag_pairs};
use crate::config::DeploymentConfig;
pub use crate::elf::elf_arch;
use crate::placement::{placement, Placement};
use crate::pricing::{default_instance_type, Arch};
use crate::userdata::{render, WorkerBoot};
use crate::{Aws, FleetError};

/// How the fleet's instances are made.
#[derive(Clone, Debug)]
pub struct FleetOptions {
    pub run_id: String,
    /// The Linux `brood` binary the instances run.
    pub worker_binary: PathBuf,
    /// Default: small, of the binary's architecture.
    pub instance_type: Option<String>,
    /// Images by region (`--ami`); other regions get the current Amazon Linux 2023 AMI from the
    /// public SSM parameter.
    pub ami: Amis,
    pub spot: bool,
    /// The worker's `--idle-exit`.
    pub idle_exit: String,
    /// How long after `up` the group's scheduled action sets it to zero ([`stop_after`]).
    pub stop_after: Duration,
}

/// Time beyond the run's own length before the scheduled action stops its group: instances
/// booting, results uploading, clocks a little apart.
pub const STOP_MARGIN: Duration = Duration::from_secs(10 * 60);
/// The scheduled stop of a run without a run time (it runs until stopped): 24 hours after `up`.
pub const UNBOUNDED_RUN_STOP: Duration = Duration::from_secs(24 * 60 * 60);

/// How long after `up` a run's groups are set to zero whatever happens: the barrier's wait for
/// workers, the run time, the stop timeout and [`STOP_MARGIN`]; [`UNBOUNDED_RUN_STOP`] for a
/// run without a run time.
pub fn stop_after(
    run_time: Option<Duration>,
    stop_timeout: Duration,
    barrier_timeout: Duration,
) -> Duration {
    match run_time {
        Some(t) => barrier_timeout + t + stop_timeout + STOP_MARGIN,
        None => UNBOUNDED_RUN_STOP,
    }
}

/// The moment of the scheduled stop, in whole seconds (AutoScaling keeps no fraction), never
/// before `now + after`.
pub fn stop_time(now: SystemTime, after: Duration) -> SystemTime {
    let at = now + after;
    let since = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let whole = Duration::from_secs(since.as_secs() + u64::from(since.subsec_nanos() > 0));
    SystemTime::UNIX_EPOCH + whole
}

/// The name of the scheduled action that stops a deployment's group (unique per deployment, as
/// the test server keys scheduled actions by name alone).
pub fn stop_action_name(deployment: &Deployment) -> String {
    format!("{}-stop-by", deployment.group())
}

/// A binary uploaded this long before its expiry by the bucket's lifecycle rule is uploaded again.
pub const BINARY_RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// Whether an object uploaded at `uploaded` (Unix seconds) is far enough from its expiry
/// (`setup::BINARY_EXPIRY_DAYS` after upload) to be used as it is at `now`.
pub fn fresh_enough(uploaded: i64, now: SystemTime) -> bool {
    let expiry = Duration::from_secs(u64::from(crate::setup::BINARY_EXPIRY_DAYS) * 24 * 3600);
    let age = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
        .saturating_sub(uploaded);
    age < (expiry - BINARY_RENEW_BEFORE_EXPIRY).as_secs() as i64
}

/// The worker binary as uploaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadedBinary {
    pub key: String,
    pub sha256: String,
    pub arch: Arch,
}

#[derive(Debug)]
pub struct AsgFleet {
    aws: Aws,
    deployment: Deployment,
    config: DeploymentConfig,
    options: FleetOptions,
    binary: OnceCell<UploadedBinary>,
    /// When this fleet was made: scaling activities before it belong to earlier runs.
    since: std::time::SystemTime,
}

/// The first failed or cancelled scaling activity that started at or after `since` (Unix
/// seconds), as the sentence a user needs: AWS's own message (a vCPU quota, no capacity, a type
/// not offered in the zone, a key it may not use) with the instance type. AutoScaling retries a
/// failed launch, but these fail again, so the run should stop at once instead of waiting.
pub fn failed_launch(
    activities: &[aws_sdk_autoscaling::types::Activity],
    since: i64,
    instance_type: &Option<String>,
) -> Option<String> {
    use aws_sdk_autoscaling::types::ScalingActivityStatusCode as Code;
    activities
        .iter()
        .filter(|a| a.start_time().is_none_or(|t| t.secs() >= since))
        .find(|a| matches!(a.status_code(), Some(Code::Failed | Code::Cancelled)))
        .map(|a| {
            let message = a
                .status_message()
                .or(a.description())
                .unwrap_or("AutoScaling could not launch an instance");
            match instance_type {
                Some(t) => format!("launching {t}: {message}"),
                None => message.to_string(),
            }
        })
}

/// A binary as it is uploaded: gzip, which the AMI's `gunzip` unpacks.
pub fn pack(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to memory cannot fail.
    let _ = gz.write_all(bytes);
    gz.finish().unwrap_or_default()
}

/// The bucket key of a binary, gzip-compressed: one per version and checksum.
pub fn binary_key(version: &str, sha256: &str) -> String {
    format!(
        "{}{version}-{}/brood.gz",
        crate::policy::BINARY_PREFIX,
        &sha256[..16]
    )
}

impl AsgFleet {
    pub fn new(
        aws: Aws,
        deployment: Deployment,
        config: DeploymentConfig,
        options: FleetOptions,
    ) -> AsgFleet {
        AsgFleet {
            aws,
            deployment,
            config,
            options,
            binary: OnceCell::new(),
            since: std::time::SystemTime::now(),
        }
    }

    /// Uploads the worker binary unless this version and checksum are already in the bucket.
    pub async fn upload_binary(&self) -> Result<&UploadedBinary, FleetError> {
        self.binary
            .get_or_try_init(|| async {
                let path = &self.options.worker_binary;
                let original = crate::binary::read(path).await?;
                let info = crate::elf::inspect_bytes(&original)?;
                let arch = info.arch;
                let (bytes, warning) = crate::binary::strip_debug(original, &info);
                if let Some(warning) = warning {
                    eprintln!("brood: warning: {warning}");
                }
                // The checksum of what the instances run: the user data checks it after unpacking.
                let sha256 = hex(&Sha256::digest(&bytes));
                let key = binary_key(env!("CARGO_PKG_VERSION"), &sha256);
                let s3 = self.aws.s3();
                let bucket = &self.config.bucket;
                let region = &self.aws.home_region;
                // One uploaded long enough ago to expire soon (the bucket's lifecycle rule on
                // `bin/`) is uploaded again, so that it cannot vanish while instances boot.
                let exists = match s3.head_object().bucket(bucket).key(&key).send().await {
                    Ok(head) => head
                        .last_modified()
                        .is_none_or(|at| fresh_enough(at.secs(), SystemTime::now())),
                    Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => false,
                    Err(e) => {
                        return Err(aws_error(
                            "HeadObject",
                            region,
                            &format!("s3://{bucket}/{key}"),
                            e,
                        ))
                    }
                };
                if exists {
                    eprintln!(
                        "brood: the worker binary ({:.1} MB) is already in s3://{bucket}/{key}",
                        bytes.len() as f64 / 1e6
                    );
                } else {
                    // Compressed: every instance downloads the binary on boot.
                    let body = pack(&bytes);
                    eprintln!(
                        "brood: uploading the worker binary ({:.1} MB, {:.1} MB compressed) to \
                         s3://{bucket}/{key}",
                        bytes.len() as f64 / 1e6,
                        body.len() as f64 / 1e6
                    );
                    crate::binary::put(&s3, bucket, &key, body, region).await?;
                }
                Ok(UploadedBinary { key, sha256, arch })
            })
            .await
    }

    /// The instance type, checked against the binary's architecture as EC2 in `region`
    /// describes it.
    async fn instance_type(&self, region: &str, arch: Arch) -> Result<String, FleetError> {
        let t = self
            .options
            .instance_type
            .clone()
            .unwrap_or_else(|| default_instance_type(arch).to_string());
        let spec = crate::instance::describe(&self.aws, region, &t).await?;
        if !spec.archs.contains(&arch) {
            return Err(FleetError::Invalid {
                field: "--instance-type".into(),
                message: format!(
                    "{t} in {region} runs {} but the worker binary is {}",
                    spec.archs
                        .iter()
                        .map(|a| a.ami_name())
                        .collect::<Vec<_>>()
                        .join("/"),
                    arch.ami_name()
                ),
            });
        }
        Ok(t)
    }

    async fn ami(&self, region: &str, arch: Arch) -> Result<String, FleetError> {
        if let Some(ami) = self.options.ami.get(region) {
            return Ok(ami.to_string());
        }
        let name = format!(
            "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{}",
            arch.ami_name()
        );
        let out = self
            .aws
            .ssm(region)
            .get_parameter()
            .name(&name)
            .send()
            .await
            .map_err(|e| aws_error("GetParameter", region, &name, e))?;
        out.parameter
            .and_then(|p| p.value)
            .ok_or_else(|| FleetError::Aws {
                operation: "GetParameter",
                region: region.into(),
                resource: name,
                message: "no AMI id in the parameter".into(),
                transient: false,
            })
    }

    /// Creates the region's launch template, or a new default version of it for this run.
    async fn launch_template(
        &self,
        request: &FleetRequest,
        instance_type: &str,
        placement: &Placement,
    ) -> Result<String, FleetError> {
        use aws_sdk_ec2::types::{
            CreditSpecificationRequest, LaunchTemplateHttpTokensState,
            LaunchTemplateIamInstanceProfileSpecificationRequest,
            LaunchTemplateInstanceMarketOptionsRequest,
            LaunchTemplateInstanceMetadataOptionsRequest,
            LaunchTemplateInstanceNetworkInterfaceSpecificationRequest,
            LaunchTemplateTagSpecificationRequest, MarketType, RequestLaunchTemplateData,
            ResourceType, ShutdownBehavior, Tag, TagSpecification,
        };
        let region = &request.region;
        let binary = self.upload_binary().await?;
        let ami = self.ami(region, binary.arch).await?;
        let user_data = render(&WorkerBoot {
            deployment: self.deployment.name.clone(),
            home_region: self.deployment.home_region.clone(),
            region: region.clone(),
            bucket: self.config.bucket.clone(),
            binary_key: binary.key.clone(),
            sha256: binary.sha256.clone(),
            queue: request.jobs.0.clone(),
            controller_queue: request.controller.0.clone(),
            controller_key: request.controller_key.clone(),
            idle_exit: self.options.idle_exit.clone(),
        })?;
        let tags: Vec<Tag> = tag_pairs(&self.deployment.name, Some(&self.options.run_id))
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        let per_instance = |kind: ResourceType| {
            LaunchTemplateTagSpecificationRequest::builder()
                .resource_type(kind)
                .set_tags(Some(tags.clone()))
                .build()
        };
        let mut data = RequestLaunchTemplateData::builder()
            .image_id(ami)
            .instance_type(instance_type.into())
            .user_data(base64::engine::general_purpose::STANDARD.encode(user_data))
            .iam_instance_profile(
                LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                    .name(self.deployment.worker_role())
                    .build(),
            )
            .instance_initiated_shutdown_behavior(ShutdownBehavior::Terminate)
            .metadata_options(
                LaunchTemplateInstanceMetadataOptionsRequest::builder()
                    .http_tokens(LaunchTemplateHttpTokensState::Required)
                    .build(),
            )
            .tag_specifications(per_instance(ResourceType::Instance))
            .tag_specifications(per_instance(ResourceType::Volume));
        // AWS launches burstable types in unlimited mode, which bills a CPU-bound worker several
        // times the list price in surplus credits; standard credits keep the preview's price
        // (the fleet is sized for the baseline).
        if crate::pricing::is_burstable(instance_type) {
            data = data.credit_specification(
                CreditSpecificationRequest::builder()
                    .cpu_credits("standard")
                    .build(),
            );
        }
        // Behind an internet gateway an instance reaches S3, SQS and the target only with a
        // public IP, which a subnet need not hand out by itself; the group then goes on the
        // interface, as EC2 takes no groups beside an interface. Behind a NAT gateway no public
        // IP is wanted.
        data = if placement.public_ip {
            data.network_interfaces(
                LaunchTemplateInstanceNetworkInterfaceSpecificationRequest::builder()
                    .device_index(0)
                    .associate_public_ip_address(true)
                    .delete_on_termination(true)
                    .groups(&placement.security_group)
                    .build(),
            )
        } else {
            data.security_group_ids(&placement.security_group)
        };
        if self.options.spot {
            data = data.instance_market_options(
                LaunchTemplateInstanceMarketOptionsRequest::builder()
                    .market_type(MarketType::Spot)
                    .build(),
            );
        }
        let data = data.build();
        let ec2 = self.aws.ec2(region);
        let name = self.deployment.launch_template();
        let existing = ec2
            .describe_launch_templates()
            .launch_template_names(&name)
            .send()
            .await;
        let existing_id = match existing {
            Ok(out) => out
                .launch_templates()
                .first()
                .and_then(|t| t.launch_template_id.clone()),
            Err(e) if matches!(code(&e), Some(c) if c.contains("NotFound")) => None,
            Err(e) => return Err(aws_error("DescribeLaunchTemplates", region, &name, e)),
        };
        // One template per region, made anew for each run (the group, at zero between runs, is
        // pointed at the new one right after): no versions pile up, and the template's tags name
        // the run. A deployment runs one run at a time (the run lock, `lock.rs`, held by the
        // controller); parallel runs use separate deployments.
        if let Some(old) = existing_id {
            match ec2
                .delete_launch_template()
                .launch_template_id(&old)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if matches!(code(&e), Some(c) if c.contains("NotFound")) => {}
                Err(e) => return Err(aws_error("DeleteLaunchTemplate", region, &name, e)),
            }
        }
        // The template names the workers' instance profile, which may be fresh from setup.
        let out = retry_fresh_profile(|| async {
            ec2.create_launch_template()
                .launch_template_name(&name)
                .version_description(format!("run {}", self.options.run_id))
                .launch_template_data(data.clone())
                .tag_specifications(
                    TagSpecification::builder()
                        .resource_type(ResourceType::LaunchTemplate)
                        .set_tags(Some(tags.clone()))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| aws_error("CreateLaunchTemplate", region, &name, e))
        })
        .await?;
        let id = out
            .launch_template
            .and_then(|t| t.launch_template_id)
            .unwrap_or_default();
        Ok(id)
    }

    /// Creates or updates the region's group at `desired` instances; returns its ARN.
    async fn group(
        &self,
        region: &str,
        template_id: &str,
        desired: u32,
        placement: &Placement,
    ) -> Result<String, FleetError> {
        use aws_sdk_autoscaling::types::{LaunchTemplateSpecification, Tag};
        let asg = self.aws.autoscaling(region);
        let name = self.deployment.group();
        let subnets = placement
            .subnets
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let template = LaunchTemplateSpecification::builder()
            .launch_template_id(template_id)
            .version("$Default")
            .build();
        let desired = i32::try_from(desired).unwrap_or(i32::MAX);
        let exists = !self.describe_groups(region).await?.is_empty();
        if exists {
            // A new template is checked again, instance profile included.
            retry_fresh_profile(|| async {
                asg.update_auto_scaling_group()
                    .auto_scaling_group_name(&name)
                    .launch_template(template.clone())
                    .vpc_zone_identifier(&subnets)
                    .min_size(0)
                    .max_size(desired)
                    .desired_capacity(desired)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| aws_error("UpdateAutoScalingGroup", region, &name, e))
            })
            .await?;
            let tags = tag_pairs(&self.deployment.name, Some(&self.options.run_id))
                .into_iter()
                .map(|(k, v)| {
                    Tag::builder()
                        .resource_id(&name)
                        .resource_type("auto-scaling-group")
                        .key(k)
                        .value(v)
                        .propagate_at_launch(true)
                        .build()
                })
                .collect();
            asg.create_or_update_tags()
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(|e| aws_error("CreateOrUpdateTags", region, &name, e))?;
        } else {
            let tags: Vec<Tag> = tag_pairs(&self.deployment.name, Some(&self.options.run_id))
                .into_iter()
                .map(|(k, v)| {
                    Tag::builder()
                        .key(k)
                        .value(v)
                        .propagate_at_launch(true)
                        .build()
                })
                .collect();
            // A new instance profile may take up to minutes to be usable by AutoScaling.
            retry_fresh_profile(|| async {
                asg.create_auto_scaling_group()
                    .auto_scaling_group_name(&name)
                    .launch_template(template.clone())
                    .vpc_zone_identifier(&subnets)
                    .min_size(0)
                    .max_size(desired)
                    .desired_capacity(desired)
                    .set_tags(Some(tags.clone()))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| aws_error("CreateAutoScalingGroup", region, &name, e))
            })
            .await?;
        }
        // AutoScaling would otherwise end workers mid-run to even out the zones.
        asg.suspend_processes()
            .auto_scaling_group_name(&name)
            .scaling_processes("AZRebalance")
            .send()
            .await
            .map_err(|e| aws_error("SuspendProcesses", region, &name, e))?;
        self.describe_groups(region)
            .await?
            .into_iter()
            .next()
            .and_then(|g| g.auto_scaling_group_arn)
            .ok_or_else(|| FleetError::Aws {
                operation: "DescribeAutoScalingGroups",
                region: region.into(),
                resource: name,
                message: "the group vanished right after it was made".into(),
                transient: true,
            })
    }

    /// Sets (or moves) the group's scheduled stop to [`FleetOptions::stop_after`] from now.
    async fn schedule_stop(&self, region: &str) -> Result<(), FleetError> {
        let name = self.deployment.group();
        let at = stop_time(SystemTime::now(), self.options.stop_after);
        self.aws
            .autoscaling(region)
            .put_scheduled_update_group_action()
            .auto_scaling_group_name(&name)
            .scheduled_action_name(stop_action_name(&self.deployment))
            .start_time(aws_sdk_autoscaling::primitives::DateTime::from(at))
            .min_size(0)
            .max_size(0)
            .desired_capacity(0)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error("PutScheduledUpdateGroupAction", region, &name, e))
    }

    async fn describe_groups(
        &self,
        region: &str,
    ) -> Result<Vec<aws_sdk_autoscaling::types::AutoScalingGroup>, FleetError> {
        let name = self.deployment.group();
        let out = self
            .aws
            .autoscaling(region)
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(&name)
            .send()
            .await
            .map_err(|e| aws_error("DescribeAutoScalingGroups", region, &name, e))?;
        Ok(out.auto_scaling_groups.unwrap_or_default())
    }

    async fn statuses(&self, region: &str) -> Result<Vec<WorkerStatus>, FleetError> {
        use aws_sdk_autoscaling::types::LifecycleState;
        let mut out = Vec::new();
        for group in self.describe_groups(region).await? {
            for i in group.instances() {
                let state = match i.lifecycle_state() {
                    Some(LifecycleState::InService) => WorkerState::Running,
                    Some(LifecycleState::Terminated) | Some(LifecycleState::Terminating) => {
                        WorkerState::Exited { code: None }
                    }
                    _ => WorkerState::Starting,
                };
                out.push(WorkerStatus {
                    region: region.to_string(),
                    id: i.instance_id().unwrap_or_default().to_string(),
                    state,
                });
            }
        }
        if let Some(reason) = self.failed_launch(region).await? {
            out.push(WorkerStatus {
                region: region.to_string(),
                id: self.deployment.group(),
                state: WorkerState::Failed { reason },
            });
        }
        Ok(out)
    }

    /// The newest failed launch of this run's group in `region`, in AutoScaling's own words.
    async fn failed_launch(&self, region: &str) -> Result<Option<String>, FleetError> {
        let name = self.deployment.group();
        let out = self
            .aws
            .autoscaling(region)
            .describe_scaling_activities()
            .auto_scaling_group_name(&name)
            .max_records(20)
            .send()
            .await
            .map_err(|e| aws_error("DescribeScalingActivities", region, &name, e))?;
        let since = self
            .since
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Ok(failed_launch(
            out.activities(),
            since,
            &self.options.instance_type,
        ))
    }

    async fn scale(&self, region: &str, desired: i32) -> Result<(), FleetError> {
        let name = self.deployment.group();
        if self.describe_groups(region).await?.is_empty() {
            return Ok(());
        }
        self.aws
            .autoscaling(region)
            .update_auto_scaling_group()
            .auto_scaling_group_name(&name)
            .min_size(0)
            .desired_capacity(desired)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error("UpdateAutoScalingGroup", region, &name, e))
    }

    async fn up_region(&self, request: &FleetRequest) -> Result<Vec<WorkerStatus>, FleetError> {
        if !self.config.regions.contains(&request.region) {
            return Err(FleetError::Deployment {
                deployment: self.deployment.name.clone(),
                message: format!(
                    "region {} is not set up (brood aws setup --regions {})",
                    request.region, request.region
                ),
            });
        }
        let binary = self.upload_binary().await?;
        let instance_type = self.instance_type(&request.region, binary.arch).await?;
        let network = self
            .config
            .networks
            .get(&request.region)
            .cloned()
            .unwrap_or_default();
        let placement = placement(
            &self.aws,
            &self.deployment,
            &request.region,
            &network,
            &instance_type,
        )
        .await?;
        let template = self
            .launch_template(request, &instance_type, &placement)
            .await?;
        let arn = self
            .group(&request.region, &template, request.workers, &placement)
            .await?;
        self.schedule_stop(&request.region).await?;
        // The workers may leave their own group when idle: the policy names the group's ARN.
        let mut groups =
            crate::setup::group_arns(&self.aws, &self.deployment, &self.config).await?;
        if !groups.contains(&arn) {
            groups.push(arn);
        }
        crate::setup::put_worker_policy(&self.aws, &self.deployment, &self.config, groups).await?;
        self.statuses(&request.region).await
    }
}

#[async_trait]
impl Fleet for AsgFleet {
    async fn up(&self, request: &FleetRequest) -> Result<Vec<WorkerStatus>, BackendError> {
        Ok(self.up_region(request).await?)
    }

    async fn status(&self, region: &str) -> Result<Vec<WorkerStatus>, BackendError> {
        Ok(self.statuses(region).await?)
    }

    async fn down(&self, region: &str) -> Result<(), BackendError> {
        Ok(self.scale(region, 0).await?)
    }
}

/// The user data of the region's launch template as it stands (its default version), read back
/// from EC2; `None` when the deployment has no template there.
pub async fn user_data(
    aws: &Aws,
    deployment: &str,
    region: &str,
) -> Result<Option<String>, FleetError> {
    let name = named(deployment).launch_template();
    let out = aws
        .ec2(region)
        .describe_launch_template_versions()
        .launch_template_name(&name)
        .versions("$Default")
        .send()
        .await;
    let out = match out {
        Ok(o) => o,
        Err(e) if matches!(code(&e), Some(c) if c.contains("NotFound")) => return Ok(None),
        Err(e) => {
            return Err(aws_error(
                "DescribeLaunchTemplateVersions",
                region,
                &name,
                e,
            ))
        }
    };
    let Some(encoded) = out
        .launch_template_versions()
        .first()
        .and_then(|v| v.launch_template_data())
        .and_then(|d| d.user_data())
    else {
        return Ok(None);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| FleetError::Invalid {
            field: format!("user data of {name} in {region}"),
            message: e.to_string(),
        })?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// The desired capacity of the deployment's group in a region; `None` without a group.
pub async fn desired_capacity(
    aws: &Aws,
    deployment: &str,
    region: &str,
) -> Result<Option<i32>, FleetError> {
    let name = named(deployment).group();
    let out = aws
        .autoscaling(region)
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&name)
        .send()
        .await
        .map_err(|e| aws_error("DescribeAutoScalingGroups", region, &name, e))?;
    Ok(out
        .auto_scaling_groups()
        .first()
        .and_then(|g| g.desired_capacity()))
}

/// A deployment known only by name: enough for the names that do not involve the account.
fn named(deployment: &str) -> Deployment {
    Deployment {
        name: deployment.to_string(),
        home_region: String::new(),
        account: String::new(),
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_launch_of_this_run_is_reported_in_aws_words() {
        use aws_sdk_autoscaling::primitives::DateTime;
        use aws_sdk_autoscaling::types::{Activity, ScalingActivityStatusCode as Code};
        let activity = |code: Code, at: i64, message: &str| {
            Activity::builder()
                .activity_id("a")
                .auto_scaling_group_name("g")
                .cause("c")
                .start_time(DateTime::from_secs(at))
                .status_code(code)
                .status_message(message)
                .build()
        };
        let quota = "You have requested more vCPU capacity than your current vCPU limit of 0";
        let activities = [
            activity(Code::InProgress, 200, "launching"),
            activity(Code::Failed, 150, quota),
            activity(Code::Failed, 50, "an earlier run's failure"),
        ];
        let t3 = Some("t3.small".to_string());
        assert_eq!(
            failed_launch(&activities, 100, &t3).as_deref(),
            Some(format!("launching t3.small: {quota}").as_str())
        );
        // Before this run: not this run's failure.
        assert_eq!(failed_launch(&activities[2..], 100, &t3), None);
        assert_eq!(
            failed_launch(&[activity(Code::Successful, 300, "ok")], 100, &None),
            None
        );
    }

    #[test]
    fn groups_stop_after_the_planned_end_or_a_day() {
        let min = |m: u64| Duration::from_secs(60 * m);
        assert_eq!(
            stop_after(Some(min(30)), Duration::from_secs(30), min(1)),
            min(30) + Duration::from_secs(30) + min(1) + STOP_MARGIN
        );
        assert_eq!(stop_after(Some(min(30)), Duration::ZERO, min(1)), min(41));
        assert_eq!(
            stop_after(None, min(5), min(1)),
            Duration::from_secs(24 * 3600)
        );
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
        let at = stop_time(now, min(41));
        assert_eq!(
            at.duration_since(SystemTime::UNIX_EPOCH).unwrap(),
            Duration::from_secs(1_700_000_001 + 41 * 60)
        );
        let whole = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(stop_time(whole, min(1)), whole + min(1));
    }

    #[test]
    fn a_binary_close_to_its_expiry_is_uploaded_again() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100 * 86_400);
        let days_ago = |d: i64| 100 * 86_400 - d * 86_400;
        assert!(fresh_enough(days_ago(0), now));
        assert!(fresh_enough(days_ago(22), now));
        assert!(!fresh_enough(days_ago(23), now));
        assert!(!fresh_enough(days_ago(40), now));
    }

    #[test]
    fn binaries_are_keyed_by_version_and_checksum() {
        let k = binary_key("0.1.0", &"ab".repeat(32));
        assert_eq!(k, "bin/0.1.0-abababababababab/brood.gz");
    }
}
