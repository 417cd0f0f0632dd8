#!/usr/bin/env bash
# Browser end-to-end tests of `brood serve`: Debian's headless Chromium (installed with apt when
# missing; never a downloaded browser) driven by playwright-core from npm, run with node's test
# runner. Screenshots of the live view and the HTML report go to <target>/e2e-artifacts/.
# `scripts/e2e.sh --docs` also copies the live view's screenshot to docs/web-ui-live.png.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium (apt)"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y chromium
fi

echo "== npm ci (e2e)"
(cd e2e && npm ci --no-audit --no-fund)

echo "== cargo build (brood)"
cargo build --workspace --all-targets --locked -q
target_dir="$(cargo metadata --format-version 1 --no-deps |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
export BROOD_BIN="$target_dir/debug/brood"
export E2E_ARTIFACTS="$target_dir/e2e-artifacts"
export CHROMIUM=/usr/bin/chromium

echo "== browser end-to-end tests (screenshots in $E2E_ARTIFACTS)"
(cd e2e && node --test)

if [ "${1:-}" = "--docs" ]; then
  cp "$E2E_ARTIFACTS/live.png" docs/web-ui-live.png
  echo "docs/web-ui-live.png updated"
fi
