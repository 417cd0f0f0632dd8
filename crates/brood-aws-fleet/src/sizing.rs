//! How many instances each region needs, from the region's share of the load and the instance
//! type's vCPUs, capped by `--max-instances`.
//!
//! The defaults come from the project's benchmark anchors (`bench/run.sh`): a Rust generator of
//! brood's class spends ~15 CPU-µs per request on one core (~60,000 requests/s), and 5,000 users
//! with 1 s think time cost ~40 KiB and ~7 % of a core per 1,000 users. We keep wide headroom for
//! TLS, checks and templating on real targets: 1,000 users or 10,000 arrivals/s per vCPU.

use crate::FleetError;

pub const DEFAULT_USERS_PER_VCPU: f64 = 1_000.0;
pub const DEFAULT_ARRIVALS_PER_VCPU: f64 = 10_000.0;

/// The peak load of the whole run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Load {
    /// Closed model: peak concurrent users.
    Users(f64),
    /// Open model: peak arrivals per second.
    Arrivals(f64),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SizingRules {
    pub users_per_vcpu: f64,
    pub arrivals_per_vcpu: f64,
    /// Total instances over all regions.
    pub max_instances: u32,
}

impl Default for SizingRules {
    fn default() -> Self {
        SizingRules {
            users_per_vcpu: DEFAULT_USERS_PER_VCPU,
            arrivals_per_vcpu: DEFAULT_ARRIVALS_PER_VCPU,
            max_instances: 20,
        }
    }
}

/// Instances per region, in the order of `weights`: each region gets
/// `ceil(share of load / (capacity per vCPU × vCPUs))`, at least one. When the total is above
/// `max_instances`, it is an error naming the limit (a silently smaller fleet would measure the
/// generators, not the target).
pub fn size_regions(
    load: Load,
    weights: &[(String, f64)],
    vcpus: u32,
    rules: &SizingRules,
) -> Result<Vec<(String, u32)>, FleetError> {
    let total_weight: f64 = weights.iter().map(|(_, w)| *w).sum();
    if vcpus == 0 || total_weight.is_nan() || total_weight <= 0.0 {
        return Err(FleetError::Invalid {
            field: "--regions".into(),
            message:
                "need at least one region with a positive weight and an instance type with vCPUs"
                    .into(),
        });
    }
    let (amount, per_vcpu) = match load {
        Load::Users(u) => (u, rules.users_per_vcpu),
        Load::Arrivals(a) => (a, rules.arrivals_per_vcpu),
    };
    if per_vcpu.is_nan() || per_vcpu <= 0.0 {
        return Err(FleetError::Invalid {
            field: "--users-per-vcpu".into(),
            message: "must be positive".into(),
        });
    }
    let per_instance = per_vcpu * f64::from(vcpus);
    let sized: Vec<(String, u32)> = weights
        .iter()
        .map(|(region, w)| {
            let share = amount * w / total_weight;
            let n = (share / per_instance).ceil().max(1.0);
            (region.clone(), n.min(f64::from(u32::MAX)) as u32)
        })
        .collect();
    check_cap(&sized, rules.max_instances)?;
    Ok(sized)
}

/// Refuses a fleet bigger than `--max-instances` in total.
pub fn check_cap(sized: &[(String, u32)], max_instances: u32) -> Result<(), FleetError> {
    let total: u64 = sized.iter().map(|(_, n)| u64::from(*n)).sum();
    if total > u64::from(max_instances) {
        return Err(FleetError::Invalid {
            field: "--max-instances".into(),
            message: format!(
                "the load needs {total} instances ({}), above the limit of {max_instances}; raise \
                 --max-instances, pick a bigger --instance-type or lower the load",
                sized
                    .iter()
                    .map(|(r, n)| format!("{r}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(list: &[(&str, f64)]) -> Vec<(String, f64)> {
        list.iter().map(|(r, x)| (r.to_string(), *x)).collect()
    }

    #[test]
    fn users_are_shared_by_weight_and_rounded_up() {
        let rules = SizingRules::default();
        let sized = size_regions(
            Load::Users(10_000.0),
            &w(&[("us-east-1", 3.0), ("eu-west-1", 1.0)]),
            2,
            &rules,
        )
        .unwrap();
        // 7,500 users / 2,000 per instance = 3.75 -> 4; 2,500 / 2,000 -> 2.
        assert_eq!(
            sized,
            vec![("us-east-1".into(), 4), ("eu-west-1".into(), 2)]
        );
    }

    #[test]
    fn every_region_gets_at_least_one_instance() {
        let sized = size_regions(
            Load::Arrivals(10.0),
            &w(&[("a", 1.0), ("b", 1.0)]),
            2,
            &SizingRules::default(),
        )
        .unwrap();
        assert_eq!(sized, vec![("a".into(), 1), ("b".into(), 1)]);
    }

    #[test]
    fn arrivals_use_their_own_rate_per_vcpu() {
        let rules = SizingRules {
            arrivals_per_vcpu: 1_000.0,
            ..SizingRules::default()
        };
        let sized = size_regions(Load::Arrivals(9_000.0), &w(&[("a", 1.0)]), 4, &rules).unwrap();
        assert_eq!(sized, vec![("a".into(), 3)]);
    }

    #[test]
    fn the_cap_refuses_a_bigger_fleet_naming_the_flag() {
        let rules = SizingRules {
            max_instances: 5,
            ..SizingRules::default()
        };
        let e = size_regions(Load::Users(20_000.0), &w(&[("a", 1.0)]), 2, &rules)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--max-instances") && e.contains("needs 10"),
            "{e}"
        );
    }

    #[test]
    fn zero_vcpus_or_weights_are_invalid() {
        let r = SizingRules::default();
        assert!(size_regions(Load::Users(1.0), &w(&[("a", 1.0)]), 0, &r).is_err());
        assert!(size_regions(Load::Users(1.0), &w(&[("a", 0.0)]), 2, &r).is_err());
    }
}
