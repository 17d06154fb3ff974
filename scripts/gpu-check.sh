#!/usr/bin/env bash
# The one prepared GPU check: gpubench verify first, the GPU-only unit tests, then every suite
# (trimmed to fit), the doctor, and a summary of what a first GPU run must show.
#
# Time: every step runs under `timeout`; the whole check stops at GPU_CHECK_TOTAL_S (default
# 360 s, so a rerun still fits a 15-minute loan that also pays for the machine's start); the
# target is 4 minutes on one H200. A step that would start with under 5 s left is not run.
# Results: results/gpu-check-<date>/ in the checkout (logs, store, verify table, summary.log;
# GPU_CHECK_RESULTS names another folder than results/);
# when $OUT is set that folder is packed into $OUT/gpu-check.tar.gz (with summary.log beside it) after every step, so a killed step (or a
# killed check) still returns the earlier ones, and summary.log is written line by line (never
# through a buffering pipe), so it is complete whenever it is copied.
# Runs straight from the checkout (PYTHONPATH=src, python3): the device image has no registry.
set -uo pipefail
cd "$(dirname "$0")/.."
name=gpu-check-$(date -u +%Y%m%dT%H%M%SZ)
out=${GPU_CHECK_RESULTS:-results}/$name
store=$out/store
summary=$out/summary.log
mkdir -p "$out"
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
py=${PYTHON:-python3}  # the device image has python3, not always python
gb=("$py" -m gpubench)
total=${GPU_CHECK_TOTAL_S:-360}
reserve=${GPU_CHECK_RESERVE_S:-20}  # kept for the summary and the last copy into $OUT
deadline=$((SECONDS + total))
status=0

say() { echo "$*" | tee -a "$summary"; }

publish() {  # everything so far into $OUT: one archive (the device tool returns few, shallow files) and the summary
  [ -n "${OUT:-}" ] || return 0
  tar -czf "$OUT/partial.tar.gz" -C "$(dirname "$out")" "$name" && mv "$OUT/partial.tar.gz" "$OUT/gpu-check.tar.gz"
  cp "$summary" "$OUT/summary.log"
}

step() {  # step NAME LIMIT_S TAIL_LINES COMMAND...: stdout to NAME.log (its tail to the summary), stderr to NAME.err
  local label=$1 limit=$2 lines=$3
  shift 3
  local left=$((deadline - reserve - SECONDS))
  if [ "$left" -le 5 ]; then
    say "== $label: NOT RUN, the ${total} s budget is spent"
    status=1
    publish
    return
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  say "== $label (limit ${limit} s): $*"
  local start=$SECONDS
  timeout -k 5 "$limit" "$@" >"$out/$label.log" 2>"$out/$label.err"
  local rc=$?
  tail -n "$lines" "$out/$label.log" | tee -a "$summary"
  case $rc in
    0) say "== $label: ok after $((SECONDS - start)) s" ;;
    124 | 137)
      tail -n 5 "$out/$label.err" | tee -a "$summary"  # where it was (verify's progress goes there)
      say "== $label: TIMED OUT after $((SECONDS - start)) s (limit $limit s)"
      status=1
      ;;
    *)
      tail -n 5 "$out/$label.err" | tee -a "$summary"
      say "== $label: exit $rc after $((SECONDS - start)) s"
      status=1
      ;;
  esac
  publish
}

doctor_report() {  # exit 1 means error findings, which are the output: only a crash (2+) fails the check
  local results=()
  [ -d "$store/runs" ] && results=(--results "$store")
  "$py" -m gpubench doctor --json ${results[@]+"${results[@]}"} >"$out/doctor.json"
  local rc=$?
  "$py" -m gpubench doctor --readings "$out/doctor.json" ${results[@]+"${results[@]}"}  # the same findings, one per line
  [ "$rc" -le 1 ]
}
export -f doctor_report
export out store py

say "== gpu-check $name: budget ${total} s, started $(date -u +%FT%TZ)"
timeout 15 nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || say "nvidia-smi: not available here"
step env 30 40 "${gb[@]}" env
# 1. verify: gpubench's figures against plain timings (copies, the spin kernel, conv); exit 1 = a ratio out.
step verify 120 40 "${gb[@]}" verify --suite copy spin conv --results "$store"
# 2. The unit tests that only run on a GPU (they skip elsewhere).
step unit-tests-gpu 60 15 "$py" -m pytest -q -p no:cacheprovider -rs \
  tests/test_timing.py tests/test_copy_case.py tests/test_conv_case.py tests/test_conv_worker.py -k "cuda or gpu"
# 3. The suites, trimmed for the check: every copy case; conv on CUDA at one ResNet-50 shape (4 flag
# combinations x fp32 TF32 on/off, fp16 x 3 passes, and its dynamic scenario).
step copy 60 12 "${gb[@]}" run --profile quick --suite copy --results "$store"
step conv 90 12 "${gb[@]}" run --profile quick --suite conv --results "$store" -- -k "cuda and resnet50_64to64_3x3_56"
# Collectives: at least 2 ranks (one rank measures nothing and is skipped). NCCL at the GPU count where
# there are 2 GPUs or more (on one GPU it refuses two ranks: skipped with that reason), Gloo on CPU and
# CUDA tensors. AllReduce's quick profile without 256 MiB, every other collective at three sizes, then torchrun.
gpus=$(timeout 10 nvidia-smi -L 2>/dev/null | grep -c '^GPU')  # no torch import: it costs seconds
ranks=$(( ${gpus:-0} > 2 ? gpus : 2 ))
step allreduce 60 12 "${gb[@]}" run --profile quick --suite allreduce --results "$store" -- \
  "--gpubench-world-size=$ranks" -k "not 268435456"
step collectives 45 12 "${gb[@]}" allreduce --collectives all_gather,reduce_scatter,broadcast,reduce,all_to_all \
  --world-size "$ranks" --sizes 8,1M,64M --samples 5 --results "$store"
step allreduce-torchrun 45 12 "$py" -m torch.distributed.run --standalone --nproc-per-node "$ranks" \
  -m gpubench.allreduce --sizes 8,1M,64M --results "$store"
step doctor 30 30 bash -c doctor_report
# 4. What a first GPU run must show; then the whole summary is in $OUT.
reserve=0 step must-show 20 60 "$py" scripts/gpu_check_summary.py "$store"

say "== total $SECONDS s of ${total} s, status $status; files in $out"
publish
exit $status
