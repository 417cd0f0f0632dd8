//! Which user type each new user gets: fixed counts first (as Locust's `fixed_count`), then a smooth
//! weighted round robin, so that any prefix of the users follows the weights as closely as integers can.

use brood_plan::{Plan, Segment};

#[derive(Debug)]
pub(crate) struct UserMix {
    /// (user type, how many of this engine's users it gets), in file order.
    fixed: Vec<(usize, u64)>,
    fixed_total: u64,
    /// One cycle of the weighted round robin over the types without a fixed count.
    cycle: Vec<usize>,
    /// The open model's cycle over every type, fixed counts acting as weights: arrivals, not
    /// users, follow the mix there.
    arrivals: Vec<usize>,
}

/// Longest cycle kept; larger weight sums are scaled down (the mix stays within 1/`MAX_CYCLE`).
const MAX_CYCLE: u64 = 10_000;

impl UserMix {
    pub(crate) fn new(plan: &Plan, segment: Segment) -> UserMix {
        let mut fixed = Vec::new();
        let mut weighted = Vec::new();
        let mut all = Vec::new();
        for (i, t) in plan.user_types.iter().enumerate() {
            let w = t.fixed_count.unwrap_or(t.weight) as u64;
            if w > 0 {
                all.push((i, w));
            }
            match t.fixed_count {
                Some(n) => fixed.push((i, segment.share(n as f64))),
                None if t.weight > 0 => weighted.push((i, t.weight as u64)),
                None => {}
            }
        }
        let fixed_total = fixed.iter().map(|(_, n)| n).sum();
        UserMix {
            fixed,
            fixed_total,
            cycle: smooth_round_robin(&weighted),
            arrivals: smooth_round_robin(&all),
        }
    }

    /// The user type that serves the `index`-th arrival of this engine.
    pub(crate) fn arrival_type(&self, index: u64) -> usize {
        if self.arrivals.is_empty() {
            return 0;
        }
        self.arrivals[(index % self.arrivals.len() as u64) as usize]
    }

    /// The type of the `index`-th user of this engine, or `None` when only fixed counts exist and
    /// they are all taken.
    pub(crate) fn type_for(&self, index: u64) -> Option<usize> {
        if index < self.fixed_total {
            let mut left = index;
            for &(t, n) in &self.fixed {
                if left < n {
                    return Some(t);
                }
                left -= n;
            }
        }
        if self.cycle.is_empty() {
            return None;
        }
        let k = (index - self.fixed_total) % self.cycle.len() as u64;
        Some(self.cycle[k as usize])
    }

    /// The most users this mix can place, when it is bounded.
    pub(crate) fn limit(&self) -> Option<u64> {
        self.cycle.is_empty().then_some(self.fixed_total)
    }
}

/// nginx's smooth weighted round robin: every prefix is as close to the weights as possible.
fn smooth_round_robin(weighted: &[(usize, u64)]) -> Vec<usize> {
    let mut weights: Vec<(usize, u64)> = weighted.to_vec();
    let mut total: u64 = weights.iter().map(|(_, w)| w).sum();
    if total > MAX_CYCLE {
        for (_, w) in &mut weights {
            *w = ((*w * MAX_CYCLE) / total).max(1);
        }
        total = weights.iter().map(|(_, w)| w).sum();
    }
    let divisor = weights.iter().fold(0, |g, (_, w)| gcd(g, *w)).max(1);
    let reduced: Vec<(usize, i64)> = weights
        .iter()
        .map(|&(t, w)| (t, (w / divisor) as i64))
        .collect();
    let len = total / divisor;
    let mut current = vec![0i64; reduced.len()];
    let mut cycle = Vec::with_capacity(len as usize);
    for _ in 0..len {
        for (c, (_, w)) in current.iter_mut().zip(&reduced) {
            *c += w;
        }
        let best = (0..current.len())
            .max_by_key(|&i| (current[i], -(i as i64)))
            .unwrap_or(0);
        current[best] -= len as i64;
        cycle.push(reduced[best].0);
    }
    cycle
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_follows_weights() {
        let cycle = smooth_round_robin(&[(0, 3), (1, 1)]);
        assert_eq!(cycle, vec![0, 0, 1, 0]);
        let cycle = smooth_round_robin(&[(0, 2), (1, 4)]);
        assert_eq!(cycle.len(), 3);
        assert_eq!(cycle.iter().filter(|&&t| t == 1).count(), 2);
        let big = smooth_round_robin(&[(0, 7919), (1, 7907)]);
        assert!(big.len() as u64 <= MAX_CYCLE);
    }
}
