#!/usr/bin/env bash
# Every check CI runs, in the order a developer wants to see failures: formatting, lints, tests.
# Works on a fresh machine with only the Rust toolchain and Python 3 (with venv and pip) installed.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

# The AWS backend's tests run against an AWS-compatible server on loopback (moto), never real AWS:
# this starts it, exports AWS_ENDPOINT_URL and fake credentials, and stops it when the script exits.
echo "== moto server"
# shellcheck source=scripts/moto.sh
source scripts/moto.sh

echo "== cargo test"
# The SQS scale test runs on its own afterwards, uncaptured, so that its figures show.
cargo test --workspace --locked -- --skip a_thousand_workers_snapshots

echo "== SQS scale: 1,000 workers' snapshots through the AWS-compatible server"
cargo test -p brood-aws --test scale --locked -- --nocapture

echo "== AWS control plane: setup, provisioning and cleanup times for 3 regions"
cargo run -q -p brood-aws-fleet --example timings --locked
