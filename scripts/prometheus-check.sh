#!/usr/bin/env bash
# `brood serve`'s /metrics against the real thing: Debian's Prometheus (installed with apt when
# promtool or prometheus is missing; the .deb files are kept under target/prometheus-apt).
#
# Starts `brood serve --demo-target` with an access token on a free loopback port, starts a short
# low-rate two-region run through the JSON API, pipes /metrics taken during the run and after it
# to `promtool check metrics` (which must find nothing), and has a real Prometheus (its own config
# and storage in a temporary folder, 1 s scrapes with the token as a bearer credential) scrape it
# throughout. Once the run has ended and Prometheus has scraped its final figures, PromQL's
# request count must equal the run's own (its JSON summary and its live figures), the histogram's
# count must equal it too, and no counter may have reset. Fails loudly otherwise; never skips.
# Everything it started is stopped by PID when it exits.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  echo "== installing prometheus (apt)"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  cache="$target_dir/prometheus-apt"
  mkdir -p "$cache/partial"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends \
    -o Dir::Cache::archives="$cache" prometheus
fi
promtool --version | head -n 1

cargo build -q --locked -p brood --bin brood
brood="$target_dir/debug/brood"

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "prometheus-check: $*" >&2
  exit 1
}

# Reads one value out of JSON on stdin: `json 'd["a"][0]'`.
json() {
  python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
  local seconds="$1"
  shift
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.3
  done
}

token="prom-check-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
printf '%s' "$token" >"$work/token"

echo "== brood serve --demo-target on a free loopback port"
BROOD_TOKEN="$token" "$brood" serve --bind 127.0.0.1:0 --demo-target \
  --results "$work/results" >"$work/serve.out" 2>"$work/serve.err" &
pids+=($!)
listening() { grep -q '^results under' "$work/serve.out"; }
wait_for 30 listening || fail "brood serve did not start: $(cat "$work/serve.out" "$work/serve.err")"
base="$(sed -n 's|.*listening on \(http://127\.0\.0\.1:[0-9]*\)/.*|\1|p' "$work/serve.out" | head -n 1)"
demo="$(sed -n 's|^demo target on \(http://[^ ]*\) .*|\1|p' "$work/serve.out" | head -n 1)"
[ -n "$base" ] && [ -n "$demo" ] || fail "cannot read the addresses from: $(cat "$work/serve.out")"
brood_port="${base##*:}"
echo "brood serve on $base, demo target on $demo"

api() {
  curl -sS --fail-with-body -H "Authorization: Bearer $token" "$@"
}

echo "== a real Prometheus scraping $base/metrics every second"
prom_port="$(free_port)"
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: brood
    authorization:
      credentials_file: $work/token
    static_configs:
      - targets: ["127.0.0.1:$brood_port"]
EOF
promtool check config "$work/prometheus.yml" >/dev/null
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)
prom="http://127.0.0.1:$prom_port"
prom_ready() { curl -sf "$prom/-/ready" >/dev/null; }
wait_for 30 prom_ready || fail "prometheus did not become ready: $(tail -n 20 "$work/prometheus.log")"

# One PromQL instant query; its result vector as JSON.
query() {
  curl -sS --fail-with-body "$prom/api/v1/query" --data-urlencode "query=$1" | json 'json.dumps(d["data"]["result"])'
}

echo "== a run: two regions, 10 arrivals/s for 6 s against the demo target"
form="$(printf '{"url": "%s/shop/", "shape": "arrival", "arrival_rate": "10", "max_users": "5", "run_time": "6s", "regions": "local-a,local-b", "workers": "1"}' "$demo")"
id="$(api -X POST -H 'Content-Type: application/json' -d "$form" "$base/api/runs" | json 'd["id"]')"
echo "run $id"

live() { api "$base/api/runs/$id/live"; }
counting() { [ "$(live | json 'd["all"]["table"][-1]["requests"] if d["all"]["table"] else 0')" -gt 0 ]; }
wait_for 60 counting || fail "the run counted no request: $(live)"

echo "== promtool check metrics, during the run"
api "$base/metrics" >"$work/during.prom"
grep -q "^brood_requests_total{run=\"$id\"" "$work/during.prom" ||
  fail "no request counter for run $id in /metrics: $(cat "$work/during.prom")"
grep -q "^brood_users{run=\"$id\"" "$work/during.prom" || fail "no users gauge during the run"
promtool check metrics <"$work/during.prom" || fail "promtool check metrics failed during the run"

ended() { [ "$(live | json 'd["end"] is not None')" = "True" ]; }
wait_for 90 ended || fail "the run did not end: $(live)"
echo "run $id ended: $(live | json 'd["end"]')"

echo "== promtool check metrics, after the run"
api "$base/metrics" >"$work/after.prom"
promtool check metrics <"$work/after.prom" || fail "promtool check metrics failed after the run"
if grep -q '^brood_users' "$work/after.prom"; then
  fail "the users gauge outlived the run: $(grep '^brood_users' "$work/after.prom")"
fi

summary_written() { api -o "$work/summary.json" "$base/api/runs/$id/artifacts/summary.json" 2>/dev/null; }
wait_for 30 summary_written || fail "run $id has no JSON summary"
expected="$(json 'd["totals"]["requests"]' <"$work/summary.json")"
live_count="$(live | json 'd["all"]["table"][-1]["requests"]')"
[ "$expected" -gt 0 ] || fail "run $id sent no request"
[ "$live_count" = "$expected" ] ||
  fail "the live figures count $live_count requests, the JSON summary $expected"

# The final figures and the finished state are published together: once Prometheus has the
# finished state, it has the final counts.
scraped_end() {
  [ "$(query "brood_run_info{run=\"$id\",state=\"finished\"}" | json 'len(d)')" -gt 0 ]
}
wait_for 30 scraped_end || fail "prometheus never scraped run $id finished"

promql="sum(max_over_time(brood_requests_total{run=\"$id\"}[5m]))"
got="$(query "$promql" | json 'd[0]["value"][1] if d else "none"')"
echo "$promql = $got; the run's own count: $expected"
[ "$got" = "$expected" ] || fail "PromQL counts $got requests, the run $expected"

promql="sum(max_over_time(brood_response_time_seconds_count{run=\"$id\"}[5m]))"
got="$(query "$promql" | json 'd[0]["value"][1] if d else "none"')"
echo "$promql = $got"
[ "$got" = "$expected" ] || fail "the histogram counts $got requests, the run $expected"

promql="sum(resets(brood_requests_total{run=\"$id\"}[5m])) + sum(resets(brood_response_time_seconds_count{run=\"$id\"}[5m]))"
got="$(query "$promql" | json 'd[0]["value"][1] if d else "none"')"
echo "$promql = $got"
[ "$got" = "0" ] || fail "counters went backwards $got times"

series="$(query "count(brood_requests_total{run=\"$id\"})" | json 'd[0]["value"][1] if d else "none"')"
echo "== prometheus: $expected requests of run $id in $series series, as the run counted them"
