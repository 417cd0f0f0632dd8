#!/usr/bin/env bash
# Every check CI runs, in the order a developer wants to see failures: formatting, lints, tests.
# Works on a fresh machine with the Rust toolchain, Python 3 (venv, pip), Node with npm, and apt:
# the AWS tests install moto into a venv, the IAM check parliament into another, the Prometheus
# check Debian's prometheus, the browser tests Debian's chromium and playwright-core, the web UI's
# checks typescript.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== structure: no file circles"
python3 scripts/check-structure.py

echo "== web: tsc --checkJs and node --test"
scripts/web-check.sh

# The AWS backend's tests run against an AWS-compatible server on loopback (moto), never real AWS:
# this starts it, exports AWS_ENDPOINT_URL and fake credentials, and stops it when the script exits.
echo "== moto server"
# shellcheck source=scripts/moto.sh
source scripts/moto.sh

echo "== cargo test"
# The SQS scale test runs on its own afterwards, uncaptured, so that its figures show.
cargo test --workspace --locked -- --skip a_thousand_workers_snapshots

echo "== SQS scale: 1,000 workers' snapshots through the AWS-compatible server"
cargo test --workspace --test scale --locked -- --nocapture

# The generated IAM policies, linted (parliament, installed into a venv under target/). The
# workers' policy as IAM evaluates it is a cargo test above (brood-aws-fleet's iam_enforced,
# on a moto server of its own that enforces IAM).
echo "== IAM policies: parliament"
scripts/iam-check.sh

# /metrics as Prometheus reads it: promtool check metrics, and a real Prometheus (Debian's,
# installed with apt) scraping `brood serve` during a run, its PromQL count against the run's.
echo "== Prometheus: promtool and a real scrape of brood serve"
scripts/prometheus-check.sh

echo "== AWS control plane: setup, provisioning and cleanup times for 3 regions"
# Built with the whole workspace's features, so the SDK crates are not compiled a second time.
cargo build --workspace --all-targets --locked -q
"${CARGO_TARGET_DIR:-target}/debug/examples/timings"

echo "== browser end-to-end tests"
scripts/e2e.sh
