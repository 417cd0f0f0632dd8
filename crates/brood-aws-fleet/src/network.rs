//! Where a region's workers run, decided without I/O: the `--vpc`, `--subnets` and
//! `--security-group` choices per region and their flag syntax, the subnets a fleet may use given
//! their route tables, and the zones that offer the instance type.
//!
//! A worker needs a way out to S3, SQS and the target. A subnet has one when its route table (the
//! one explicitly associated with it, else its VPC's main table) sends `0.0.0.0/0` to an internet
//! gateway (`igw-…`; the instance then needs a public IP) or, for subnets the user names, to a NAT
//! gateway (`nat-…`; no public IP). Anything else (no such route, a blackhole, another kind of
//! target) is refused with the subnet's name.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::FleetError;

pub const VPC_FLAG: &str = "--vpc";
pub const SUBNETS_FLAG: &str = "--subnets";
pub const SECURITY_GROUP_FLAG: &str = "--security-group";

/// One region's choice, as stored in the deployment's settings. Empty: the default VPC, its
/// public subnets and the deployment's own security group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionNetwork {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_group: Option<String>,
}

/// The three flags as given, each repeatable. A value is a comma list of ids; `REGION=ID` starts
/// that region's ids, and ids after it (up to the next `REGION=`) belong to it, so
/// `us-east-1=subnet-a,subnet-b,eu-west-1=subnet-c` and one flag per region say the same. Bare
/// ids are allowed only when there is one region.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkFlags {
    pub vpc: Vec<String>,
    pub subnets: Vec<String>,
    pub security_group: Vec<String>,
}

impl NetworkFlags {
    pub fn is_empty(&self) -> bool {
        self.vpc.is_empty() && self.subnets.is_empty() && self.security_group.is_empty()
    }
}

/// The flags checked into one choice per region they name. `regions` are the regions of the
/// command (a region not among them is refused).
pub fn parse_network(
    flags: &NetworkFlags,
    regions: &[String],
) -> Result<BTreeMap<String, RegionNetwork>, FleetError> {
    let vpcs = per_region(VPC_FLAG, "vpc-", &flags.vpc, regions)?;
    let subnets = per_region(SUBNETS_FLAG, "subnet-", &flags.subnets, regions)?;
    let groups = per_region(SECURITY_GROUP_FLAG, "sg-", &flags.security_group, regions)?;
    let mut out: BTreeMap<String, RegionNetwork> = BTreeMap::new();
    let single = |flag: &str, region: &str, ids: Vec<String>| match ids.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(FleetError::Invalid {
            field: flag.into(),
            message: format!("{region}: one per region (got {})", ids.join(", ")),
        }),
    };
    for (region, ids) in vpcs {
        out.entry(region.clone()).or_default().vpc = Some(single(VPC_FLAG, &region, ids)?);
    }
    for (region, ids) in subnets {
        out.entry(region).or_default().subnets = ids;
    }
    for (region, ids) in groups {
        let id = single(SECURITY_GROUP_FLAG, &region, ids)?;
        out.entry(region).or_default().security_group = Some(id);
    }
    Ok(out)
}

/// One flag's values as ids per region, each id checked to start with `prefix` and go on in hex.
fn per_region(
    flag: &str,
    prefix: &str,
    values: &[String],
    regions: &[String],
) -> Result<BTreeMap<String, Vec<String>>, FleetError> {
    let invalid = |message: String| FleetError::Invalid {
        field: flag.into(),
        message,
    };
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for value in values {
        let mut current: Option<String> = None;
        for token in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let id = match token.split_once('=') {
                Some((region, id)) => {
                    let region = region.trim();
                    brood_aws::check_region(region)
                        .map_err(|e| invalid(format!("{token:?}: {e}")))?;
                    if !regions.iter().any(|r| r == region) {
                        return Err(invalid(format!(
                            "{region} is not one of the regions given ({})",
                            regions.join(",")
                        )));
                    }
                    current = Some(region.to_string());
                    id.trim()
                }
                None => token,
            };
            let region = match (&current, regions) {
                (Some(r), _) => r.clone(),
                (None, [only]) => only.clone(),
                (None, _) => {
                    return Err(invalid(format!(
                        "{id}: ids belong to one region; write REGION={id} (e.g. {}={id})",
                        regions.first().map_or("us-east-1", String::as_str)
                    )))
                }
            };
            let digits = id.strip_prefix(prefix).unwrap_or("");
            let ok = !digits.is_empty()
                && digits.len() <= 17
                && digits.bytes().all(|b| b.is_ascii_hexdigit());
            if !ok {
                return Err(invalid(format!(
                    "{id:?} is not an id of the form {prefix}…"
                )));
            }
            let ids = out.entry(region).or_default();
            if !ids.iter().any(|i| i == id) {
                ids.push(id.to_string());
            }
        }
    }
    Ok(out)
}

/// A subnet as EC2 describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subnet {
    pub id: String,
    pub vpc: String,
    pub zone: String,
}

/// A route table as EC2 describes it: whether it is its VPC's main table, the subnets explicitly
/// associated with it, and its routes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteTable {
    pub id: String,
    pub main: bool,
    pub subnets: Vec<String>,
    pub routes: Vec<Route>,
}

/// One route: its IPv4 destination, the id of what it points at (`igw-…`, `nat-…`, `local`,
/// `tgw-…`, …) and whether it is active (not a blackhole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub destination: String,
    pub target: String,
    pub active: bool,
}

/// How a subnet reaches the internet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Egress {
    /// `0.0.0.0/0` to an internet gateway: instances need a public IP.
    InternetGateway,
    /// `0.0.0.0/0` to a NAT gateway: instances go out through it without a public IP.
    Nat,
    /// No active default route to either.
    None,
}

/// The way out of `subnet`: from its explicitly associated route table, else the main one.
pub fn egress(subnet: &str, tables: &[RouteTable]) -> Egress {
    let table = tables
        .iter()
        .find(|t| t.subnets.iter().any(|s| s == subnet))
        .or_else(|| tables.iter().find(|t| t.main));
    let Some(route) = table.and_then(|t| {
        t.routes
            .iter()
            .find(|r| r.destination == "0.0.0.0/0" && r.active)
    }) else {
        return Egress::None;
    };
    if route.target.starts_with("igw-") {
        Egress::InternetGateway
    } else if route.target.starts_with("nat-") {
        Egress::Nat
    } else {
        Egress::None
    }
}

/// The subnets a fleet uses, and whether its instances ask for a public IP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chosen {
    pub subnets: Vec<Subnet>,
    pub public_ip: bool,
}

/// Chooses among `subnets` (all of one VPC) by their route tables (those of that VPC). Named
/// subnets (`--subnets`) must each have a way out, all of one kind; otherwise only the subnets
/// routed to an internet gateway are taken, and there must be one.
pub fn choose_subnets(
    region: &str,
    subnets: &[Subnet],
    tables: &[RouteTable],
    named: bool,
) -> Result<Chosen, FleetError> {
    let refuse = |message: String| FleetError::Network {
        region: region.into(),
        message,
    };
    if named {
        let mut kinds = Vec::new();
        for s in subnets {
            match egress(&s.id, tables) {
                Egress::None => {
                    return Err(refuse(format!(
                        "subnet {} has no route out (its route table sends 0.0.0.0/0 to no \
                         internet gateway or NAT gateway); give {SUBNETS_FLAG} with subnets that \
                         reach the internet",
                        s.id
                    )))
                }
                kind => kinds.push((s.id.as_str(), kind)),
            }
        }
        let public = kinds.iter().any(|(_, k)| *k == Egress::InternetGateway);
        if let (true, Some((nat, _))) = (public, kinds.iter().find(|(_, k)| *k == Egress::Nat)) {
            let igw = kinds
                .iter()
                .find(|(_, k)| *k == Egress::InternetGateway)
                .map_or("", |(id, _)| id);
            return Err(refuse(format!(
                "subnet {igw} routes to an internet gateway and {nat} through a NAT gateway; give \
                 {SUBNETS_FLAG} with subnets of one kind"
            )));
        }
        if subnets.is_empty() {
            return Err(refuse(format!("no subnets given in {SUBNETS_FLAG}")));
        }
        return Ok(Chosen {
            subnets: subnets.to_vec(),
            public_ip: public,
        });
    }
    let public: Vec<Subnet> = subnets
        .iter()
        .filter(|s| egress(&s.id, tables) == Egress::InternetGateway)
        .cloned()
        .collect();
    if public.is_empty() {
        let vpc = subnets.first().map_or("the VPC", |s| s.vpc.as_str());
        return Err(refuse(format!(
            "no subnet of {vpc} routes 0.0.0.0/0 to an internet gateway; give {SUBNETS_FLAG} \
             with subnets that go out through a NAT gateway, or {VPC_FLAG} with public subnets"
        )));
    }
    Ok(Chosen {
        subnets: public,
        public_ip: true,
    })
}

/// Drops the subnets in zones that do not offer the instance type; the rest, or an error naming
/// the region, the type and the zones.
pub fn in_offered_zones(
    region: &str,
    instance_type: &str,
    subnets: Vec<Subnet>,
    offered: &BTreeSet<String>,
) -> Result<Vec<Subnet>, FleetError> {
    let zones: BTreeSet<&str> = subnets.iter().map(|s| s.zone.as_str()).collect();
    let kept: Vec<Subnet> = subnets
        .iter()
        .filter(|s| offered.contains(&s.zone))
        .cloned()
        .collect();
    if kept.is_empty() {
        let offered = if offered.is_empty() {
            "no zone of the region".to_string()
        } else {
            offered.iter().cloned().collect::<Vec<_>>().join(", ")
        };
        return Err(FleetError::Network {
            region: region.into(),
            message: format!(
                "{instance_type} is not offered in {}, the zones of the chosen subnets (offered \
                 in: {offered}); give --instance-type or {SUBNETS_FLAG} in another zone",
                zones.into_iter().collect::<Vec<_>>().join(", ")
            ),
        });
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(id: &str, zone: &str) -> Subnet {
        Subnet {
            id: id.into(),
            vpc: "vpc-1".into(),
            zone: zone.into(),
        }
    }

    fn table(main: bool, subnets: &[&str], default_to: Option<(&str, bool)>) -> RouteTable {
        let mut routes = vec![Route {
            destination: "10.0.0.0/16".into(),
            target: "local".into(),
            active: true,
        }];
        if let Some((target, active)) = default_to {
            routes.push(Route {
                destination: "0.0.0.0/0".into(),
                target: target.into(),
                active,
            });
        }
        RouteTable {
            id: format!("rtb-{}", subnets.join("-")),
            main,
            subnets: subnets.iter().map(|s| s.to_string()).collect(),
            routes,
        }
    }

    #[test]
    fn a_subnet_without_its_own_table_takes_the_main_one() {
        let tables = [
            table(true, &[], Some(("igw-1", true))),
            table(false, &["subnet-b"], None),
        ];
        assert_eq!(egress("subnet-a", &tables), Egress::InternetGateway);
        // The explicit association wins over the main table.
        assert_eq!(egress("subnet-b", &tables), Egress::None);
        // A main table with no way out.
        let tables = [
            table(true, &[], None),
            table(false, &["subnet-b"], Some(("nat-1", true))),
        ];
        assert_eq!(egress("subnet-a", &tables), Egress::None);
        assert_eq!(egress("subnet-b", &tables), Egress::Nat);
    }

    #[test]
    fn blackholes_and_other_targets_are_no_way_out() {
        let tables = [
            table(false, &["subnet-a"], Some(("igw-1", false))),
            table(false, &["subnet-b"], Some(("tgw-1", true))),
            table(false, &["subnet-c"], Some(("pcx-1", true))),
        ];
        for s in ["subnet-a", "subnet-b", "subnet-c", "subnet-d"] {
            assert_eq!(egress(s, &tables), Egress::None, "{s}");
        }
    }

    #[test]
    fn without_named_subnets_only_public_ones_are_taken() {
        let subnets = [
            subnet("subnet-pub", "us-east-1a"),
            subnet("subnet-nat", "us-east-1b"),
            subnet("subnet-none", "us-east-1c"),
        ];
        let tables = [
            table(true, &[], None),
            table(false, &["subnet-pub"], Some(("igw-1", true))),
            table(false, &["subnet-nat"], Some(("nat-1", true))),
        ];
        let chosen = choose_subnets("us-east-1", &subnets, &tables, false).unwrap();
        assert_eq!(chosen.subnets, vec![subnets[0].clone()]);
        assert!(chosen.public_ip);
        let e = choose_subnets("us-east-1", &subnets[1..], &tables, false)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("us-east-1: no subnet of vpc-1")
                && e.contains("--subnets")
                && e.contains("--vpc"),
            "{e}"
        );
    }

    #[test]
    fn a_named_private_subnet_is_taken_only_through_a_nat_gateway() {
        let subnets = [
            subnet("subnet-nat", "eu-west-1a"),
            subnet("subnet-none", "eu-west-1b"),
            subnet("subnet-pub", "eu-west-1c"),
        ];
        let tables = [
            table(true, &[], None),
            table(false, &["subnet-nat"], Some(("nat-1", true))),
            table(false, &["subnet-pub"], Some(("igw-1", true))),
        ];
        let chosen = choose_subnets("eu-west-1", &subnets[..1], &tables, true).unwrap();
        assert_eq!(chosen.subnets, vec![subnets[0].clone()]);
        assert!(!chosen.public_ip, "a NAT gateway needs no public IP");
        let e = choose_subnets("eu-west-1", &subnets[..2], &tables, true)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("eu-west-1: subnet subnet-none has no route out")
                && e.contains("--subnets"),
            "{e}"
        );
        let chosen = choose_subnets("eu-west-1", &subnets[2..], &tables, true).unwrap();
        assert!(chosen.public_ip);
        let mixed = [subnets[0].clone(), subnets[2].clone()];
        let e = choose_subnets("eu-west-1", &mixed, &tables, true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("one kind") && e.contains("subnet-nat"), "{e}");
    }

    #[test]
    fn zones_without_the_instance_type_are_dropped() {
        let subnets = vec![
            subnet("subnet-a", "us-east-1a"),
            subnet("subnet-e", "us-east-1e"),
        ];
        let offered: BTreeSet<String> = ["us-east-1a", "us-east-1b"]
            .iter()
            .map(|z| z.to_string())
            .collect();
        let kept = in_offered_zones("us-east-1", "t3.small", subnets.clone(), &offered).unwrap();
        assert_eq!(kept, vec![subnets[0].clone()]);
        let e = in_offered_zones("us-east-1", "t3.small", subnets[1..].to_vec(), &offered)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("us-east-1: t3.small is not offered in us-east-1e")
                && e.contains("us-east-1a, us-east-1b"),
            "{e}"
        );
    }

    fn regions(names: &[&str]) -> Vec<String> {
        names.iter().map(|r| r.to_string()).collect()
    }

    #[test]
    fn flags_give_ids_per_region() {
        let flags = NetworkFlags {
            vpc: vec!["us-east-1=vpc-0a1".into(), "eu-west-1=vpc-0b2".into()],
            subnets: vec!["us-east-1=subnet-1,subnet-2,eu-west-1=subnet-3".into()],
            security_group: vec!["eu-west-1=sg-9".into()],
        };
        let out = parse_network(&flags, &regions(&["us-east-1", "eu-west-1"])).unwrap();
        assert_eq!(out["us-east-1"].vpc.as_deref(), Some("vpc-0a1"));
        assert_eq!(out["us-east-1"].subnets, vec!["subnet-1", "subnet-2"]);
        assert_eq!(out["us-east-1"].security_group, None);
        assert_eq!(out["eu-west-1"].subnets, vec!["subnet-3"]);
        assert_eq!(out["eu-west-1"].security_group.as_deref(), Some("sg-9"));
        // One region: bare ids.
        let flags = NetworkFlags {
            subnets: vec!["subnet-a, subnet-b".into(), "subnet-a".into()],
            ..Default::default()
        };
        let out = parse_network(&flags, &regions(&["us-east-1"])).unwrap();
        assert_eq!(out["us-east-1"].subnets, vec!["subnet-a", "subnet-b"]);
        assert_eq!(out["us-east-1"].vpc, None);
    }

    #[test]
    fn bad_flags_name_the_flag() {
        let two = regions(&["us-east-1", "eu-west-1"]);
        let err = |flags: NetworkFlags, regions: &[String]| {
            parse_network(&flags, regions).unwrap_err().to_string()
        };
        let e = err(
            NetworkFlags {
                subnets: vec!["subnet-a".into()],
                ..Default::default()
            },
            &two,
        );
        assert!(
            e.starts_with("--subnets: subnet-a") && e.contains("REGION="),
            "{e}"
        );
        let e = err(
            NetworkFlags {
                vpc: vec!["us-west-2=vpc-1".into()],
                ..Default::default()
            },
            &two,
        );
        assert!(e.starts_with("--vpc: us-west-2 is not one of"), "{e}");
        let e = err(
            NetworkFlags {
                vpc: vec!["us-east-1=vpc-1,vpc-2".into()],
                ..Default::default()
            },
            &two,
        );
        assert!(e.starts_with("--vpc: us-east-1: one per region"), "{e}");
        for (flags, flag) in [
            (
                NetworkFlags {
                    security_group: vec!["subnet-1".into()],
                    ..Default::default()
                },
                "--security-group",
            ),
            (
                NetworkFlags {
                    subnets: vec!["subnet-xyz".into()],
                    ..Default::default()
                },
                "--subnets",
            ),
            (
                NetworkFlags {
                    vpc: vec!["US-EAST-1=vpc-1".into()],
                    ..Default::default()
                },
                "--vpc",
            ),
        ] {
            let e = err(flags, &regions(&["us-east-1"]));
            assert!(e.starts_with(flag), "{e}");
        }
    }
}
