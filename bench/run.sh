#!/usr/bin/env bash
# brood's benchmark: brood beside wrk (and any other installed anchor) against the same nginx target
# on loopback, in the same run, with ../shared/bench/anchors.sh doing the measuring.
#
#   bench/run.sh             throughput (50 users, no think time), 50 request names, templated, memory
#   bench/run.sh throughput  only the first;   bench/run.sh names   only the 50-names comparison
#   bench/run.sh templated   extraction, templating and a check on every request
#   bench/run.sh memory      only the memory probe
#   bench/run.sh coordinator snapshots/s the run coordinator merges on one core (1,000 workers)
#
# Prints requests/s, CPU-µs per request, peak RSS and the ratios to wrk measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ANCHORS=${ANCHORS:-$ROOT/../shared/bench/anchors.sh}
WHAT=${1:-all}
if [[ $WHAT == coordinator ]]; then
  # 1,000 simulated workers x 50 entries, one snapshot a second each, through the wire format,
  # merged by the coordinator on one core.
  exec taskset -c 0 cargo run --release -q -p brood-cluster --example coordinator_bench
fi
[[ -x $ANCHORS ]] || { echo "bench: anchor script not found at $ANCHORS (set ANCHORS)" >&2; exit 1; }

need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
  echo "bench: installing ${need[*]}"
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi

cargo build --release -q -p brood
export BROOD_BIN=$ROOT/target/release/brood
mkdir -p target/bench
SCEN=$ROOT/target/bench/names50.yaml
{
  echo "users:"
  echo "  - name: fifty"
  echo "    tasks:"
  for i in $(seq -w 1 50); do
    echo "      - request: { url: \"/?n=$i\", name: \"/name-$i\" }"
  done
} > "$SCEN"

# Templating and extraction on every request: the word the target answers goes into the next
# request's URL and a header, and a check reads the body.
TPL=$ROOT/target/bench/templated.yaml
cat > "$TPL" <<'YAML'
users:
  - name: templated
    vars: { word: Hello }
    tasks:
      - name: echo
        request:
          url: "/?w={{word}}&u={{user_id}}"
          name: /templated
          headers: { X-Word: "{{word}}" }
          check: { status: 200, body_contains: world }
          extract: { word: { regex: '^(\w+)', group: 1 } }
YAML

summary=$ROOT/target/bench/summary.txt
: > "$summary"
run_anchors() { # label mode args...
  local label=$1 mode=$2; shift 2
  local log=$ROOT/target/bench/$label.log
  echo "== $label"
  env "$@" "$ANCHORS" $mode | tee "$log"
  local results
  results=$(grep -o 'results: .*jsonl' "$log" | head -1 | cut -d' ' -f2)
  python3 - "$label" "$results" >> "$summary" <<'PY'
import json, statistics, sys
label, path = sys.argv[1], sys.argv[2]
runs = {}
for line in open(path):
    r = json.loads(line)
    if r.get("noisy") or "cpu_us_req" not in r:
        continue
    runs.setdefault(r["name"], []).append(r)
def med(name, key):
    vals = [r[key] for r in runs.get(name, []) if key in r]
    return statistics.median(vals) if vals else None
for name in sorted(runs):
    cpu, rps, rss = med(name, "cpu_us_req"), med(name, "rps"), med(name, "max_rss_mib")
    line = f"{label:<11} {name:<6} req/s {rps:>10,.0f}  CPU-us/req {cpu:>7.2f}  peak RSS {rss:>7.1f} MiB"
    wrk = med("wrk", "cpu_us_req")
    if wrk and name != "wrk":
        line += f"  x wrk CPU/req {cpu / wrk:.2f}  x wrk req/s {rps / med('wrk', 'rps'):.2f}"
    print(line)
PY
}

if [[ $WHAT == all || $WHAT == throughput ]]; then
  run_anchors throughput "" BENCH_TOOLS="${BENCH_TOOLS:-wrk}" \
    BROOD_ARGS='run {url} -u {conc} -r 10000 -t {dur}s --quiet'
fi
if [[ $WHAT == all || $WHAT == names ]]; then
  run_anchors names50 "" BENCH_TOOLS=wrk \
    BROOD_ARGS="run -f $SCEN -H {host} -u {conc} -r 10000 -t {dur}s --quiet"
fi
if [[ $WHAT == all || $WHAT == templated ]]; then
  run_anchors templated "" BENCH_TOOLS=wrk \
    BROOD_ARGS="run -f $TPL -H {host} -u {conc} -r 10000 -t {dur}s --quiet"
fi
if [[ $WHAT == all || $WHAT == memory ]]; then
  run_anchors memory memory BENCH_TOOLS="${BENCH_MEM_TOOLS:-oha}" \
    BROOD_MEM_ARGS='run {url} -u {users} -r 5000 --wait {wait_ms}ms -t {dur}s --quiet'
fi
echo
echo "== brood benchmark summary (ratios against wrk measured in the same anchors run)"
cat "$summary"
