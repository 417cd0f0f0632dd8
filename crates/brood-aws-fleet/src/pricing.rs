//! Instance types brood knows (vCPUs, architecture), a dated on-demand price table that a file can
//! override, and the cost preview shown before any instance starts, with the `--max-cost` cap.

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

/// (type, vCPUs, architecture, USD per hour in us-east-1)
const TYPES: &[(&str, u32, Arch, f64)] = &[
    ("t3.micro", 2, Arch::X86_64, 0.0104),
    ("t3.small", 2, Arch::X86_64, 0.0208),
    ("t3.medium", 2, Arch::X86_64, 0.0416),
    ("t3.large", 2, Arch::X86_64, 0.0832),
    ("t3.xlarge", 4, Arch::X86_64, 0.1664),
    ("c6i.large", 2, Arch::X86_64, 0.085),
    ("c6i.xlarge", 4, Arch::X86_64, 0.17),
    ("c7i.large", 2, Arch::X86_64, 0.08925),
    ("c7i.xlarge", 4, Arch::X86_64, 0.1785),
    ("m7i.large", 2, Arch::X86_64, 0.1008),
    ("t4g.micro", 2, Arch::Arm64, 0.0084),
    ("t4g.small", 2, Arch::Arm64, 0.0168),
    ("t4g.medium", 2, Arch::Arm64, 0.0336),
    ("c7g.large", 2, Arch::Arm64, 0.0725),
    ("c7g.xlarge", 4, Arch::Arm64, 0.145),
    ("m7g.large", 2, Arch::Arm64, 0.0816),
];

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

/// The default small instance type for an architecture.
pub fn default_instance_type(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "t3.small",
        Arch::Arm64 => "t4g.small",
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

/// One region's line of the preview.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionCost {
    pub region: String,
    pub instances: u32,
    pub hourly: Option<f64>,
    pub cost: Option<f64>,
}

/// Instances per region × billed time × price.
#[derive(Clone, Debug, PartialEq)]
pub struct CostPreview {
    pub instance_type: String,
    pub billed: Option<Duration>,
    pub date: String,
    pub regions: Vec<RegionCost>,
    pub spot: bool,
}

impl CostPreview {
    /// `billed` is the run time plus boot and idle time; `None` when the run has no end.
    pub fn new(
        table: &PriceTable,
        instance_type: &str,
        fleet: &[(String, u32)],
        billed: Option<Duration>,
        spot: bool,
    ) -> CostPreview {
        let hours = billed.map(|d| d.as_secs_f64() / 3600.0);
        let regions = fleet
            .iter()
            .map(|(region, n)| {
                let hourly = table.hourly(region, instance_type);
                RegionCost {
                    region: region.clone(),
                    instances: *n,
                    hourly,
                    cost: hourly.zip(hours).map(|(p, h)| p * h * f64::from(*n)),
                }
            })
            .collect();
        CostPreview {
            instance_type: instance_type.into(),
            billed,
            date: table.date.clone(),
            regions,
            spot,
        }
    }

    /// What the whole fleet costs an hour, when every region's price is known.
    pub fn per_hour(&self) -> Option<f64> {
        self.regions
            .iter()
            .map(|r| r.hourly.map(|p| p * f64::from(r.instances)))
            .sum()
    }

    /// The total, when every price and the run time are known.
    pub fn total(&self) -> Option<f64> {
        self.regions.iter().map(|r| r.cost).sum()
    }

    /// Refuses to start above `max_cost` USD, or when the cost is unknown and a cap was given.
    pub fn check_cap(&self, max_cost: Option<f64>) -> Result<(), FleetError> {
        let Some(cap) = max_cost else { return Ok(()) };
        match self.total() {
            Some(total) if total <= cap => Ok(()),
            Some(total) => Err(FleetError::Invalid {
                field: "--max-cost".into(),
                message: format!(
                    "the run would cost about ${total:.2}, above the cap of ${cap:.2}"
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

    /// The preview as the CLI prints it.
    pub fn render(&self) -> String {
        let mut out = format!(
            "Cost preview ({}, on-demand prices of {}{}):\n",
            self.instance_type,
            self.date,
            if self.spot {
                "; spot is usually cheaper"
            } else {
                ""
            }
        );
        for r in &self.regions {
            let price = r
                .hourly
                .map_or("price unknown".into(), |p| format!("${p:.4}/h"));
            let cost = r.cost.map_or("-".into(), |c| format!("${c:.2}"));
            out += &format!(
                "  {:<16} {:>3} × {price:<14} {cost}\n",
                r.region, r.instances
            );
        }
        match (self.total(), self.billed) {
            (Some(t), Some(b)) => {
                out += &format!(
                    "  total about ${t:.2} for {}s billed per instance\n",
                    b.as_secs()
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

    #[test]
    fn the_preview_multiplies_instances_time_and_price() {
        let p = CostPreview::new(
            &PriceTable::builtin(),
            "t3.small",
            &fleet(),
            Some(Duration::from_secs(3600)),
            false,
        );
        let total = p.total().unwrap();
        assert!((total - (2.0 * 0.0208 + 0.0229)).abs() < 1e-9, "{total}");
        let text = p.render();
        assert!(
            text.contains(PRICE_TABLE_DATE) && text.contains("us-east-1"),
            "{text}"
        );
        p.check_cap(Some(1.0)).unwrap();
        let e = p.check_cap(Some(0.01)).unwrap_err().to_string();
        assert!(e.contains("--max-cost") && e.contains("0.06"), "{e}");
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
        let p = CostPreview::new(
            &PriceTable::builtin(),
            "x9.huge",
            &fleet(),
            Some(Duration::from_secs(60)),
            false,
        );
        assert_eq!(p.total(), None);
        p.check_cap(None).unwrap();
        assert!(p.check_cap(Some(100.0)).is_err());
        let endless = CostPreview::new(&PriceTable::builtin(), "t3.small", &fleet(), None, false);
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
