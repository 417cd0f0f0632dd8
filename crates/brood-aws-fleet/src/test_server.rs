//! An AWS-compatible test server (moto) made to look like an account where it differs in a way
//! brood depends on: its default VPCs come without the internet gateway and the `0.0.0.0/0`
//! route of every account's default VPC, and brood runs workers only in subnets with a way out.
//! For the tests and the timings example; nothing in a run calls it.

use aws_sdk_ec2::types::Filter;

use crate::Aws;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Gives `region`'s default VPC an internet gateway and the main route table's `0.0.0.0/0` route
/// to it. Idempotent: a VPC whose main table already routes `0.0.0.0/0` is left as it is.
pub async fn public_default_vpc(aws: &Aws, region: &str) -> Result<(), Failure> {
    let ec2 = aws.ec2(region);
    let vpcs = ec2
        .describe_vpcs()
        .filters(Filter::builder().name("isDefault").values("true").build())
        .send()
        .await?;
    let vpc = vpcs
        .vpcs()
        .first()
        .and_then(|v| v.vpc_id())
        .ok_or_else(|| format!("{region}: the test server has no default VPC"))?
        .to_string();
    let tables = ec2
        .describe_route_tables()
        .filters(Filter::builder().name("vpc-id").values(&vpc).build())
        .filters(
            Filter::builder()
                .name("association.main")
                .values("true")
                .build(),
        )
        .send()
        .await?;
    let main = tables
        .route_tables()
        .first()
        .ok_or_else(|| format!("{region}: {vpc} has no main route table"))?;
    if main
        .routes()
        .iter()
        .any(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
    {
        return Ok(());
    }
    let igw = ec2
        .create_internet_gateway()
        .send()
        .await?
        .internet_gateway()
        .and_then(|g| g.internet_gateway_id())
        .ok_or("CreateInternetGateway returned no id")?
        .to_string();
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc)
        .send()
        .await?;
    ec2.create_route()
        .route_table_id(main.route_table_id().unwrap_or_default())
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(igw)
        .send()
        .await?;
    Ok(())
}
