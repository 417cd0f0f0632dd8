#!/usr/bin/env bash
# Every check CI runs, in the order a developer wants to see failures: formatting, lints, tests.
# Works on a fresh machine with the Rust toolchain, Node with npm, and apt (the browser tests
# install Debian's chromium and playwright-core themselves).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked

echo "== browser end-to-end tests"
scripts/e2e.sh
