//! The deployment's settings, stored in its bucket under `Deployment::CONFIG_KEY`: the regions set
//! up, the retention of run data, the allow-list of target hosts a cloud run may load, and the
//! network each region's workers run in.

use std::collections::{BTreeMap, BTreeSet};

use brood_plan::{Plan, StepPlan, TaskPlan, TemplatePart};
use serde::{Deserialize, Serialize};

use crate::network::RegionNetwork;
use crate::FleetError;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentConfig {
    pub deployment: String,
    pub home_region: String,
    pub bucket: String,
    /// Regions with a jobs queue and a security group.
    pub regions: BTreeSet<String>,
    /// Hosts a run may target: `host` (any port) or `host:port`, lowercase.
    pub allowed_targets: BTreeSet<String>,
    /// Run data under `runs/` expires after this many days.
    pub retention_days: u32,
    /// Per region, the VPC, subnets and security group `--vpc`, `--subnets` and
    /// `--security-group` chose; a region not here uses its default VPC.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, RegionNetwork>,
}

impl DeploymentConfig {
    pub fn from_json(bytes: &[u8], source: &str) -> Result<DeploymentConfig, FleetError> {
        serde_json::from_slice(bytes).map_err(|e| FleetError::Invalid {
            field: source.into(),
            message: format!("not a deployment config: {e}"),
        })
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Refuses any target host that is not on the allow-list, naming it.
    pub fn check_targets(&self, targets: &[(String, u16)]) -> Result<(), FleetError> {
        for (host, port) in targets {
            let host = host.to_ascii_lowercase();
            let with_port = format!("{host}:{port}");
            if !self.allowed_targets.contains(&host) && !self.allowed_targets.contains(&with_port) {
                return Err(FleetError::TargetNotAllowed {
                    target: with_port,
                    deployment: self.deployment.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Checks an `--allow-target` value: a host name or address, optionally with `:port`.
pub fn normalize_allowed(entry: &str) -> Result<String, FleetError> {
    let e = entry.trim().to_ascii_lowercase();
    let invalid = |why: &str| FleetError::Invalid {
        field: "--allow-target".into(),
        message: format!("{entry:?}: {why}"),
    };
    if e.contains("://") || e.contains('/') {
        return Err(invalid("give a host (and optional :port), not a URL"));
    }
    let (host, port) = match e.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (e.as_str(), None),
    };
    if host.is_empty()
        || host.contains('*')
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:[]".contains(c))
    {
        return Err(invalid("not a host name or address (no wildcards)"));
    }
    if let Some(p) = port {
        p.parse::<u16>()
            .map_err(|_| invalid("the port is not a number up to 65535"))?;
    }
    Ok(e)
}

/// Every (host, port) a plan sends requests to. A templated URL whose host comes from a variable
/// cannot be checked before the run, so it is refused.
pub fn plan_targets(plan: &Plan) -> Result<Vec<(String, u16)>, FleetError> {
    let mut out = BTreeSet::new();
    for user in &plan.user_types {
        let tasks = user.tasks.iter().flat_map(|t| t.steps.iter());
        for step in user.on_start.iter().chain(&user.on_stop).chain(tasks) {
            step_targets(step, &mut out)?;
        }
    }
    Ok(out.into_iter().collect())
}

fn step_targets(step: &StepPlan, out: &mut BTreeSet<(String, u16)>) -> Result<(), FleetError> {
    match step {
        StepPlan::Request(r) => {
            out.insert((r.url.host.to_ascii_lowercase(), r.url.port));
            if let Some(t) = &r.template {
                let fixed_origin = match t.url.parts.first() {
                    Some(TemplatePart::Text(text)) => {
                        text.starts_with('/') || origin_is_literal(text)
                    }
                    _ => false,
                };
                if !fixed_origin {
                    return Err(FleetError::Invalid {
                        field: format!("request {} {}", r.method, r.url),
                        message: "its host comes from a template, so it cannot be checked \
                                  against the deployment's allow-list"
                            .into(),
                    });
                }
                if let Some(TemplatePart::Text(text)) = t.url.parts.first() {
                    if !text.starts_with('/') {
                        let url =
                            brood_plan::Url::parse(text).map_err(|e| FleetError::Invalid {
                                field: format!("request {} {}", r.method, r.url),
                                message: e,
                            })?;
                        out.insert((url.host.to_ascii_lowercase(), url.port));
                    }
                }
            }
        }
        StepPlan::Think(_) => {}
        StepPlan::Pick(tasks) => {
            for TaskPlan { steps, .. } in tasks {
                for s in steps {
                    step_targets(s, out)?;
                }
            }
        }
    }
    Ok(())
}

/// `https://host:port/...`: the literal text reaches past the host into the path.
fn origin_is_literal(text: &str) -> bool {
    text.split_once("://")
        .is_some_and(|(_, rest)| rest.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(allowed: &[&str]) -> DeploymentConfig {
        DeploymentConfig {
            deployment: "default".into(),
            allowed_targets: allowed.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn targets_off_the_allow_list_are_refused_by_name() {
        let c = config(&["staging.example.com", "127.0.0.1:8080"]);
        c.check_targets(&[("Staging.Example.com".into(), 443)])
            .unwrap();
        c.check_targets(&[("127.0.0.1".into(), 8080)]).unwrap();
        let e = c
            .check_targets(&[("127.0.0.1".into(), 9090)])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("127.0.0.1:9090") && e.contains("--allow-target"),
            "{e}"
        );
        assert!(c.check_targets(&[("example.org".into(), 80)]).is_err());
    }

    #[test]
    fn allow_entries_are_hosts_not_urls_or_wildcards() {
        assert_eq!(
            normalize_allowed(" Shop.Example.com ").unwrap(),
            "shop.example.com"
        );
        assert_eq!(normalize_allowed("10.0.0.1:8080").unwrap(), "10.0.0.1:8080");
        for bad in ["https://x.com", "*.example.com", "x.com:99999", "", "a b"] {
            let e = normalize_allowed(bad).unwrap_err().to_string();
            assert!(e.contains("--allow-target"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_config_round_trips_and_bad_json_names_its_source() {
        let c = config(&["a.example"]);
        assert_eq!(DeploymentConfig::from_json(&c.to_json(), "x").unwrap(), c);
        let e = DeploymentConfig::from_json(b"{\"nope\": 1}", "s3://b/deployment.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("s3://b/deployment.json"), "{e}");
    }

    #[test]
    fn a_plan_names_its_targets() {
        let yaml = "host: http://127.0.0.1:8089\nload: {users: 1, run_time: 1s}\nusers:\n  - name: u\n    tasks:\n      - name: t\n        steps:\n          - get: /a\n          - get: https://other.example/b\n";
        let scenario =
            brood_plan::parse_scenario(yaml, brood_plan::Format::Yaml, "s.yaml").unwrap();
        let plan = brood_plan::compile(&scenario, &brood_plan::LoadOptions::default()).unwrap();
        let targets = plan_targets(&plan).unwrap();
        assert_eq!(
            targets,
            vec![("127.0.0.1".into(), 8089), ("other.example".into(), 443)]
        );
    }
}
