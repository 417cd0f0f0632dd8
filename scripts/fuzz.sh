#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZ_SECONDS each, default 30): the scenario parsers
# and compiler, the template parser, and the wire-protocol decoder. Any crash fails the script.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECONDS_EACH=${FUZZ_SECONDS:-30}
export PATH="$PATH:$HOME/.cargo/bin"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
for target in scenario template protocol; do
  mkdir -p "corpus/$target"
  echo "== fuzz $target for ${SECONDS_EACH}s"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$SECONDS_EACH"
done
