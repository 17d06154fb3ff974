"""What a first GPU run's conv rows must show (gpu-check's summary).

One worker per flag combination, first calls slower with benchmark on, bit-identical results with
deterministic on, TF32 changing the float32 kernels, kernels recorded in every static case, and
no sample whose enqueue outlasted the spin.
"""

from __future__ import annotations

import pandas as pd

from gpubench.suites.must_show import missing, verdict


def lines(frame: pd.DataFrame) -> list[str]:
    if "device" not in frame:
        return [missing(frame, "conv", "conv")]
    conv = frame[(frame["suite"] == "conv") & (frame["status"] == "ok") & (frame["device"] == "cuda")]
    if conv.empty:
        return [missing(frame, "conv", "conv flags, first calls, determinism, TF32 kernels, kernels recorded")]
    lines = ["conv: flags in effect per combination (worker pid):"]
    combos = conv.groupby(["cudnn_benchmark", "cudnn_deterministic"])
    pids = set()
    for (bench, determ), rows in combos:
        flags = sorted(set(rows["flags_in_effect"].astype(str)))
        workers = sorted(set(rows["worker_pid"].astype(int)))
        pids.update(workers)
        lines.append(
            f"  benchmark={bench} deterministic={determ}: pid {','.join(map(str, workers))}: {' | '.join(flags)}"
        )
    lines.append(
        f"  {combos.ngroups} combinations in {len(pids)} distinct workers: {verdict(len(pids) == combos.ngroups)}"
    )

    static = conv[conv["scenario"] == "static"]
    on = static.loc[static["cudnn_benchmark"] == True, "first_call_s"].median()  # noqa: E712 (nullable booleans)
    off = static.loc[static["cudnn_benchmark"] == False, "first_call_s"].median()  # noqa: E712
    lines.append(f"conv: first_call_s median, benchmark on {on:.4f} s vs off {off:.4f} s: {verdict(on > off)}")

    determ = static[static["cudnn_deterministic"] == True]  # noqa: E712
    same = int(determ["deterministic_output"].astype(bool).sum())
    lines.append(
        f"conv: deterministic_output true with deterministic on: {same}/{len(determ)}: {verdict(same == len(determ))}"
    )

    fp32 = static[static["dtype"] == "float32"]
    keys = ["shape", "layout", "direction", "cudnn_benchmark", "cudnn_deterministic"]
    pairs = differ = 0
    for _, rows in fp32.groupby(keys):
        by_tf32 = {
            bool(value): str(kernels) for value, kernels in zip(rows["allow_tf32"], rows["kernels"], strict=True)
        }
        if len(by_tf32) == 2 and all(by_tf32.values()):  # both recorded (a missing one is said below)
            pairs += 1
            differ += by_tf32[True] != by_tf32[False]
    lines.append(
        f"conv: kernels differ with TF32 on and off in {differ} of {pairs} float32 cases: {verdict(differ > 0)}"
    )

    checks = static["kernels_check"].astype(str) if "kernels_check" in static else pd.Series(["missing"] * len(static))
    recorded = int((checks == "ok").sum())
    lines.append(
        f"conv: kernels recorded in {recorded}/{len(static)} static CUDA cases: {verdict(recorded == len(static))}"
    )
    if "late_enqueue_samples" in static:
        late = int(static["late_enqueue_samples"].fillna(0).astype(int).gt(0).sum())
        lines.append(f"conv: cases with a sample whose enqueue outlasted the spin: {late}: {verdict(late == 0)}")
    return lines
