//! An instance's way out: read its own instance id from the instance metadata service (IMDSv2,
//! token first) and leave its AutoScaling group, decrementing the desired capacity, so the group
//! does not replace it. This is `brood aws leave-group`; the user data does the same with the AWS
//! CLI instead, as it must work when the brood binary is missing or broken.

use crate::aws::aws_error;
use crate::{Aws, FleetError};

/// The instance id from IMDSv2 (`AWS_EC2_METADATA_SERVICE_ENDPOINT` overrides the address).
pub async fn own_instance_id(aws: &Aws) -> Result<String, FleetError> {
    // The SDK configuration brings its HTTP client (rustls on ring); IMDS needs one too.
    let config = aws.config(&aws.home_region);
    let mut provider = aws_config::provider_config::ProviderConfig::default();
    if let Some(http) = config.http_client() {
        provider = provider.with_http_client(http);
    }
    let client = aws_config::imds::Client::builder()
        .configure(&provider)
        .build();
    let id = client
        .get("/latest/meta-data/instance-id")
        .await
        .map_err(|e| FleetError::Aws {
            operation: "IMDSv2 instance-id",
            region: "local".into(),
            resource: "instance metadata".into(),
            message: e.to_string(),
            transient: false,
        })?;
    let id = String::from(id);
    if !id.starts_with("i-") || !id[2..].chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(FleetError::Invalid {
            field: "instance metadata".into(),
            message: format!("{id:?} is not an instance id"),
        });
    }
    Ok(id)
}

/// Terminates this instance through its group, one fewer desired.
pub async fn leave_group(aws: &Aws, region: &str) -> Result<String, FleetError> {
    let id = own_instance_id(aws).await?;
    aws.autoscaling(region)
        .terminate_instance_in_auto_scaling_group()
        .instance_id(&id)
        .should_decrement_desired_capacity(true)
        .send()
        .await
        .map_err(|e| aws_error("TerminateInstanceInAutoScalingGroup", region, &id, e))?;
    Ok(id)
}
