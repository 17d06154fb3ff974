#!/usr/bin/env bash
# The one prepared GPU check. Its steps come from the suite registry (python -m gpubench.suites.gpu_check:
# each suite declares its steps and limits): the environment, gpubench verify per suite, the GPU-only
# unit tests, each suite trimmed to fit (conv one flag combination a step, each collective a step of
# its own), the doctor, and the summary of what a first GPU run must show (also from the registry).
#
# Time: every step runs under `timeout` at its own limit, and the limits add up to less than the
# budget (GPU_CHECK_TOTAL_S, default 400 s, so a rerun still fits a 15-minute loan that also pays
# for the machine's start): a slow step cannot starve a later one. A step that would start with
# under 5 s left is not run. Each step is one process that stores what it measured before it ends,
# so a step stopped at its limit loses only its own part. docs/gpu-check.md: limits and estimates.
# Results: results/gpu-check-<date>/ in the checkout (logs, store, doctor.json, summary.log;
# GPU_CHECK_RESULTS names another folder than results/); when $OUT is set that folder is packed
# into $OUT/gpu-check.tar.gz (with summary.log beside it) after every step, so a killed step (or a
# killed check) still returns the earlier ones, and summary.log is written line by line (never
# through a buffering pipe), so it is complete whenever it is copied. At the end summary.log is
# rewritten (atomically) with the must-show lines first. GPU_CHECK_PLAN names a file of steps
# (label<TAB>limit<TAB>tail<TAB>command) to run instead of the registry's (tests use it);
# GPU_CHECK_LIMIT_SCALE multiplies every limit (to measure the steps on a CPU host, docs/gpu-check.md).
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
total=${GPU_CHECK_TOTAL_S:-400}
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
  limit=$((limit * ${GPU_CHECK_LIMIT_SCALE:-1}))  # >1 only to measure steps where they run slower (CPU)
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
  grep -vE '^  (parquet|json|plot):' "$out/$label.log" | tail -n "$lines" | tee -a "$summary"  # figures, not paths
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
gpus=$(timeout 10 nvidia-smi -L 2>/dev/null | grep -c '^GPU')  # no torch import: it costs seconds
ranks=$(( ${gpus:-0} > 2 ? gpus : 2 ))  # NCCL at the GPU count where there are 2 or more; Gloo at 2 or more
plan=$out/plan.tsv
if [ -n "${GPU_CHECK_PLAN:-}" ]; then
  cp "$GPU_CHECK_PLAN" "$plan"
else
  "$py" -m gpubench.suites.gpu_check --store "$store" --out "$out" --ranks "$ranks" --python "$py" >"$plan" ||
    say "== plan: the registry's steps could not be listed (see $plan)"
fi
while IFS=$'\t' read -r label limit lines command <&3; do
  [ -n "$label" ] || continue
  if [ "$label" = must-show ]; then
    reserve=0 step "$label" "$limit" "$lines" bash -c "$command"
    cp "$out/$label.log" "$out/must-show.txt" 2>/dev/null
  else
    step "$label" "$limit" "$lines" bash -c "$command" </dev/null
  fi
done 3<"$plan"

say "== total $SECONDS s of ${total} s, status $status; files in $out"
if [ -s "$out/must-show.txt" ]; then  # the figures first, then the steps in the order they ran
  { cat "$out/must-show.txt"; echo; cat "$summary"; } >"$summary.new" && mv "$summary.new" "$summary"
fi
publish
exit $status
