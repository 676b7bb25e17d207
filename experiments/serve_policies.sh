#!/usr/bin/env bash
# Serving under forced offloading, per policy: a fresh `orbitflow serve` on the bundled model
# with a small device pool and an emulated 1 GB/s link, then the same `orbitflow bench serve`
# load (same seed, same prompts and arrivals) against it. Prints one summary line per run.
#
#   experiments/serve_policies.sh [BUILD_DIR] [RATE] [SLO_MS] [POLICIES...]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-build}/bin/orbitflow"
RATE="${2:-20}"
SLO="${3:-15}"
shift $(( $# < 3 ? $# : 3 ))
POLICIES=("${@:-orbitflow flexgen-plus deepspeed}")
[ $# -eq 0 ] && POLICIES=(orbitflow flexgen-plus deepspeed)
WORK="$(mktemp -d)"
PORT=$(( 20000 + RANDOM % 10000 ))
"$BIN" profile --out "$WORK/profile.json" --link-gbps 1 --max-batch 16 --max-prefill 256 > "$WORK/profile.log" 2>&1
for p in "${POLICIES[@]}"; do
  "$BIN" serve --port "$PORT" --policy "$p" --device-kv-blocks 96 --link-gbps 1 --max-batch 16 \
    --tbt-slo-ms "$SLO" --profile "$WORK/profile.json" --step-log "$WORK/steps-$p.csv" > "$WORK/serve-$p.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" > /dev/null && break; sleep 0.1; done
  "$BIN" bench serve --url "http://127.0.0.1:$PORT" --dataset random --input-len 64 --output-len 256 \
    --num-prompts 200 --request-rate "$RATE" --tbt-slo-ms "$SLO" --seed 0 --json "$WORK/$p.json" \
    > "$WORK/bench-$p.log" 2>&1 || true
  state=$(curl -sf "http://127.0.0.1:$PORT/orbitflow/state" || echo '{}')
  kill -INT "$pid"; wait "$pid" || true
  python3 - "$WORK/$p.json" "$p" "$RATE" "$SLO" "$state" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
st = json.loads(sys.argv[5] or "{}")
g = lambda k: r.get(k, float("nan"))
print(f"{sys.argv[2]:14s} rate {sys.argv[3]}/s SLO {sys.argv[4]} ms: completed {g('completed')} failed {g('failed')} "
      f"duration {g('duration_s'):.1f} s, TBT att {100*g('tbt_attainment'):.2f}% (deposit {100*g('tbt_attainment_deposit'):.2f}%), "
      f"TPOT att {100*g('tpot_attainment'):.2f}%, TTFT mean {g('mean_ttft_ms'):.1f} ms, ITL p99 {g('p99_itl_ms'):.2f} ms, "
      f"h2d {st.get('counters', {}).get('h2d_bytes', 0)/1e6:.0f} MB, pauses {st.get('counters', {}).get('pauses', 'n/a')}, "
      f"preemptions {st.get('counters', {}).get('preemptions', 'n/a')}, cost refits {st.get('counters', {}).get('cost_refits', 'n/a')}")
PY
done
echo "(logs in $WORK)"
