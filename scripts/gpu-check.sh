#!/usr/bin/env bash
# The one prepared GPU check: every suite's quick profile on a CUDA machine, in one call.
# Writes JSON, parquet, plots and logs into one folder: $OUT when set (the device tool), else
# results/gpu-check-<date>. Runs straight from the checkout (PYTHONPATH=src), no install needed.
# Budget: under 5 minutes on one H100.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-results/gpu-check-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
gb() { python -m gpubench "$@"; }
status=0
step() {  # step NAME COMMAND...: run, log, keep going, remember a failure
  local name=$1; shift
  echo "== $name: $*"
  local start=$SECONDS
  "$@" 2>&1 | tee "$out/$name.log"
  local rc=${PIPESTATUS[0]}
  echo "== $name: exit $rc after $((SECONDS - start)) s"
  [ "$rc" -eq 0 ] || status=1
}

nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || true
step env gb env --json
step copy gb run --profile quick --suite copy --results "$out/store"
step conv gb run --profile quick --suite conv --results "$out/store" -- -k cuda  # GPU cases only

echo "== total $SECONDS s, status $status; files in $out"
exit $status
