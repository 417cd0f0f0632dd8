//! The images workers boot and what a worker binary needs to start on them: `--ami` per region
//! (`region=ami-...`), the glibc of Amazon Linux 2023 (or of a custom image, `--ami-glibc`), and
//! the check that refuses, before anything is created, a binary the image or the instance type
//! cannot run.

use std::collections::BTreeMap;

use crate::elf::{ElfInfo, GlibcVersion, Linking, BUILD_DOC};
use crate::pricing::Arch;
use crate::FleetError;

/// The glibc of Amazon Linux 2023, the default image: 2.34 in every AL2023 release so far
/// (the package list of the AL2023 release notes, docs.aws.amazon.com/linux/al2023/release-notes/,
/// names glibc-2.34; AL2023 keeps its glibc version for the life of the major release).
pub const AL2023_GLIBC: GlibcVersion = GlibcVersion(2, 34, 0);

/// The glibc loaders Amazon Linux 2023 has, per architecture.
fn glibc_loader(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "/lib64/ld-linux-x86-64.so.2",
        Arch::Arm64 => "/lib/ld-linux-aarch64.so.1",
    }
}

/// `--ami`, checked: an image id per region; regions not in it boot Amazon Linux 2023.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Amis {
    by_region: BTreeMap<String, String>,
}

impl Amis {
    /// `--ami us-east-1=ami-0abc` (repeatable, or comma-separated); a bare `ami-0abc` only when
    /// the run has a single region, as image ids differ from region to region.
    pub fn parse(values: &[String], regions: &[String]) -> Result<Amis, FleetError> {
        let refuse = |message: String| FleetError::Invalid {
            field: "--ami".into(),
            message,
        };
        let check_id = |id: &str| {
            let hex = id.strip_prefix("ami-").unwrap_or_default();
            if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(refuse(format!(
                    "{id:?} is not an image id (ami- and hexadecimal digits)"
                )));
            }
            Ok(id.to_string())
        };
        let mut by_region = BTreeMap::new();
        let items: Vec<&str> = values
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        for item in &items {
            let (region, id) = match item.split_once('=') {
                Some((region, id)) => (region.trim().to_string(), id.trim()),
                None => match regions {
                    [only] if items.len() == 1 => (only.clone(), *item),
                    _ => {
                        return Err(refuse(format!(
                            "{item} without a region, but the run has regions {}: an image id \
                             belongs to one region, so give --ami REGION=AMI for each region \
                             that should not boot Amazon Linux 2023",
                            regions.join(",")
                        )))
                    }
                },
            };
            if !regions.contains(&region) {
                return Err(refuse(format!(
                    "{region} is not one of the run's regions ({})",
                    regions.join(",")
                )));
            }
            if by_region.insert(region.clone(), check_id(id)?).is_some() {
                return Err(refuse(format!("{region} is given twice")));
            }
        }
        Ok(Amis { by_region })
    }

    /// The custom image of a region; `None` means the current Amazon Linux 2023.
    pub fn get(&self, region: &str) -> Option<&str> {
        self.by_region.get(region).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.by_region.is_empty()
    }
}

/// `--ami-glibc 2.31`: the glibc of the custom images, which brood cannot know.
pub fn parse_glibc(text: &str) -> Result<GlibcVersion, FleetError> {
    GlibcVersion::parse(text.trim()).ok_or_else(|| FleetError::Invalid {
        field: "--ami-glibc".into(),
        message: format!("{text:?} is not a glibc version such as 2.31"),
    })
}

/// Where one region's workers start: the instance type's architecture and the image's glibc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host<'a> {
    pub region: &'a str,
    pub instance_type: &'a str,
    /// The architectures the instance type runs (from DescribeInstanceTypes).
    pub archs: &'a [Arch],
    /// The custom image, or `None` for Amazon Linux 2023.
    pub ami: Option<&'a str>,
    /// A custom image's glibc (`--ami-glibc`); ignored for Amazon Linux 2023.
    pub ami_glibc: Option<GlibcVersion>,
}

/// What the check decided beyond "runs": a warning to print, when the image's glibc is unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Runs,
    Unchecked { warning: String },
}

/// Refuses a binary that would not start on `host`; every error says how to get one that does.
pub fn check_binary(binary: &ElfInfo, host: &Host) -> Result<Verdict, FleetError> {
    let refuse = |message: String| FleetError::Invalid {
        field: "--worker-binary".into(),
        message,
    };
    let how = format!(
        "build a portable worker with scripts/build-worker.sh (glibc 2.17 floor, or static \
         with musl) and give it with --worker-binary; see {BUILD_DOC}"
    );
    let region = host.region;
    if !host.archs.contains(&binary.arch) {
        let types: Vec<&str> = host.archs.iter().map(|a| a.ami_name()).collect();
        return Err(refuse(format!(
            "an {} build, but instance type {} in {region} runs {}: build for its architecture \
             (scripts/build-worker.sh --arch {}) or choose another --instance-type",
            binary.arch.ami_name(),
            host.instance_type,
            types.join("/"),
            host.archs.first().map_or("x86_64", |a| a.rust_name()),
        )));
    }
    let Linking::Dynamic { interpreter } = &binary.linking else {
        return Ok(Verdict::Runs);
    };
    let image = match host.ami {
        None => "Amazon Linux 2023".to_string(),
        Some(id) => format!("{id} (--ami)"),
    };
    let glibc = match (host.ami, host.ami_glibc) {
        (None, _) => AL2023_GLIBC,
        (Some(_), Some(v)) => v,
        (Some(id), None) => {
            let needs = binary
                .glibc
                .map_or("no glibc version".into(), |v| format!("GLIBC_{v}"));
            return Ok(Verdict::Unchecked {
                warning: format!(
                    "the glibc of {id} in {region} is unknown, so the worker binary (it needs \
                     {needs}) is not checked against it; give --ami-glibc VERSION to check"
                ),
            });
        }
    };
    if host.ami.is_none() && interpreter != glibc_loader(binary.arch) {
        return Err(refuse(format!(
            "a dynamic binary started by {interpreter}, which {image} does not have (its loader \
             is {}): {how}",
            glibc_loader(binary.arch)
        )));
    }
    match binary.glibc {
        Some(needs) if needs > glibc => Err(refuse(format!(
            "needs GLIBC_{needs}, but {image} in {region} has glibc {glibc}, so it would not \
             start there (it was built on a newer Linux): {how}"
        ))),
        _ => Ok(Verdict::Runs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::{craft::executable, inspect_bytes};

    const X86: &[Arch] = &[Arch::X86_64];
    const ARM: &[Arch] = &[Arch::Arm64];

    fn host(archs: &'static [Arch]) -> Host<'static> {
        Host {
            region: "eu-west-1",
            instance_type: "t3.small",
            archs,
            ami: None,
            ami_glibc: None,
        }
    }

    fn binary(machine: u16, versions: &[&str]) -> ElfInfo {
        let loader = if machine == 0xb7 {
            "/lib/ld-linux-aarch64.so.1"
        } else {
            "/lib64/ld-linux-x86-64.so.2"
        };
        inspect_bytes(&executable(machine, Some(loader), versions, 0)).unwrap()
    }

    #[test]
    fn a_binary_with_an_old_enough_glibc_runs_on_amazon_linux() {
        let b = binary(0x3e, &["GLIBC_2.2.5", "GLIBC_2.17"]);
        assert_eq!(check_binary(&b, &host(X86)).unwrap(), Verdict::Runs);
        let b = binary(0x3e, &["GLIBC_2.34"]);
        assert_eq!(check_binary(&b, &host(X86)).unwrap(), Verdict::Runs);
    }

    #[test]
    fn a_binary_built_on_a_newer_linux_is_refused_with_the_way_out() {
        let b = binary(0x3e, &["GLIBC_2.17", "GLIBC_2.39"]);
        let e = check_binary(&b, &host(X86)).unwrap_err().to_string();
        assert!(e.starts_with("--worker-binary: needs GLIBC_2.39"), "{e}");
        assert!(
            e.contains("Amazon Linux 2023 in eu-west-1 has glibc 2.34"),
            "{e}"
        );
        assert!(e.contains("scripts/build-worker.sh"), "{e}");
    }

    #[test]
    fn the_architecture_must_match_the_instance_type() {
        let arm = binary(0xb7, &["GLIBC_2.17"]);
        let e = check_binary(&arm, &host(X86)).unwrap_err().to_string();
        assert!(e.starts_with("--worker-binary: an arm64 build"), "{e}");
        assert!(e.contains("t3.small in eu-west-1 runs x86_64"), "{e}");
        assert!(
            e.contains("--arch x86_64") && e.contains("--instance-type"),
            "{e}"
        );
        assert_eq!(check_binary(&arm, &host(ARM)).unwrap(), Verdict::Runs);
    }

    #[test]
    fn static_binaries_run_and_musl_loaders_are_refused() {
        let static_ = inspect_bytes(&executable(0x3e, None, &[], 0)).unwrap();
        assert_eq!(check_binary(&static_, &host(X86)).unwrap(), Verdict::Runs);
        let musl =
            inspect_bytes(&executable(0x3e, Some("/lib/ld-musl-x86_64.so.1"), &[], 0)).unwrap();
        let e = check_binary(&musl, &host(X86)).unwrap_err().to_string();
        assert!(e.contains("ld-musl") && e.contains("does not have"), "{e}");
    }

    #[test]
    fn a_custom_image_is_checked_with_its_glibc_or_warned_about() {
        let b = binary(0x3e, &["GLIBC_2.35"]);
        let custom = Host {
            ami: Some("ami-0abc"),
            ..host(X86)
        };
        let Verdict::Unchecked { warning } = check_binary(&b, &custom).unwrap() else {
            panic!("an unknown glibc cannot be checked");
        };
        assert!(warning.contains("ami-0abc in eu-west-1") && warning.contains("GLIBC_2.35"));
        assert!(warning.contains("--ami-glibc"), "{warning}");
        let newer = Host {
            ami_glibc: Some(GlibcVersion(2, 36, 0)),
            ..custom.clone()
        };
        assert_eq!(check_binary(&b, &newer).unwrap(), Verdict::Runs);
        let older = Host {
            ami_glibc: Some(GlibcVersion(2, 31, 0)),
            ..custom
        };
        let e = check_binary(&b, &older).unwrap_err().to_string();
        assert!(
            e.contains("ami-0abc (--ami) in eu-west-1 has glibc 2.31"),
            "{e}"
        );
    }

    #[test]
    fn images_are_given_per_region() {
        let regions: Vec<String> = vec!["us-east-1".into(), "eu-west-1".into()];
        let v = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let amis = Amis::parse(&v(&["us-east-1=ami-0a1", "eu-west-1=ami-0b2"]), &regions).unwrap();
        assert_eq!(amis.get("us-east-1"), Some("ami-0a1"));
        assert_eq!(amis.get("eu-west-1"), Some("ami-0b2"));
        let one = Amis::parse(&v(&["eu-west-1=ami-0b2"]), &regions).unwrap();
        assert_eq!(one.get("us-east-1"), None);
        let e = Amis::parse(&v(&["ami-0a1"]), &regions)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--ami: ami-0a1 without a region"), "{e}");
        assert!(e.contains("--ami REGION=AMI"), "{e}");
        let single = Amis::parse(&v(&["ami-0a1"]), &regions[..1]).unwrap();
        assert_eq!(single.get("us-east-1"), Some("ami-0a1"));
        for bad in [
            &["ap-south-1=ami-0a1"][..],
            &["us-east-1=ami-0a1", "us-east-1=ami-0a2"],
            &["us-east-1=image"],
            &["us-east-1=ami-"],
        ] {
            let e = Amis::parse(&v(bad), &regions).unwrap_err().to_string();
            assert!(e.starts_with("--ami: "), "{bad:?}: {e}");
        }
        assert!(Amis::parse(&[], &regions).unwrap().is_empty());
        assert_eq!(parse_glibc("2.31").unwrap(), GlibcVersion(2, 31, 0));
        assert!(parse_glibc("new")
            .unwrap_err()
            .to_string()
            .contains("--ami-glibc"));
    }
}
