//! How many instances each region needs: the plan's expected request rate at its peak × the CPU
//! one request costs, over the CPU an instance can give for a whole run, capped by
//! `--max-instances`.
//!
//! The rate comes from the plan, not from its user count: a closed-model user sends one task's
//! requests per (think time + an expected latency per request), so 5,000 users with 1 s think
//! time send ~4,800 requests/s and 50 users with none ~1,000 (against a target answering in
//! 50 ms); an open model sends its arrival rate. The CPU per request is a per-protocol figure from
//! the benchmark anchors (`bench/run.sh`, `../shared/bench/RESULTS.md`; `docs/aws-cost.md` shows
//! the derivation), with more for TLS, HTTP/2, checks and templates, and for requests that follow
//! think time. Each instance is filled to [`SIZING_CPU_PERCENT`] of the CPU it sustains, below the
//! generator CPU at which the run's validity verdict says latencies may be inflated (85 %).

use std::time::Duration;

use brood_cluster::coordinator::SIZING_CPU_PERCENT;
use brood_plan::{Check, Plan, Profile, RequestPlan, Scheme, StepPlan, TaskPlan, Wait};

use crate::pricing::CreditMode;
use crate::FleetError;

/// The response time assumed when turning users into a request rate.
pub const EXPECTED_LATENCY: Duration = Duration::from_millis(50);
/// CPU-µs per plain HTTP/1.1 request on one core, flat out.
pub const CPU_US_HTTP1: f64 = 15.0;
/// CPU-µs per HTTP/1.1 request over TLS (TLS doubles the anchors' per-request cost).
pub const CPU_US_HTTP1_TLS: f64 = 30.0;
/// CPU-µs per HTTP/2 request, with or without TLS (1.5 × TLS HTTP/1.1 in the anchors).
pub const CPU_US_HTTP2: f64 = 45.0;
/// Added for a request that is templated, extracts values or checks its body or headers.
pub const CPU_US_CHECKS: f64 = 10.0;
/// Added for a request that follows think time or an arrival's timer: a wake-up of its own
/// instead of a batch of ready connections.
pub const CPU_US_PACED: f64 = 20.0;

/// What the plan asks of the generators at its peak.
#[derive(Clone, Debug, PartialEq)]
pub struct Demand {
    pub requests_per_s: f64,
    /// Averaged over the requests the plan sends, weighted by how often each is sent.
    pub cpu_us_per_request: f64,
    /// How the rate was found, for the preview.
    pub how: String,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SizingRules {
    /// Overrides the estimate: requests per second one vCPU sends while staying under the
    /// validity threshold (`--requests-per-vcpu`).
    pub requests_per_vcpu: Option<f64>,
    /// Total instances over all regions.
    pub max_instances: u32,
}

impl Default for SizingRules {
    fn default() -> Self {
        SizingRules {
            requests_per_vcpu: None,
            max_instances: 20,
        }
    }
}

/// What an instance of the chosen type gives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InstanceCpu {
    pub vcpus: u32,
    pub credits: CreditMode,
}

/// A sized fleet and the arithmetic behind it.
#[derive(Clone, Debug, PartialEq)]
pub struct Sizing {
    pub demand: Demand,
    pub cpu: InstanceCpu,
    /// Requests per second one instance carries.
    pub per_instance: f64,
    /// Instances per region, in the order of the weights.
    pub regions: Vec<(String, u32)>,
    requests_per_vcpu: Option<f64>,
    shares: Vec<f64>,
}

impl Sizing {
    /// The arithmetic, one line each, as the cost preview shows it.
    pub fn lines(&self) -> Vec<String> {
        let d = &self.demand;
        let mut out = vec![format!(
            "{} ≈ {:.0} requests/s at the peak",
            d.how, d.requests_per_s
        )];
        let sustained = self.cpu.credits.sustained();
        let credits = if sustained < 1.0 {
            format!(" × {:.0}% baseline", sustained * 100.0)
        } else {
            String::new()
        };
        out.push(match self.requests_per_vcpu {
            Some(rpv) => format!(
                "{rpv} requests/s per vCPU (--requests-per-vcpu) × {} vCPUs{credits} = {:.0} \
                 requests/s per instance",
                self.cpu.vcpus, self.per_instance
            ),
            None => format!(
                "{:.1} CPU-µs per request; {} vCPUs{credits} × {SIZING_CPU_PERCENT}% usable \
                 (validity verdicts start at 85%) ÷ {:.1} µs = {:.0} requests/s per instance",
                d.cpu_us_per_request, self.cpu.vcpus, d.cpu_us_per_request, self.per_instance
            ),
        });
        let per_region: Vec<String> = self
            .regions
            .iter()
            .zip(&self.shares)
            .map(|((region, n), share)| {
                format!(
                    "{region} ceil({:.0} ÷ {:.0}) = {n}",
                    d.requests_per_s * share,
                    self.per_instance
                )
            })
            .collect();
        out.push(format!(
            "instances (at least 1 per region): {}",
            per_region.join(", ")
        ));
        out
    }
}

/// The peak request rate and CPU per request the plan implies.
pub fn demand(plan: &Plan) -> Demand {
    let latency = EXPECTED_LATENCY.as_secs_f64();
    let (peak, closed) = match &plan.profile {
        Profile::Users { curve } => (curve.peak(), true),
        Profile::Arrivals { curve, .. } => (curve.peak(), false),
    };
    let pool = match &plan.profile {
        Profile::Users { .. } => peak,
        Profile::Arrivals { max_users, .. } => f64::from(*max_users),
    };
    let shares = user_shares(plan, pool);
    let mut rate = 0.0;
    let mut cpu = 0.0;
    for (user, share) in plan.user_types.iter().zip(&shares) {
        let cycle = average(&user.tasks);
        if cycle.requests <= 0.0 {
            continue;
        }
        let paced = !closed || cycle.think_s > 0.0 || mean_wait(&user.wait) > 0.0;
        let cpu_per_request =
            cycle.cpu_us / cycle.requests + if paced { CPU_US_PACED } else { 0.0 };
        let type_rate = match &plan.profile {
            Profile::Users { .. } => {
                let work = cycle.requests * latency + cycle.think_s;
                let period = match user.wait {
                    Wait::ConstantPacing(d) => work.max(d.as_secs_f64()),
                    Wait::ConstantThroughput(n) if n > 0.0 => work.max(1.0 / n),
                    _ => work + mean_wait(&user.wait),
                };
                peak * share * cycle.requests / period.max(1e-6)
            }
            Profile::Arrivals { unit, .. } => match unit {
                brood_plan::ArrivalUnit::Iterations => peak * share * cycle.requests,
                brood_plan::ArrivalUnit::Requests => peak * share,
            },
        };
        rate += type_rate;
        cpu += type_rate * cpu_per_request;
    }
    let how = if closed {
        format!(
            "closed model: {peak:.0} users, each sending its tasks' requests once per (think time \
             + {} ms expected latency per request)",
            EXPECTED_LATENCY.as_millis()
        )
    } else {
        format!("open model: {peak:.0} arrivals/s")
    };
    Demand {
        requests_per_s: rate,
        cpu_us_per_request: if rate > 0.0 { cpu / rate } else { CPU_US_HTTP1 },
        how,
    }
}

/// Each user type's share of `pool` users: fixed counts first, the rest by weight.
fn user_shares(plan: &Plan, pool: f64) -> Vec<f64> {
    let fixed: f64 = plan
        .user_types
        .iter()
        .filter_map(|u| u.fixed_count)
        .map(f64::from)
        .sum();
    let weights: f64 = plan
        .user_types
        .iter()
        .filter(|u| u.fixed_count.is_none())
        .map(|u| f64::from(u.weight))
        .sum();
    let pool = pool.max(1.0);
    let fixed_part = fixed.min(pool);
    plan.user_types
        .iter()
        .map(|u| match u.fixed_count {
            Some(n) if fixed > 0.0 => f64::from(n) / fixed * fixed_part / pool,
            Some(_) => 0.0,
            None if weights > 0.0 => (pool - fixed_part) / pool * f64::from(u.weight) / weights,
            None => 0.0,
        })
        .collect()
}

/// One pass through a task (or a weighted average of tasks).
#[derive(Clone, Copy, Debug, Default)]
struct Cycle {
    requests: f64,
    think_s: f64,
    cpu_us: f64,
}

fn average(tasks: &[TaskPlan]) -> Cycle {
    let total: f64 = tasks.iter().map(|t| f64::from(t.weight)).sum();
    let mut out = Cycle::default();
    if total <= 0.0 {
        return out;
    }
    for task in tasks {
        let c = steps(&task.steps);
        let w = f64::from(task.weight) / total;
        out.requests += c.requests * w;
        out.think_s += c.think_s * w;
        out.cpu_us += c.cpu_us * w;
    }
    out
}

fn steps(list: &[StepPlan]) -> Cycle {
    let mut out = Cycle::default();
    for step in list {
        let c = match step {
            StepPlan::Request(r) => Cycle {
                requests: 1.0,
                think_s: 0.0,
                cpu_us: request_cpu_us(r),
            },
            StepPlan::Think(w) => Cycle {
                think_s: mean_wait(w),
                ..Cycle::default()
            },
            StepPlan::Pick(tasks) => average(tasks),
        };
        out.requests += c.requests;
        out.think_s += c.think_s;
        out.cpu_us += c.cpu_us;
    }
    out
}

/// The generator's CPU for one request, flat out.
pub fn request_cpu_us(r: &RequestPlan) -> f64 {
    let base = if r.http2 {
        CPU_US_HTTP2
    } else if r.url.scheme == Scheme::Https {
        CPU_US_HTTP1_TLS
    } else {
        CPU_US_HTTP1
    };
    let reads_response = r
        .checks
        .iter()
        .any(|c| !matches!(c, Check::Status(_) | Check::ResponseTimeBelow(_)))
        || !r.extract.is_empty();
    let extra = if reads_response || r.template.is_some() {
        CPU_US_CHECKS
    } else {
        0.0
    };
    base + extra
}

/// The mean pause of a think time (pacing and throughput waits pause only what is left of their
/// period: counted by the caller).
fn mean_wait(wait: &Wait) -> f64 {
    match wait {
        Wait::Constant(d) => d.as_secs_f64(),
        Wait::Between(a, b) => (a.as_secs_f64() + b.as_secs_f64()) / 2.0,
        Wait::ConstantPacing(_) | Wait::ConstantThroughput(_) => 0.0,
    }
}

/// Instances per region, in the order of `weights`: each region gets
/// `ceil(share of the rate × CPU per request / (vCPUs × sustained share × usable share))`, at
/// least one. When the total is above `max_instances`, it is an error naming the limit (a
/// silently smaller fleet would measure the generators, not the target).
pub fn size_regions(
    demand: &Demand,
    weights: &[(String, f64)],
    cpu: InstanceCpu,
    rules: &SizingRules,
) -> Result<Sizing, FleetError> {
    let total_weight: f64 = weights.iter().map(|(_, w)| *w).sum();
    if cpu.vcpus == 0 || total_weight.is_nan() || total_weight <= 0.0 {
        return Err(FleetError::Invalid {
            field: "--regions".into(),
            message:
                "need at least one region with a positive weight and an instance type with vCPUs"
                    .into(),
        });
    }
    if let Some(rpv) = rules.requests_per_vcpu {
        if !(rpv.is_finite() && rpv > 0.0) {
            return Err(FleetError::Invalid {
                field: "--requests-per-vcpu".into(),
                message: format!("{rpv} must be above 0"),
            });
        }
    }
    let vcpus = f64::from(cpu.vcpus) * cpu.credits.sustained();
    let per_instance = match rules.requests_per_vcpu {
        Some(rpv) => rpv * vcpus,
        None => {
            vcpus * f64::from(SIZING_CPU_PERCENT) / 100.0 * 1e6
                / demand.cpu_us_per_request.max(1e-3)
        }
    };
    let shares: Vec<f64> = weights.iter().map(|(_, w)| w / total_weight).collect();
    let regions: Vec<(String, u32)> = weights
        .iter()
        .zip(&shares)
        .map(|((region, _), share)| {
            let n = (demand.requests_per_s * share / per_instance)
                .ceil()
                .max(1.0);
            (region.clone(), n.min(f64::from(u32::MAX)) as u32)
        })
        .collect();
    check_cap(&regions, rules.max_instances)?;
    Ok(Sizing {
        demand: demand.clone(),
        cpu,
        per_instance,
        regions,
        requests_per_vcpu: rules.requests_per_vcpu,
        shares,
    })
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
    use brood_plan::{compile, LoadOptions, Scenario};

    use super::*;

    fn w(list: &[(&str, f64)]) -> Vec<(String, f64)> {
        list.iter().map(|(r, x)| (r.to_string(), *x)).collect()
    }

    fn plan(url: &str, opts: LoadOptions) -> Plan {
        compile(&Scenario::quick(url).unwrap(), &opts).unwrap()
    }

    fn users(n: u64, think: Duration) -> LoadOptions {
        LoadOptions {
            users: Some(n),
            run_time: Some(Duration::from_secs(60)),
            wait: Some(Wait::Constant(think)),
            ..LoadOptions::default()
        }
    }

    const FIXED: InstanceCpu = InstanceCpu {
        vcpus: 2,
        credits: CreditMode::Fixed,
    };

    #[test]
    fn the_same_users_with_and_without_think_time_need_different_fleets() {
        let rules = SizingRules::default();
        let regions = w(&[("us-east-1", 1.0)]);
        // 20,000 users, 1 s think time: 20,000 / 1.05 s ≈ 19,048 requests/s at 35 µs (plain
        // HTTP/1.1 15 + after think time 20) = 0.67 s of CPU a second: one instance (1.2 usable
        // vCPUs of 2).
        let thinking = demand(&plan(
            "http://t.test/",
            users(20_000, Duration::from_secs(1)),
        ));
        assert!((thinking.requests_per_s - 20_000.0 / 1.05).abs() < 1e-6);
        assert!((thinking.cpu_us_per_request - 35.0).abs() < 1e-9);
        let sized = size_regions(&thinking, &regions, FIXED, &rules).unwrap();
        assert_eq!(sized.regions, vec![("us-east-1".into(), 1)]);
        // The same users with no think time: 20,000 / 0.05 s = 400,000 requests/s at 15 µs = 6 s of
        // CPU a second: ceil(400,000 / 80,000) = 5 instances.
        let flat_out = demand(&plan("http://t.test/", users(20_000, Duration::ZERO)));
        assert!((flat_out.requests_per_s - 400_000.0).abs() < 1e-6);
        assert!((flat_out.cpu_us_per_request - 15.0).abs() < 1e-9);
        let sized = size_regions(&flat_out, &regions, FIXED, &rules).unwrap();
        assert!((sized.per_instance - 80_000.0).abs() < 1e-6);
        assert_eq!(sized.regions, vec![("us-east-1".into(), 5)]);
        let lines = sized.lines().join("\n");
        assert!(
            lines.contains("20000 users")
                && lines.contains("400000 requests/s")
                && lines.contains("15.0 CPU-µs per request; 2 vCPUs × 60% usable")
                && lines.contains("us-east-1 ceil(400000 ÷ 80000) = 5"),
            "{lines}"
        );
    }

    #[test]
    fn tls_and_http2_cost_more_per_request() {
        let flat = || users(10, Duration::ZERO);
        let tls = demand(&plan("https://t.test/", flat()));
        assert!((tls.cpu_us_per_request - CPU_US_HTTP1_TLS).abs() < 1e-9);
        let h2 = demand(&plan(
            "https://t.test/",
            LoadOptions {
                http2: Some(true),
                ..flat()
            },
        ));
        assert!((h2.cpu_us_per_request - CPU_US_HTTP2).abs() < 1e-9);
    }

    #[test]
    fn an_open_model_sends_its_arrival_rate() {
        let d = demand(&plan(
            "http://t.test/",
            LoadOptions {
                arrival_rate: Some(30_000.0),
                run_time: Some(Duration::from_secs(60)),
                ..LoadOptions::default()
            },
        ));
        assert!((d.requests_per_s - 30_000.0).abs() < 1e-6, "{d:?}");
        // Every arrival waits for its timer.
        assert!((d.cpu_us_per_request - (CPU_US_HTTP1 + CPU_US_PACED)).abs() < 1e-9);
        // 30,000 × 35 µs = 1.05 s a second; 1.2 usable vCPUs per instance, shared 2:1.
        let sized = size_regions(
            &d,
            &w(&[("a", 2.0), ("b", 1.0)]),
            FIXED,
            &SizingRules::default(),
        )
        .unwrap();
        assert_eq!(sized.regions, vec![("a".into(), 1), ("b".into(), 1)]);
    }

    #[test]
    fn a_burstable_type_is_sized_for_its_baseline() {
        let d = demand(&plan("http://t.test/", users(2_000, Duration::ZERO)));
        // 40,000 requests/s × 15 µs = 0.6 s of CPU a second.
        let fixed = size_regions(&d, &w(&[("a", 1.0)]), FIXED, &SizingRules::default()).unwrap();
        assert_eq!(fixed.regions, vec![("a".into(), 1)]);
        // A t3.small sustains 20% of 2 vCPUs: 0.4 × 60% = 0.24 vCPU, 16,000 requests/s.
        let t3 = InstanceCpu {
            vcpus: 2,
            credits: CreditMode::Standard { baseline: 0.2 },
        };
        let burst = size_regions(&d, &w(&[("a", 1.0)]), t3, &SizingRules::default()).unwrap();
        assert_eq!(burst.regions, vec![("a".into(), 3)]);
        assert!(
            burst.lines()[1].contains("× 20% baseline"),
            "{:?}",
            burst.lines()
        );
    }

    #[test]
    fn requests_per_vcpu_overrides_the_estimate() {
        let d = demand(&plan("http://t.test/", users(2_000, Duration::ZERO)));
        let rules = SizingRules {
            requests_per_vcpu: Some(5_000.0),
            ..SizingRules::default()
        };
        // 40,000 requests/s ÷ (5,000 × 2 vCPUs) = 4.
        let sized = size_regions(&d, &w(&[("a", 1.0)]), FIXED, &rules).unwrap();
        assert_eq!(sized.regions, vec![("a".into(), 4)]);
        assert!(sized.lines()[1].contains("--requests-per-vcpu"));
        let bad = SizingRules {
            requests_per_vcpu: Some(0.0),
            ..rules
        };
        let e = size_regions(&d, &w(&[("a", 1.0)]), FIXED, &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--requests-per-vcpu"), "{e}");
    }

    #[test]
    fn the_cap_refuses_a_bigger_fleet_naming_the_flag() {
        let rules = SizingRules {
            max_instances: 4,
            ..SizingRules::default()
        };
        let d = demand(&plan("http://t.test/", users(20_000, Duration::ZERO)));
        let e = size_regions(&d, &w(&[("a", 1.0)]), FIXED, &rules)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--max-instances") && e.contains("needs 5"),
            "{e}"
        );
    }

    #[test]
    fn zero_vcpus_or_weights_are_invalid() {
        let r = SizingRules::default();
        let d = demand(&plan("http://t.test/", users(1, Duration::ZERO)));
        let none = InstanceCpu { vcpus: 0, ..FIXED };
        assert!(size_regions(&d, &w(&[("a", 1.0)]), none, &r).is_err());
        assert!(size_regions(&d, &w(&[("a", 0.0)]), FIXED, &r).is_err());
    }
}
