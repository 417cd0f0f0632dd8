#!/usr/bin/env bash
# Lints the IAM policies brood generates with parliament (https://github.com/duo-labs/parliament):
# the policy for whoever runs brood (`brood aws policy`) and the workers' role policy
# (`brood aws policy --workers`), for named regions and for any region, in two partitions.
# Fails on any finding above LOW (and if parliament cannot be installed): never skips.
#
# parliament is installed once into a virtual environment under target/iam-venv (override with
# BROOD_IAM_VENV). The policies are written to target/iam/ for review.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${BROOD_IAM_VENV:-$PWD/target/iam-venv}"
out="$PWD/target/iam"
if [ ! -x "$venv/bin/parliament" ]; then
  echo "== installing parliament==1.6.4 into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'parliament==1.6.4'
fi

cargo build -q --locked -p brood --bin brood
brood="${CARGO_TARGET_DIR:-target}/debug/brood"

rm -rf "$out"
mkdir -p "$out"
account=123456789012
"$brood" aws policy --account "$account" --deployment ci --regions eu-west-1,us-east-1 \
  >"$out/operator.json"
"$brood" aws policy --account "$account" >"$out/operator-any-region.json"
"$brood" aws policy --account "$account" --partition aws-us-gov --deployment gov \
  --regions us-gov-west-1 >"$out/operator-us-gov.json"
"$brood" aws policy --workers --account "$account" --deployment ci \
  --regions eu-west-1,us-east-1 >"$out/worker.json"
"$brood" aws policy --workers --account "$account" --partition aws-us-gov --deployment gov \
  --regions us-gov-west-1 >"$out/worker-us-gov.json"

# parliament reads stdin when it is not a terminal, so stdin is closed for it.
echo "== parliament: every finding (INFO and up)"
all="$("$venv/bin/parliament" --directory "$out" --include_policy_extension .json \
  --minimum_severity INFO </dev/null || true)"
echo "${all:-(none)}"
serious="$("$venv/bin/parliament" --directory "$out" --include_policy_extension .json \
  --minimum_severity MEDIUM </dev/null || true)"
if [ -n "$serious" ]; then
  echo "parliament found problems above LOW in the generated policies (in $out):" >&2
  echo "$serious" >&2
  exit 1
fi
echo "== parliament: no finding above LOW in $(ls "$out" | wc -l) policies"
