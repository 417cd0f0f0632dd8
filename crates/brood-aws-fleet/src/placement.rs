//! Where a region's workers run, looked up in EC2: the VPC (the one chosen, else the default
//! one), its subnets and route tables (`network.rs` decides which subnets have a way out), the
//! zones that offer the instance type, and the security group (the one given, else the
//! deployment's egress-only group in the VPC, created when missing).

use std::collections::BTreeSet;

use aws_sdk_ec2::types::Filter;
use brood_aws::Deployment;

use crate::aws::{aws_error, code, tag_pairs};
use crate::network::{
    choose_subnets, in_offered_zones, RegionNetwork, Route, RouteTable, Subnet,
    SECURITY_GROUP_FLAG, SUBNETS_FLAG, VPC_FLAG,
};
use crate::{Aws, FleetError};

/// A region's fleet network, ready for the launch template and the group.
#[derive(Clone, Debug)]
pub(crate) struct Placement {
    pub subnets: Vec<Subnet>,
    /// The subnets route to an internet gateway: instances need a public IP.
    pub public_ip: bool,
    pub security_group: String,
}

/// What a fleet in `region` runs in for `instance_type`: the subnets with a way out in zones
/// that offer the type, and the security group.
pub(crate) async fn placement(
    aws: &Aws,
    d: &Deployment,
    region: &str,
    network: &RegionNetwork,
    instance_type: &str,
) -> Result<Placement, FleetError> {
    let (vpc, chosen) = subnets(aws, region, network).await?;
    let offered = offered_zones(aws, region, instance_type).await?;
    let kept = in_offered_zones(region, instance_type, chosen.subnets.clone(), &offered)?;
    let dropped: Vec<String> = chosen
        .subnets
        .iter()
        .filter(|s| !kept.contains(s))
        .map(|s| format!("{} ({})", s.id, s.zone))
        .collect();
    if !dropped.is_empty() {
        eprintln!(
            "brood: {region}: {instance_type} is not offered in the zones of subnets {}; \
             leaving them out",
            dropped.join(", ")
        );
    }
    let security_group = security_group(aws, d, region, network, &vpc).await?.0;
    Ok(Placement {
        subnets: kept,
        public_ip: chosen.public_ip,
        security_group,
    })
}

/// The security group of the region's workers: (its id, a report line).
pub(crate) async fn security_group(
    aws: &Aws,
    d: &Deployment,
    region: &str,
    network: &RegionNetwork,
    vpc: &str,
) -> Result<(String, String), FleetError> {
    let Some(id) = &network.security_group else {
        return ensure_security_group(aws, d, region, vpc).await;
    };
    let out = aws
        .ec2(region)
        .describe_security_groups()
        .group_ids(id)
        .send()
        .await;
    let refuse = |message: String| FleetError::Network {
        region: region.into(),
        message,
    };
    let group = match out {
        Ok(out) => out.security_groups().first().cloned(),
        Err(e) if matches!(code(&e), Some(c) if c.contains("NotFound")) => None,
        Err(e) => return Err(aws_error("DescribeSecurityGroups", region, id, e)),
    };
    let Some(group) = group else {
        return Err(refuse(format!(
            "security group {id} not found; check {SECURITY_GROUP_FLAG}"
        )));
    };
    if group.vpc_id() != Some(vpc) {
        return Err(refuse(format!(
            "security group {id} is in {}, not in {vpc}; give {SECURITY_GROUP_FLAG} with a \
             group of {vpc}",
            group.vpc_id().unwrap_or("no VPC")
        )));
    }
    Ok((
        id.clone(),
        format!("security group {id} (given) in {region}"),
    ))
}

/// The VPC of the region's choice and the subnets chosen in it by their route tables.
pub(crate) async fn subnets(
    aws: &Aws,
    region: &str,
    network: &RegionNetwork,
) -> Result<(String, crate::network::Chosen), FleetError> {
    let ec2 = aws.ec2(region);
    let refuse = |message: String| FleetError::Network {
        region: region.into(),
        message,
    };
    let named = !network.subnets.is_empty();
    let (vpc, subnets) = if named {
        let out = ec2
            .describe_subnets()
            .set_subnet_ids(Some(network.subnets.clone()))
            .send()
            .await;
        let found = match out {
            Ok(out) => out.subnets().iter().map(subnet).collect::<Vec<_>>(),
            Err(e) if matches!(code(&e), Some(c) if c.contains("NotFound")) => Vec::new(),
            Err(e) => {
                return Err(aws_error(
                    "DescribeSubnets",
                    region,
                    &network.subnets.join(","),
                    e,
                ))
            }
        };
        if let Some(missing) = network
            .subnets
            .iter()
            .find(|id| !found.iter().any(|s| &s.id == *id))
        {
            return Err(refuse(format!(
                "subnet {missing} not found; check {SUBNETS_FLAG}"
            )));
        }
        let vpc = network.vpc.clone().unwrap_or_else(|| found[0].vpc.clone());
        if let Some(other) = found.iter().find(|s| s.vpc != vpc) {
            return Err(refuse(format!(
                "subnet {} is in {}, not in {vpc}; give {SUBNETS_FLAG} of one VPC (and {VPC_FLAG} \
                 the same)",
                other.id, other.vpc
            )));
        }
        (vpc, found)
    } else {
        let vpc = match &network.vpc {
            Some(vpc) => {
                check_vpc(aws, region, vpc).await?;
                vpc.clone()
            }
            None => default_vpc(aws, region).await?,
        };
        let found = ec2
            .describe_subnets()
            .filters(Filter::builder().name("vpc-id").values(&vpc).build())
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| aws_error("DescribeSubnets", region, &vpc, e))?
            .iter()
            .flat_map(|page| page.subnets().iter().map(subnet))
            .collect::<Vec<_>>();
        if found.is_empty() {
            return Err(refuse(format!(
                "{vpc} has no subnets; give {VPC_FLAG} and {SUBNETS_FLAG}"
            )));
        }
        (vpc, found)
    };
    let tables = ec2
        .describe_route_tables()
        .filters(Filter::builder().name("vpc-id").values(&vpc).build())
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws_error("DescribeRouteTables", region, &vpc, e))?
        .iter()
        .flat_map(|page| page.route_tables().iter().map(route_table))
        .collect::<Vec<_>>();
    let chosen = choose_subnets(region, &subnets, &tables, named)?;
    Ok((vpc, chosen))
}

fn subnet(s: &aws_sdk_ec2::types::Subnet) -> Subnet {
    Subnet {
        id: s.subnet_id().unwrap_or_default().to_string(),
        vpc: s.vpc_id().unwrap_or_default().to_string(),
        zone: s.availability_zone().unwrap_or_default().to_string(),
    }
}

fn route_table(t: &aws_sdk_ec2::types::RouteTable) -> RouteTable {
    use aws_sdk_ec2::types::RouteState;
    RouteTable {
        id: t.route_table_id().unwrap_or_default().to_string(),
        main: t.associations().iter().any(|a| a.main() == Some(true)),
        subnets: t
            .associations()
            .iter()
            .filter_map(|a| a.subnet_id().map(str::to_string))
            .collect(),
        routes: t
            .routes()
            .iter()
            .filter_map(|r| {
                let target = r
                    .gateway_id()
                    .or(r.nat_gateway_id())
                    .or(r.transit_gateway_id())
                    .or(r.vpc_peering_connection_id())
                    .or(r.network_interface_id())
                    .or(r.instance_id())
                    .unwrap_or_default();
                Some(Route {
                    destination: r.destination_cidr_block()?.to_string(),
                    target: target.to_string(),
                    active: r.state() != Some(&RouteState::Blackhole),
                })
            })
            .collect(),
    }
}

/// The zones of `region` that offer `instance_type`.
async fn offered_zones(
    aws: &Aws,
    region: &str,
    instance_type: &str,
) -> Result<BTreeSet<String>, FleetError> {
    use aws_sdk_ec2::types::LocationType;
    let pages = aws
        .ec2(region)
        .describe_instance_type_offerings()
        .location_type(LocationType::AvailabilityZone)
        .filters(
            Filter::builder()
                .name("instance-type")
                .values(instance_type)
                .build(),
        )
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| aws_error("DescribeInstanceTypeOfferings", region, instance_type, e))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.instance_type_offerings())
        .filter_map(|o| o.location().map(str::to_string))
        .collect())
}

async fn check_vpc(aws: &Aws, region: &str, vpc: &str) -> Result<(), FleetError> {
    let out = aws.ec2(region).describe_vpcs().vpc_ids(vpc).send().await;
    let found = match out {
        Ok(out) => !out.vpcs().is_empty(),
        Err(e) if matches!(code(&e), Some(c) if c.contains("NotFound")) => false,
        Err(e) => return Err(aws_error("DescribeVpcs", region, vpc, e)),
    };
    if found {
        Ok(())
    } else {
        Err(FleetError::Network {
            region: region.into(),
            message: format!("{vpc} not found; check {VPC_FLAG}"),
        })
    }
}

/// The default VPC of a region.
async fn default_vpc(aws: &Aws, region: &str) -> Result<String, FleetError> {
    let out = aws
        .ec2(region)
        .describe_vpcs()
        .filters(Filter::builder().name("isDefault").values("true").build())
        .send()
        .await
        .map_err(|e| aws_error("DescribeVpcs", region, "default VPC", e))?;
    out.vpcs()
        .first()
        .and_then(|v| v.vpc_id.clone())
        .ok_or_else(|| FleetError::Network {
            region: region.into(),
            message: format!("no default VPC; give {VPC_FLAG} and {SUBNETS_FLAG}"),
        })
}

/// The deployment's egress-only security group in `vpc`: (group id, report line).
async fn ensure_security_group(
    aws: &Aws,
    d: &Deployment,
    region: &str,
    vpc: &str,
) -> Result<(String, String), FleetError> {
    use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
    let ec2 = aws.ec2(region);
    let name = d.security_group();
    let found = ec2
        .describe_security_groups()
        .filters(Filter::builder().name("group-name").values(&name).build())
        .filters(Filter::builder().name("vpc-id").values(vpc).build())
        .send()
        .await
        .map_err(|e| aws_error("DescribeSecurityGroups", region, &name, e))?;
    if let Some(id) = found
        .security_groups()
        .first()
        .and_then(|g| g.group_id.clone())
    {
        return Ok((
            id.clone(),
            format!("found security group {name} ({id}) in {region}"),
        ));
    }
    let tags = TagSpecification::builder()
        .resource_type(ResourceType::SecurityGroup)
        .set_tags(Some(
            tag_pairs(&d.name, None)
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build();
    // A new group allows no inbound traffic and all outbound: workers only connect out.
    let created = ec2
        .create_security_group()
        .group_name(&name)
        .description("brood workers: outbound only")
        .vpc_id(vpc)
        .tag_specifications(tags)
        .send()
        .await
        .map_err(|e| aws_error("CreateSecurityGroup", region, &name, e))?;
    let id = created.group_id.unwrap_or_default();
    Ok((
        id.clone(),
        format!("created security group {name} ({id}) in {region}"),
    ))
}
