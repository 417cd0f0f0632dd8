//! Splitting a run across regions and workers: every worker gets a [`Segment`] of the load.
//!
//! Regions get load in proportion to their weight and the workers of a region equal parts of it.
//! The segments tile `[0, 1)` exactly (each one starts where the previous one ends, and the last
//! ends at 1), so [`Segment::share`] over all workers adds up to the whole number of users or
//! arrivals and [`Segment::scale`] to the whole rate: nothing is lost to rounding.

use brood_plan::Segment;

use crate::ClusterError;

/// One region of a run as the user configured it.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionSpec {
    pub name: String,
    /// Relative share of the load; only ratios between regions matter.
    pub weight: f64,
    pub workers: u32,
}

impl RegionSpec {
    pub fn new(name: impl Into<String>, weight: f64, workers: u32) -> RegionSpec {
        RegionSpec {
            name: name.into(),
            weight,
            workers,
        }
    }
}

/// The part of the load one worker slot runs.
#[derive(Clone, Debug, PartialEq)]
pub struct SlotSegment {
    pub region: String,
    /// 0-based index of the worker within its region; the job for this slot carries it.
    pub slot: u32,
    pub segment: Segment,
}

/// Checks the regions: at least one, unique non-empty names, positive finite weights, at least
/// one worker each.
pub fn check_regions(regions: &[RegionSpec]) -> Result<(), ClusterError> {
    if regions.is_empty() {
        return Err(ClusterError::NoRegions);
    }
    for (i, region) in regions.iter().enumerate() {
        let invalid = |problem: &str| ClusterError::InvalidRegion {
            region: region.name.clone(),
            problem: problem.to_string(),
        };
        if region.name.trim().is_empty() {
            return Err(invalid("the region name is empty"));
        }
        if !region.weight.is_finite() || region.weight <= 0.0 {
            return Err(invalid(&format!(
                "weight {} is not a positive number",
                region.weight
            )));
        }
        if region.workers == 0 {
            return Err(invalid("needs at least one worker"));
        }
        if regions[..i].iter().any(|r| r.name == region.name) {
            return Err(ClusterError::DuplicateRegion {
                region: region.name.clone(),
            });
        }
    }
    Ok(())
}

/// One segment per worker slot, regions in the order given and slots in order within each.
pub fn split_regions(regions: &[RegionSpec]) -> Result<Vec<SlotSegment>, ClusterError> {
    check_regions(regions)?;
    let weights: Vec<f64> = regions.iter().map(|r| r.weight).collect();
    let mut out = Vec::new();
    for (region, part) in regions.iter().zip(Segment::WHOLE.split(&weights)) {
        let equal = vec![1.0; region.workers as usize];
        for (slot, segment) in (0..region.workers).zip(part.split(&equal)) {
            out.push(SlotSegment {
                region: region.name.clone(),
                slot,
                segment,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mixed() -> Vec<RegionSpec> {
        vec![
            RegionSpec::new("us-east-1", 3.0, 7),
            RegionSpec::new("eu-west-1", 1.5, 3),
            RegionSpec::new("ap-south-1", 0.1, 1),
            RegionSpec::new("sa-east-1", 2.0, 13),
        ]
    }

    #[test]
    fn segments_tile_the_whole_without_gaps() {
        let slots = split_regions(&mixed()).unwrap();
        assert_eq!(slots.len(), 24);
        assert_eq!(slots[0].segment.start, 0.0);
        assert_eq!(slots[slots.len() - 1].segment.end, 1.0);
        for pair in slots.windows(2) {
            assert_eq!(pair[0].segment.end, pair[1].segment.start);
        }
        assert_eq!((slots[7].region.as_str(), slots[7].slot), ("eu-west-1", 0));
    }

    #[test]
    fn user_shares_add_up_exactly_for_many_totals() {
        let slots = split_regions(&mixed()).unwrap();
        for total in 0..5_000u64 {
            let sum: u64 = slots.iter().map(|s| s.segment.share(total as f64)).sum();
            assert_eq!(sum, total, "total {total}");
        }
        for total in [10_007.0, 123_456.0, 1e9 + 7.0] {
            let sum: u64 = slots.iter().map(|s| s.segment.share(total)).sum();
            assert_eq!(sum as f64, total);
        }
    }

    #[test]
    fn rates_add_up_to_the_total_rate() {
        let slots = split_regions(&mixed()).unwrap();
        for rate in [0.5, 1.0, 33.3, 1_000.0, 12_345.678] {
            let sum: f64 = slots.iter().map(|s| s.segment.scale(rate)).sum();
            assert!((sum - rate).abs() < 1e-9, "rate {rate} summed to {sum}");
        }
    }

    #[test]
    fn regions_get_load_by_weight_and_workers_equal_parts() {
        let regions = vec![RegionSpec::new("a", 1.0, 2), RegionSpec::new("b", 3.0, 3)];
        let slots = split_regions(&regions).unwrap();
        let region_rate = |name: &str| -> f64 {
            slots
                .iter()
                .filter(|s| s.region == name)
                .map(|s| s.segment.scale(400.0))
                .sum()
        };
        assert!((region_rate("a") - 100.0).abs() < 1e-9);
        assert!((region_rate("b") - 300.0).abs() < 1e-9);
        for s in slots.iter().filter(|s| s.region == "b") {
            assert!((s.segment.scale(400.0) - 100.0).abs() < 1e-9);
        }
        let users: Vec<u64> = slots.iter().map(|s| s.segment.share(40.0)).collect();
        assert_eq!(users, vec![5, 5, 10, 10, 10]);
    }

    #[test]
    fn bad_regions_are_named() {
        let err = |regions: Vec<RegionSpec>| split_regions(&regions).unwrap_err().to_string();
        assert_eq!(err(vec![]), "a distributed run needs at least one region");
        assert_eq!(
            err(vec![RegionSpec::new("x", 0.0, 1)]),
            "region x: weight 0 is not a positive number"
        );
        assert_eq!(
            err(vec![RegionSpec::new("x", f64::NAN, 1)]),
            "region x: weight NaN is not a positive number"
        );
        assert_eq!(
            err(vec![RegionSpec::new("x", 1.0, 0)]),
            "region x: needs at least one worker"
        );
        assert_eq!(
            err(vec![
                RegionSpec::new("x", 1.0, 1),
                RegionSpec::new("x", 2.0, 1)
            ]),
            "region x is listed twice"
        );
    }
}
