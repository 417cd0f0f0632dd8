//! The launch template's user data: fetch the worker binary from the bucket, check its SHA-256,
//! start `brood worker` for the region's queue with the controller's public key, and when it exits
//! leave the AutoScaling group and power off (instance-initiated shutdown terminates).
//!
//! It carries no secret: the instance's role gives it access, and the controller's key is public.
//! [`worker_args`] reads the worker's command line back, so a test can start the very worker an
//! instance would.

use crate::FleetError;

/// Everything the user data needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerBoot {
    pub deployment: String,
    pub home_region: String,
    pub region: String,
    pub bucket: String,
    /// The key of the worker binary in the bucket.
    pub binary_key: String,
    /// Hex SHA-256 of the binary.
    pub sha256: String,
    /// The transport-level jobs queue name, `jobs-<region>`.
    pub queue: String,
    pub controller_queue: String,
    /// Hex Ed25519 public key.
    pub controller_key: String,
    /// `--idle-exit` of the worker, e.g. `5m`.
    pub idle_exit: String,
}

/// Marks the line that starts the worker, for [`worker_args`].
const WORKER_LINE: &str = "/usr/local/bin/brood worker ";
const WORK_DIR: &str = "/var/lib/brood";

/// The user data script (plain text; base64 is added when it goes into a launch template).
pub fn render(boot: &WorkerBoot) -> Result<String, FleetError> {
    for (field, value) in [
        ("deployment", &boot.deployment),
        ("home region", &boot.home_region),
        ("region", &boot.region),
        ("bucket", &boot.bucket),
        ("binary key", &boot.binary_key),
        ("sha256", &boot.sha256),
        ("queue", &boot.queue),
        ("controller queue", &boot.controller_queue),
        ("controller key", &boot.controller_key),
        ("idle exit", &boot.idle_exit),
    ] {
        if value.is_empty() || !value.chars().all(safe_char) {
            return Err(FleetError::Invalid {
                field: field.into(),
                message: format!("{value:?} is empty or has characters unsafe in a shell"),
            });
        }
    }
    let args = worker_command(boot).join(" ");
    Ok(format!(
        r#"#!/bin/bash
# brood worker for deployment {deployment}, region {region}. No secret here: the instance role
# grants access to the bucket and queues, and the controller's key is its public key.
set -uo pipefail
mkdir -p {WORK_DIR}/spool && cd {WORK_DIR}
leave() {{ /usr/local/bin/brood aws leave-group --region {region} || true; shutdown -h now; }}
aws s3 cp --only-show-errors --region {home} s3://{bucket}/{key} /usr/local/bin/brood.download || leave
echo "{sha}  /usr/local/bin/brood.download" | sha256sum --check --quiet || {{ echo "brood: the worker binary's checksum does not match" >&2; leave; }}
chmod 0755 /usr/local/bin/brood.download && mv /usr/local/bin/brood.download /usr/local/bin/brood
{WORKER_LINE}{args}
leave
"#,
        deployment = boot.deployment,
        region = boot.region,
        home = boot.home_region,
        bucket = boot.bucket,
        key = boot.binary_key,
        sha = boot.sha256,
    ))
}

/// The worker's arguments after `brood worker`, as the user data gives them.
fn worker_command(boot: &WorkerBoot) -> Vec<String> {
    [
        ("--backend", "aws"),
        ("--deployment", &boot.deployment),
        ("--home-region", &boot.home_region),
        ("--region", &boot.region),
        ("--bucket", &boot.bucket),
        ("--queue", &boot.queue),
        ("--controller-queue", &boot.controller_queue),
        ("--controller-key", &boot.controller_key),
        ("--idle-exit", &boot.idle_exit),
        ("--spool", "spool"),
    ]
    .iter()
    .flat_map(|(k, v)| [k.to_string(), v.to_string()])
    .collect()
}

/// Letters, digits and `-_./:=+` need no quoting in a shell.
fn safe_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_./:=+".contains(c)
}

/// The arguments after `brood worker` in a user data script (relative paths are relative to the
/// worker's folder, `/var/lib/brood` on an instance).
pub fn worker_args(user_data: &str) -> Result<Vec<String>, FleetError> {
    let line = user_data
        .lines()
        .find_map(|l| l.strip_prefix(WORKER_LINE))
        .ok_or_else(|| FleetError::Invalid {
            field: "user data".into(),
            message: "no line starts `brood worker`".into(),
        })?;
    Ok(line.split_whitespace().map(String::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boot() -> WorkerBoot {
        WorkerBoot {
            deployment: "default".into(),
            home_region: "us-east-1".into(),
            region: "eu-west-1".into(),
            bucket: "brood-default-123456789012".into(),
            binary_key: "bin/0.1.0-abcd/brood".into(),
            sha256: "ab".repeat(32),
            queue: "jobs-eu-west-1".into(),
            controller_queue: "controller-r1".into(),
            controller_key: "cd".repeat(32),
            idle_exit: "5m".into(),
        }
    }

    #[test]
    fn user_data_checks_the_binary_and_starts_the_worker() {
        let text = render(&boot()).unwrap();
        assert!(text.starts_with("#!/bin/bash\n"));
        assert!(text.contains("s3://brood-default-123456789012/bin/0.1.0-abcd/brood"));
        assert!(text.contains(&format!(
            "{}  /usr/local/bin/brood.download",
            "ab".repeat(32)
        )));
        assert!(text.contains("sha256sum --check"));
        assert!(text.contains("shutdown -h now"));
        let args = worker_args(&text).unwrap();
        assert_eq!(args, worker_command(&boot()));
        let at = |flag: &str| args[args.iter().position(|a| a == flag).unwrap() + 1].clone();
        assert_eq!(at("--queue"), "jobs-eu-west-1");
        assert_eq!(at("--region"), "eu-west-1");
        assert_eq!(at("--controller-key"), "cd".repeat(32));
    }

    #[test]
    fn user_data_has_no_secret() {
        let text = render(&boot()).unwrap().to_lowercase();
        for word in ["secret", "aws_access_key", "session_token", "private"] {
            let hits: Vec<&str> = text.lines().filter(|l| l.contains(word)).collect();
            assert!(
                hits.iter().all(|l| l.starts_with('#')),
                "{word} outside a comment: {hits:?}"
            );
        }
    }

    #[test]
    fn unsafe_values_are_refused_with_their_field() {
        let mut b = boot();
        b.controller_queue = "q; rm -rf /".into();
        let e = render(&b).unwrap_err().to_string();
        assert!(e.contains("controller queue"), "{e}");
        b = boot();
        b.bucket = String::new();
        assert!(render(&b).unwrap_err().to_string().contains("bucket"));
    }

    #[test]
    fn reading_args_from_text_without_a_worker_fails_clearly() {
        let e = worker_args("#!/bin/bash\necho hi\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("brood worker"), "{e}");
    }
}
