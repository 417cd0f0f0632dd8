#!/usr/bin/env bash
# Checks of the web UI's ES modules (crates/brood-web/assets/js), with no build step and no
# browser: their JSDoc types with tsc --checkJs, and node --test on the pure ones (formatters,
# chart scaling, live updates). typescript comes from npm, pinned by
# crates/brood-web/web-tests/package-lock.json, installed with npm ci into
# <target>/web-check/node_modules, and reinstalled only when the lock changes.
set -euo pipefail
cd "$(dirname "$0")/.."

tests=crates/brood-web/web-tests
cache="${CARGO_TARGET_DIR:-target}/web-check"
mkdir -p "$cache"
if ! cmp -s "$tests/package-lock.json" "$cache/package-lock.json" ||
  [ ! -x "$cache/node_modules/.bin/tsc" ]; then
  echo "== npm ci (web-check, into $cache)"
  cp "$tests/package.json" "$tests/package-lock.json" "$cache/"
  (cd "$cache" && npm ci --no-audit --no-fund)
fi

echo "== tsc --checkJs ($(node "$cache/node_modules/typescript/bin/tsc" --version))"
node "$cache/node_modules/typescript/bin/tsc" --project "$tests/tsconfig.json"

echo "== node --test (web)"
(cd "$tests" && node --test --test-reporter=spec)
