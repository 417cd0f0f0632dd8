//! The launch template's user data: fetch the worker binary from the bucket, check its SHA-256,
//! start `brood worker` for the region's queue with the controller's public key, and when it exits
//! (or anything before it fails: the download, the checksum, the binary itself) leave for good:
//! terminate this instance through its AutoScaling group with the desired capacity decremented, so
//! the group does not launch a replacement that would fail the same way. Leaving uses the AWS CLI
//! that Amazon Linux 2023 ships and the instance id and region from IMDSv2, not `brood`, which may
//! be the very thing that is missing or broken; if even that fails, the instance powers off
//! (instance-initiated shutdown terminates) and the group's scheduled stop ends the rest.
//!
//! It carries no secret: the instance's role gives it access, and the controller's key is public.
//! [`worker_args`] reads the worker's command line back, so a test can start the very worker an
//! instance would. The script reads `BROOD_BIN_DIR`, `BROOD_WORK_DIR` and `BROOD_IMDS` only so that
//! a test can run it off an instance; on an instance none is set and the defaults hold.

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
const WORKER_LINE: &str = "\"$bin/brood\" worker ";

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
# However this script ends (the worker exited, or the download, the checksum or the binary
# failed), `leave` terminates this instance through its AutoScaling group, one fewer desired, with
# the AMI's AWS CLI, and nothing runs after it. BROOD_* variables are for tests off an instance.
set -euo pipefail
bin="${{BROOD_BIN_DIR:-/usr/local/bin}}"
work="${{BROOD_WORK_DIR:-/var/lib/brood}}"
imds="${{BROOD_IMDS:-http://169.254.169.254}}"

metadata() {{
  curl -sSf --retry 3 --retry-connrefused --connect-timeout 2 --max-time 10 \
    -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/$1"
}}

leave() {{
  local code=$? token id region i
  trap - EXIT
  set +e
  [ "$code" = 0 ] || echo "brood: stopped with status $code; leaving the group" >&2
  token="$(curl -sSf --retry 3 --retry-connrefused --connect-timeout 2 --max-time 10 -X PUT \
    -H "X-aws-ec2-metadata-token-ttl-seconds: 300" "$imds/latest/api/token")"
  id="$(metadata instance-id)"
  region="$(metadata placement/region)"
  for i in 1 2 3 4 5; do
    if aws autoscaling terminate-instance-in-auto-scaling-group --instance-id "$id" \
      --should-decrement-desired-capacity --region "${{region:-{region}}}" >/dev/null; then
      exit "$code"
    fi
    sleep "$((i * 3))"
  done
  echo "brood: could not leave the AutoScaling group; powering off" >&2
  shutdown -h now
  exit 1
}}
trap leave EXIT

mkdir -p "$work/spool"
cd "$work"
aws s3 cp --only-show-errors --region {home} s3://{bucket}/{key} - | gunzip > "$bin/brood.download"
if ! echo "{sha}  $bin/brood.download" | sha256sum --check --quiet; then
  echo "brood: the worker binary's checksum does not match" >&2
  rm -f "$bin/brood.download"
  exit 1
fi
chmod 0755 "$bin/brood.download"
mv "$bin/brood.download" "$bin/brood"
{WORKER_LINE}{args}
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
        assert!(text.contains(&format!("{}  $bin/brood.download", "ab".repeat(32))));
        assert!(text.contains("sha256sum --check"));
        assert!(text.contains("bin=\"${BROOD_BIN_DIR:-/usr/local/bin}\""));
        assert!(text.contains("shutdown -h now"));
        let args = worker_args(&text).unwrap();
        assert_eq!(args, worker_command(&boot()));
        let at = |flag: &str| args[args.iter().position(|a| a == flag).unwrap() + 1].clone();
        assert_eq!(at("--queue"), "jobs-eu-west-1");
        assert_eq!(at("--region"), "eu-west-1");
        assert_eq!(at("--controller-key"), "cd".repeat(32));
    }

    #[test]
    fn every_end_leaves_the_group_with_the_cli_and_one_fewer_desired() {
        let text = render(&boot()).unwrap();
        assert!(text.contains("set -euo pipefail\n"));
        // The trap is set before the first step that can fail.
        let trap = text.find("trap leave EXIT").unwrap();
        assert!(trap < text.find("aws s3 cp").unwrap());
        assert!(trap < text.find("mkdir -p").unwrap());
        assert!(text.contains(
            "aws autoscaling terminate-instance-in-auto-scaling-group --instance-id \"$id\""
        ));
        assert!(text.contains("--should-decrement-desired-capacity"));
        assert!(text.contains("X-aws-ec2-metadata-token-ttl-seconds"));
        // Leaving never needs the worker binary, and the worker is the last step.
        assert!(!text.contains("leave-group"));
        let last = text.lines().rfind(|l| !l.trim().is_empty()).unwrap();
        assert!(last.starts_with(WORKER_LINE), "{last}");
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
