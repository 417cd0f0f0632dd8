//! Instance types as each region's EC2 describes them (`DescribeInstanceTypes`): vCPUs and the
//! architectures they run. The short built-in list in `pricing.rs` serves only the cost preview
//! shown without AWS (the web form's); a run asks EC2, so every type EC2 offers works.

use aws_sdk_ec2::types::{ArchitectureType, InstanceType};

use crate::aws::{aws_error, code};
use crate::pricing::Arch;
use crate::{Aws, FleetError};

/// What sizing and the binary check need of an instance type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceSpec {
    pub vcpus: u32,
    /// The architectures it runs that brood builds for (x86_64, arm64).
    pub archs: Vec<Arch>,
}

/// The type as EC2 in `region` describes it; an unknown type (or one the region does not offer)
/// is an error naming `--instance-type` and the region.
pub async fn describe(
    aws: &Aws,
    region: &str,
    instance_type: &str,
) -> Result<InstanceSpec, FleetError> {
    let unknown = |detail: &str| FleetError::Invalid {
        field: "--instance-type".into(),
        message: format!("{instance_type} is not an instance type EC2 offers in {region}{detail}"),
    };
    let out = aws
        .ec2(region)
        .describe_instance_types()
        .instance_types(InstanceType::from(instance_type))
        .send()
        .await;
    let out = match out {
        Ok(o) => o,
        Err(e) if matches!(code(&e), Some(c) if c.starts_with("InvalidInstanceType")) => {
            return Err(unknown(""))
        }
        Err(e) => return Err(aws_error("DescribeInstanceTypes", region, instance_type, e)),
    };
    let Some(info) = out.instance_types().iter().find(|t| {
        t.instance_type()
            .is_some_and(|t| t.as_str() == instance_type)
    }) else {
        return Err(unknown(""));
    };
    let vcpus = info
        .v_cpu_info()
        .and_then(|v| v.default_v_cpus())
        .and_then(|v| u32::try_from(v).ok())
        .filter(|v| *v > 0)
        .ok_or_else(|| unknown(" (EC2 gave no vCPU count)"))?;
    let archs: Vec<Arch> = info
        .processor_info()
        .map(|p| p.supported_architectures())
        .unwrap_or_default()
        .iter()
        .filter_map(|a| match a {
            ArchitectureType::X8664 => Some(Arch::X86_64),
            ArchitectureType::Arm64 => Some(Arch::Arm64),
            _ => None,
        })
        .collect();
    if archs.is_empty() {
        return Err(FleetError::Invalid {
            field: "--instance-type".into(),
            message: format!(
                "{instance_type} in {region} runs neither x86_64 nor arm64, the architectures \
                 brood builds for"
            ),
        });
    }
    Ok(InstanceSpec { vcpus, archs })
}
