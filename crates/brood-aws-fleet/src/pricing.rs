//! Instance types brood knows (vCPUs, architecture, CPU credit baseline), a dated on-demand price
//! table that a file can override, and the cost preview shown before any instance starts, with the
//! `--max-cost` cap.
//!
//! The preview bills as AWS does for Linux on-demand instances: per second with a 60 s minimum per
//! instance, plus the public IPv4 address each instance holds. Burstable types (t2, t3, t3a, t4g)
//! are launched with standard CPU credits, so their price is the list price: an instance that runs
//! out of credits is throttled to its baseline instead of billed for surplus credits, and the
//! fleet is sized for the baseline (`sizing.rs`). See `docs/aws-cost.md`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::FleetError;

/// When the built-in prices were taken. They are approximate Linux on-demand list prices in USD
/// per hour; pass `--price-file` for current or negotiated ones.
pub const PRICE_TABLE_DATE: &str = "2025-06-01";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Arm64,
}

impl Arch {
    /// The name the AMI parameter and DescribeImages use.
    pub fn ami_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    /// The name Rust targets and `scripts/build-worker.sh --arch` use.
    pub fn rust_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "aarch64",
        }
    }
}

/// USD per hour for each public IPv4 address (in use or idle), in every region since 2024-02-01.
pub const PUBLIC_IPV4_USD_PER_HOUR: f64 = 0.005;
/// Linux on-demand and spot instances bill per second, with this minimum per instance.
pub const MINIMUM_BILLED: Duration = Duration::from_secs(60);

/// (type, vCPUs, architecture, USD per hour in us-east-1, baseline CPU of a burstable type as a
/// fraction of all its vCPUs)
const TYPES: &[(&str, u32, Arch, f64, Option<f64>)] = &[
    ("t3.micro", 2, Arch::X86_64, 0.0104, Some(0.10)),
    ("t3.small", 2, Arch::X86_64, 0.0208, Some(0.20)),
    ("t3.medium", 2, Arch::X86_64, 0.0416, Some(0.20)),
    ("t3.large", 2, Arch::X86_64, 0.0832, Some(0.30)),
    ("t3.xlarge", 4, Arch::X86_64, 0.1664, Some(0.40)),
    ("c6i.large", 2, Arch::X86_64, 0.085, None),
    ("c6i.xlarge", 4, Arch::X86_64, 0.17, None),
    ("c7i.large", 2, Arch::X86_64, 0.08925, None),
    ("c7i.xlarge", 4, Arch::X86_64, 0.1785, None),
    ("m7i.large", 2, Arch::X86_64, 0.1008, None),
    ("t4g.micro", 2, Arch::Arm64, 0.0084, Some(0.10)),
    ("t4g.small", 2, Arch::Arm64, 0.0168, Some(0.20)),
    ("t4g.medium", 2, Arch::Arm64, 0.0336, Some(0.20)),
    ("c7g.large", 2, Arch::Arm64, 0.0725, None),
    ("c7g.xlarge", 4, Arch::Arm64, 0.145, None),
    ("m7g.large", 2, Arch::Arm64, 0.0816, None),
];

/// How an instance type's CPU is billed and limited.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CreditMode {
    /// A fixed-performance type: every vCPU, all the time, at the list price.
    Fixed,
    /// A burstable type launched with standard credits: the list price, and once the credits are
    /// spent (a fresh t3 or t4g has none) the CPU is throttled to `baseline` of all its vCPUs.
    Standard { baseline: f64 },
}

impl CreditMode {
    /// The mode brood launches `instance_type` in: standard credits for the burstable families,
    /// including types the table does not list (whose baseline is then unknown, taken as 10 %).
    pub fn of(instance_type: &str) -> CreditMode {
        if let Some(t) = TYPES.iter().find(|t| t.0 == instance_type) {
            return match t.4 {
                Some(baseline) => CreditMode::Standard { baseline },
                None => CreditMode::Fixed,
            };
        }
        if is_burstable(instance_type) {
            CreditMode::Standard { baseline: 0.10 }
        } else {
            CreditMode::Fixed
        }
    }

    /// The share of the instance's vCPUs the fleet can count on for a whole run.
    pub fn sustained(self) -> f64 {
        match self {
            CreditMode::Fixed => 1.0,
            CreditMode::Standard { baseline } => baseline,
        }
    }

    pub fn describe(self) -> String {
        match self {
            CreditMode::Fixed => "fixed performance, no CPU credits".into(),
            CreditMode::Standard { baseline } => format!(
                "standard CPU credits: throttled to {:.0}% of its vCPUs once its credits are \
                 spent, sized for that baseline",
                baseline * 100.0
            ),
        }
    }
}

/// Whether the type belongs to a burstable family (t2, t3, t3a, t4g), which AWS launches in
/// unlimited credit mode unless told otherwise.
pub fn is_burstable(instance_type: &str) -> bool {
    matches!(
        instance_type.split('.').next(),
        Some("t2" | "t3" | "t3a" | "t4g")
    )
}

/// Regional price relative to us-east-1 (approximate, same date).
const REGION_FACTORS: &[(&str, f64)] = &[
    ("us-east-1", 1.0),
    ("us-east-2", 1.0),
    ("us-west-1", 1.19),
    ("us-west-2", 1.0),
    ("ca-central-1", 1.11),
    ("sa-east-1", 1.61),
    ("eu-west-1", 1.1),
    ("eu-west-2", 1.13),
    ("eu-west-3", 1.13),
    ("eu-central-1", 1.15),
    ("eu-north-1", 1.04),
    ("eu-south-1", 1.13),
    ("ap-south-1", 1.08),
    ("ap-northeast-1", 1.3),
    ("ap-northeast-2", 1.25),
    ("ap-southeast-1", 1.26),
    ("ap-southeast-2", 1.26),
];

/// The default instance type for an architecture: the cheapest fixed-performance type of the
/// table per usable vCPU (`docs/aws-cost.md` compares it with the burstable ones).
pub fn default_instance_type(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "c6i.large",
        Arch::Arm64 => "c7g.large",
    }
}

/// vCPUs and architecture of a known instance type.
pub fn instance_info(instance_type: &str) -> Option<(u32, Arch)> {
    TYPES
        .iter()
        .find(|t| t.0 == instance_type)
        .map(|t| (t.1, t.2))
}

/// A price table: the built-in one, or one read from a file, with its date.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceTable {
    pub date: String,
    /// region -> instance type -> USD per hour, from a file; consulted before the built-in table.
    overrides: BTreeMap<String, BTreeMap<String, f64>>,
    builtin: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    date: String,
    /// region -> instance type -> USD per hour
    prices: BTreeMap<String, BTreeMap<String, f64>>,
}

impl PriceTable {
    pub fn builtin() -> PriceTable {
        PriceTable {
            date: PRICE_TABLE_DATE.into(),
            overrides: BTreeMap::new(),
            builtin: true,
        }
    }

    /// A file `{"date": "2026-01-01", "prices": {"eu-west-1": {"t3.small": 0.0228}}}`; prices it
    /// lacks fall back to the built-in table.
    pub fn from_json(text: &str, source: &str) -> Result<PriceTable, FleetError> {
        let file: PriceFile = serde_json::from_str(text).map_err(|e| FleetError::Invalid {
            field: source.into(),
            message: format!(
                "not a price file ({{\"date\", \"prices\": {{region: {{type: USD/h}}}}}}): {e}"
            ),
        })?;
        for (region, types) in &file.prices {
            for (t, price) in types {
                if !price.is_finite() || *price < 0.0 {
                    return Err(FleetError::Invalid {
                        field: format!("{source}: prices.{region}.{t}"),
                        message: format!("{price} is not a price in USD per hour"),
                    });
                }
            }
        }
        Ok(PriceTable {
            date: file.date,
            overrides: file.prices,
            builtin: true,
        })
    }

    /// USD per hour, or `None` when neither the file nor the built-in table knows it.
    pub fn hourly(&self, region: &str, instance_type: &str) -> Option<f64> {
        if let Some(p) = self
            .overrides
            .get(region)
            .and_then(|t| t.get(instance_type))
        {
            return Some(*p);
        }
        if !self.builtin {
            return None;
        }
        let base = TYPES.iter().find(|t| t.0 == instance_type)?.3;
        let factor = REGION_FACTORS.iter().find(|r| r.0 == region)?.1;
        Some((base * factor * 10_000.0).round() / 10_000.0)
    }
}

/// What a preview prices: the fleet and how it bills.
#[derive(Clone, Copy, Debug)]
pub struct CostInput<'a> {
    pub instance_type: &'a str,
    /// Instances per region.
    pub fleet: &'a [(String, u32)],
    /// How long each instance runs (the run time plus boot and idle time); `None` when the run
    /// has no end.
    pub billed: Option<Duration>,
    pub spot: bool,
    /// Every instance holds a public IPv4 address (the default VPC's subnets give one to each).
    pub public_ipv4: bool,
}

/// One region's line of the preview.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionCost {
    pub region: String,
    pub instances: u32,
    /// The instance type's price here, USD per hour.
    pub hourly: Option<f64>,
    /// The region's instances for the billed time.
    pub cost: Option<f64>,
    /// The region's public IPv4 addresses for the billed time (0 without them).
    pub ipv4_cost: Option<f64>,
}

/// Instances per region × billed hours × price, + their public IPv4 addresses.
#[derive(Clone, Debug, PartialEq)]
pub struct CostPreview {
    pub instance_type: String,
    pub credits: CreditMode,
    /// Billed time per instance as AWS rounds it: whole seconds, at least [`MINIMUM_BILLED`].
    pub billed: Option<Duration>,
    pub date: String,
    pub regions: Vec<RegionCost>,
    pub spot: bool,
    pub public_ipv4: bool,
    /// How the fleet was sized, one line each, shown above the cost.
    pub sizing: Vec<String>,
}

/// `run` as billed per instance: rounded up to whole seconds, at least [`MINIMUM_BILLED`].
pub fn billed_time(run: Duration) -> Duration {
    let secs = run.as_secs() + u64::from(run.subsec_nanos() > 0);
    Duration::from_secs(secs).max(MINIMUM_BILLED)
}

impl CostPreview {
    pub fn new(table: &PriceTable, input: &CostInput) -> CostPreview {
        let billed = input.billed.map(billed_time);
        let hours = billed.map(|d| d.as_secs_f64() / 3600.0);
        let ipv4 = if input.public_ipv4 {
            PUBLIC_IPV4_USD_PER_HOUR
        } else {
            0.0
        };
        let regions = input
            .fleet
            .iter()
            .map(|(region, n)| {
                let hourly = table.hourly(region, input.instance_type);
                let count = f64::from(*n);
                RegionCost {
                    region: region.clone(),
                    instances: *n,
                    hourly,
                    cost: hourly.zip(hours).map(|(p, h)| count * h * p),
                    ipv4_cost: hours.map(|h| count * h * ipv4),
                }
            })
            .collect();
        CostPreview {
            instance_type: input.instance_type.into(),
            credits: CreditMode::of(input.instance_type),
            billed,
            date: table.date.clone(),
            regions,
            spot: input.spot,
            public_ipv4: input.public_ipv4,
            sizing: Vec::new(),
        }
    }

    fn ipv4_hourly(&self) -> f64 {
        if self.public_ipv4 {
            PUBLIC_IPV4_USD_PER_HOUR
        } else {
            0.0
        }
    }

    /// What the whole fleet costs an hour, public IPv4 addresses included, when every region's
    /// price is known.
    pub fn per_hour(&self) -> Option<f64> {
        self.regions
            .iter()
            .map(|r| {
                r.hourly
                    .map(|p| (p + self.ipv4_hourly()) * f64::from(r.instances))
            })
            .sum()
    }

    /// The total, when every price and the run time are known.
    pub fn total(&self) -> Option<f64> {
        self.regions
            .iter()
            .map(|r| r.cost.zip(r.ipv4_cost).map(|(c, ip)| c + ip))
            .sum()
    }

    /// Refuses to start above `max_cost` USD, or when the cost is unknown and a cap was given.
    pub fn check_cap(&self, max_cost: Option<f64>) -> Result<(), FleetError> {
        let Some(cap) = max_cost else { return Ok(()) };
        match self.total() {
            Some(total) if total <= cap => Ok(()),
            Some(total) => Err(FleetError::Invalid {
                field: "--max-cost".into(),
                message: format!(
                    "the run would cost about ${total:.2} (instances and their public IPv4 \
                     addresses), above the cap of ${cap:.2}"
                ),
            }),
            None => Err(FleetError::Invalid {
                field: "--max-cost".into(),
                message: "the cost is unknown (a run without --run-time, or a region or instance \
                          type without a price: give --price-file)"
                    .into(),
            }),
        }
    }

    /// The preview as the CLI prints it, with its arithmetic.
    pub fn render(&self) -> String {
        let mut out = format!(
            "Cost preview ({}, {}; on-demand prices of {}{}):\n",
            self.instance_type,
            self.credits.describe(),
            self.date,
            if self.spot {
                "; spot is usually cheaper"
            } else {
                ""
            }
        );
        for line in &self.sizing {
            out += &format!("  sizing: {line}\n");
        }
        let hours = self.billed.map(|b| b.as_secs_f64() / 3600.0);
        for r in &self.regions {
            let price = r
                .hourly
                .map_or("price unknown".into(), |p| format!("${p:.4}/h"));
            let h = hours.map_or("? h".into(), |h| format!("{h:.4} h"));
            let cost = r.cost.map_or("-".into(), |c| format!("${c:.4}"));
            out += &format!(
                "  {:<16} {:>3} × {h} × {price} = {cost}",
                r.region, r.instances
            );
            if self.public_ipv4 {
                let ip = r.ipv4_cost.map_or("-".into(), |c| format!("${c:.4}"));
                out += &format!(
                    " + IPv4 {} × {h} × ${PUBLIC_IPV4_USD_PER_HOUR:.3}/h = {ip}",
                    r.instances
                );
            }
            out += "\n";
        }
        let instances: u32 = self.regions.iter().map(|r| r.instances).sum();
        match (self.total(), self.billed) {
            (Some(t), Some(b)) => {
                out += &format!(
                    "  total about ${t:.2}: {instances} instances × {}s billed each (per second, \
                     {}s minimum){}\n",
                    b.as_secs(),
                    MINIMUM_BILLED.as_secs(),
                    if self.public_ipv4 {
                        ", each with a public IPv4 address"
                    } else {
                        ""
                    }
                )
            }
            (_, None) => out += "  no run time: the fleet bills until the run is stopped\n",
            _ => out += "  total unknown: some prices are missing (--price-file)\n",
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet() -> Vec<(String, u32)> {
        vec![("us-east-1".into(), 2), ("eu-west-1".into(), 1)]
    }

    fn input<'a>(
        instance_type: &'a str,
        fleet: &'a [(String, u32)],
        billed: Option<Duration>,
    ) -> CostInput<'a> {
        CostInput {
            instance_type,
            fleet,
            billed,
            spot: false,
            public_ipv4: true,
        }
    }

    #[test]
    fn the_preview_multiplies_instances_time_and_price_plus_ipv4() {
        let fleet = fleet();
        let p = CostPreview::new(
            &PriceTable::builtin(),
            &input("t3.small", &fleet, Some(Duration::from_secs(3600))),
        );
        let total = p.total().unwrap();
        // Instances: 2 × $0.0208 + 1 × $0.0229 (eu-west-1); addresses: 3 × $0.005.
        let expected = 2.0 * 0.0208 + 0.0229 + 3.0 * 0.005;
        assert!((total - expected).abs() < 1e-9, "{total}");
        assert!((p.per_hour().unwrap() - expected).abs() < 1e-9);
        let text = p.render();
        assert!(
            text.contains(PRICE_TABLE_DATE)
                && text.contains("us-east-1          2 × 1.0000 h × $0.0208/h = $0.0416 + IPv4 2 × 1.0000 h × $0.005/h = $0.0100")
                && text.contains("standard CPU credits: throttled to 20%")
                && text.contains("total about $0.08: 3 instances × 3600s billed each"),
            "{text}"
        );
        p.check_cap(Some(1.0)).unwrap();
        let e = p.check_cap(Some(0.01)).unwrap_err().to_string();
        assert!(e.contains("--max-cost") && e.contains("0.08"), "{e}");
    }

    #[test]
    fn the_max_cost_cap_counts_the_ipv4_addresses() {
        // 10 instances for an hour: $0.85 of c6i.large, $0.05 of addresses.
        let fleet = vec![("us-east-1".to_string(), 10)];
        let billed = Some(Duration::from_secs(3600));
        let with = CostPreview::new(&PriceTable::builtin(), &input("c6i.large", &fleet, billed));
        let without = CostPreview::new(
            &PriceTable::builtin(),
            &CostInput {
                public_ipv4: false,
                ..input("c6i.large", &fleet, billed)
            },
        );
        assert!((without.total().unwrap() - 0.85).abs() < 1e-9);
        assert!((with.total().unwrap() - 0.90).abs() < 1e-9);
        without.check_cap(Some(0.87)).unwrap();
        let e = with.check_cap(Some(0.87)).unwrap_err().to_string();
        assert!(e.contains("$0.90") && e.contains("IPv4"), "{e}");
        assert!(!without.render().contains("IPv4"));
    }

    #[test]
    fn billing_is_per_second_with_a_minute_minimum() {
        assert_eq!(billed_time(Duration::from_secs(5)), MINIMUM_BILLED);
        assert_eq!(
            billed_time(Duration::from_millis(90_001)),
            Duration::from_secs(91)
        );
        assert_eq!(
            billed_time(Duration::from_secs(61)),
            Duration::from_secs(61)
        );
        let fleet = vec![("us-east-1".to_string(), 3)];
        let p = CostPreview::new(
            &PriceTable::builtin(),
            &input("t3.small", &fleet, Some(Duration::from_secs(10))),
        );
        assert_eq!(p.billed, Some(Duration::from_secs(60)));
        // 3 × 60 s × ($0.0208 + $0.005) per hour.
        let expected = 3.0 * (60.0 / 3600.0) * (0.0208 + 0.005);
        assert!((p.total().unwrap() - expected).abs() < 1e-12);
        assert!(
            p.render().contains("3 × 0.0167 h × $0.0208/h"),
            "{}",
            p.render()
        );
    }

    #[test]
    fn burstable_types_are_standard_credits_at_their_baseline() {
        assert_eq!(
            CreditMode::of("t3.small"),
            CreditMode::Standard { baseline: 0.2 }
        );
        assert_eq!(
            CreditMode::of("t3a.nano"),
            CreditMode::Standard { baseline: 0.1 }
        );
        assert_eq!(CreditMode::of("c6i.large"), CreditMode::Fixed);
        assert_eq!(CreditMode::of("m5.large"), CreditMode::Fixed);
        assert!(is_burstable("t2.micro") && is_burstable("t4g.small"));
        assert!(!is_burstable("c7g.large") && !is_burstable("t"));
        for arch in [Arch::X86_64, Arch::Arm64] {
            assert_eq!(
                CreditMode::of(default_instance_type(arch)),
                CreditMode::Fixed
            );
        }
    }

    #[test]
    fn a_file_overrides_prices_and_its_date() {
        let t = PriceTable::from_json(
            r#"{"date": "2026-11-01", "prices": {"eu-west-1": {"t3.small": 0.5}}}"#,
            "prices.json",
        )
        .unwrap();
        assert_eq!(t.hourly("eu-west-1", "t3.small"), Some(0.5));
        assert_eq!(t.hourly("us-east-1", "t3.small"), Some(0.0208));
        assert_eq!(t.date, "2026-11-01");
        let e = PriceTable::from_json(r#"{"date": "x", "prices": {"a": {"b": -1}}}"#, "p.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("prices.a.b"), "{e}");
        assert!(PriceTable::from_json("{", "p.json")
            .unwrap_err()
            .to_string()
            .contains("p.json"));
    }

    #[test]
    fn unknown_costs_refuse_a_cap_but_not_a_run_without_one() {
        let fleet = fleet();
        let p = CostPreview::new(
            &PriceTable::builtin(),
            &input("x9.huge", &fleet, Some(Duration::from_secs(60))),
        );
        assert_eq!(p.total(), None);
        p.check_cap(None).unwrap();
        assert!(p.check_cap(Some(100.0)).is_err());
        let endless = CostPreview::new(&PriceTable::builtin(), &input("t3.small", &fleet, None));
        assert!(endless.check_cap(Some(100.0)).is_err());
        assert!(endless.render().contains("until the run is stopped"));
    }

    #[test]
    fn instance_types_know_their_vcpus_and_architecture() {
        assert_eq!(instance_info("t4g.small"), Some((2, Arch::Arm64)));
        assert_eq!(
            instance_info(default_instance_type(Arch::X86_64)),
            Some((2, Arch::X86_64))
        );
        assert_eq!(instance_info("nope"), None);
    }
}
