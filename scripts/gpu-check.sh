#!/usr/bin/env bash
# The one prepared GPU check: every suite's quick profile on a CUDA machine, in one call.
# Writes JSON, parquet, plots and logs into results/gpu-check-<date>/ in the checkout, and, when
# $OUT is set (the device tool brings back only a few flat files), packs that folder into
# $OUT/gpu-check.tar.gz beside a copy of the summary. Runs straight from the checkout
# (PYTHONPATH=src), no install needed. Budget: under 5 minutes on one H100.
set -uo pipefail
cd "$(dirname "$0")/.."
name=gpu-check-$(date -u +%Y%m%dT%H%M%SZ)
out=results/$name
mkdir -p "$out"
exec > >(tee "$out/summary.log") 2>&1
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
py=${PYTHON:-python3}  # the device image has python3, not always python
gb() { "$py" -m gpubench "$@"; }
status=0
step() {  # step NAME COMMAND...: run, log, keep going, remember a failure
  local label=$1; shift
  echo "== $label: $*"
  local start=$SECONDS
  "$@" 2>&1 | tee "$out/$label.log"
  local rc=${PIPESTATUS[0]}
  echo "== $label: exit $rc after $((SECONDS - start)) s"
  [ "$rc" -eq 0 ] || status=1
}

doctor_report() {  # exit 1 means error findings, which are the output: only a crash (2+) fails the check
  local results=()
  [ -d "$out/store/runs" ] && results=(--results "$out/store")
  gb doctor --json ${results[@]+"${results[@]}"} >"$out/doctor.json"
  local rc=$?
  gb doctor --readings "$out/doctor.json" ${results[@]+"${results[@]}"}  # the same findings, one per line
  [ "$rc" -le 1 ]
}

nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || true
step env gb env --json
step copy gb run --profile quick --suite copy --results "$out/store"
step conv gb run --profile quick --suite conv --results "$out/store" -- -k cuda  # GPU cases only
# Collectives: at least 2 ranks (one rank measures nothing and is skipped). NCCL at the GPU count where
# there are 2 GPUs or more (on one GPU it refuses two ranks: skipped with that reason), Gloo on CPU and
# CUDA tensors. AllReduce's quick profile, every other collective at three sizes, then torchrun.
ranks=$("$py" -c 'import torch; print(max(torch.cuda.device_count(), 2))')
step allreduce gb run --profile quick --suite allreduce --results "$out/store" -- "--gpubench-world-size=$ranks"
step collectives gb allreduce --collectives all_gather,reduce_scatter,broadcast,reduce,all_to_all \
  --world-size "$ranks" --sizes 8,1M,64M --samples 5 --results "$out/store"
step allreduce-torchrun "$py" -m torch.distributed.run --standalone --nproc-per-node "$ranks" \
  -m gpubench.allreduce --sizes 8,1M,64M --results "$out/store"
step doctor doctor_report

echo "== total $SECONDS s, status $status; files in $out"
if [ -n "${OUT:-}" ]; then
  cp "$out/summary.log" "$OUT/" && tar czf "$OUT/gpu-check.tar.gz" --warning=no-file-changed -C results "$name"
fi
exit $status
