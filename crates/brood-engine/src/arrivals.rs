//! Arrival times of the open model: when the n-th arrival is due under a rate curve.

use std::time::Duration;

use brood_plan::Curve;

/// The time at which the integral of `curve` (arrivals so far) reaches `target`, or `None` when it
/// never does (the rate drops to zero for good).
///
/// Pieces of the curve are linear, so within a piece the integral is a quadratic solved exactly:
/// intended send times are computed, never accumulated tick by tick.
pub(crate) fn time_of_integral(curve: &Curve, target: f64) -> Option<Duration> {
    if target <= 0.0 {
        return Some(Duration::ZERO);
    }
    let first = curve.points[0];
    let lead = first.at.as_secs_f64();
    let mut acc = 0.0;
    if lead > 0.0 {
        if first.value > 0.0 && first.value * lead >= target {
            return Some(Duration::from_secs_f64(target / first.value));
        }
        acc = first.value * lead;
    }
    for pair in curve.points.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let (t0, len) = (a.at.as_secs_f64(), (b.at - a.at).as_secs_f64());
        let area = (a.value + b.value) / 2.0 * len;
        if acc + area >= target && len > 0.0 {
            let rem = target - acc;
            let k = (b.value - a.value) / len;
            let tau = if k.abs() < 1e-12 {
                rem / a.value
            } else {
                // a.value·τ + k/2·τ² = rem
                let disc = (a.value * a.value + 2.0 * k * rem).max(0.0);
                (-a.value + disc.sqrt()) / k
            };
            return Some(Duration::from_secs_f64(t0 + tau.clamp(0.0, len)));
        }
        acc += area;
    }
    let last = curve.points[curve.points.len() - 1];
    if last.value <= 0.0 {
        return None;
    }
    let t = last.at.as_secs_f64().max(lead) + (target - acc) / last.value;
    Some(Duration::from_secs_f64(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use brood_plan::CurvePoint;

    fn p(at_ms: u64, value: f64) -> CurvePoint {
        CurvePoint {
            at: Duration::from_millis(at_ms),
            value,
        }
    }

    #[test]
    fn inverts_constant_and_ramping_rates() {
        let flat = Curve::constant(100.0, None);
        assert_eq!(
            time_of_integral(&flat, 50.0),
            Some(Duration::from_millis(500))
        );
        let ramp = Curve {
            points: vec![p(0, 0.0), p(10_000, 100.0), p(20_000, 100.0)],
            end: None,
        };
        for target in [1.0, 10.0, 250.0, 499.0, 500.0, 700.0, 1500.0, 2000.0] {
            let t = time_of_integral(&ramp, target).unwrap();
            let back = ramp.integral(t);
            assert!(
                (back - target).abs() < 1e-6,
                "target {target} t {t:?} back {back}"
            );
        }
        let stop = Curve {
            points: vec![p(0, 10.0), p(1000, 0.0)],
            end: None,
        };
        assert!(time_of_integral(&stop, 4.0).is_some());
        assert_eq!(time_of_integral(&stop, 6.0), None);
    }
}
