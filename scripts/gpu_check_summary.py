#!/usr/bin/env python
"""What a first GPU run must show, read back from gpu-check's store.

One line per property, ending in OK, CHECK (the figures say otherwise: look) or MISSING (no rows
to judge, with the reason the store gives). The spin kernel's figures come from gpubench verify's
rows in the same store. Never fails: it is the summary, not a gate.

    PYTHONPATH=src python scripts/gpu_check_summary.py RESULTS_DIR
"""

from __future__ import annotations

import sys

import pandas as pd

from gpubench.store import read_results


def main(results: str) -> int:
    frame = read_results(results)
    print("== what a first GPU run must show")
    for line in conv_lines(frame) + copy_lines(frame) + spin_lines(frame):
        print(line)
    return 0


def _verdict(ok: bool) -> str:
    return "OK" if ok else "CHECK"


def _missing(frame: pd.DataFrame, suite: str, what: str) -> str:
    rows = frame[frame["suite"] == suite] if "suite" in frame else frame
    reasons = sorted(set(rows.loc[rows["status"] == "skipped", "skip_reason"].dropna().astype(str)))
    why = f" (skipped: {reasons[0]})" if reasons else ""
    return f"{what}: MISSING, no {suite} rows on CUDA{why}"


def conv_lines(frame: pd.DataFrame) -> list[str]:
    if "device" not in frame:
        return [_missing(frame, "conv", "conv")]
    conv = frame[(frame["suite"] == "conv") & (frame["status"] == "ok") & (frame["device"] == "cuda")]
    if conv.empty:
        return [_missing(frame, "conv", "conv flags, first calls, determinism, TF32 kernels, kernels recorded")]
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
        f"  {combos.ngroups} combinations in {len(pids)} distinct workers: {_verdict(len(pids) == combos.ngroups)}"
    )

    static = conv[conv["scenario"] == "static"]
    on = static.loc[static["cudnn_benchmark"] == True, "first_call_s"].median()  # noqa: E712 (nullable booleans)
    off = static.loc[static["cudnn_benchmark"] == False, "first_call_s"].median()  # noqa: E712
    lines.append(f"conv: first_call_s median, benchmark on {on:.4f} s vs off {off:.4f} s: {_verdict(on > off)}")

    determ = static[static["cudnn_deterministic"] == True]  # noqa: E712
    same = int(determ["deterministic_output"].astype(bool).sum())
    lines.append(
        f"conv: deterministic_output true with deterministic on: {same}/{len(determ)}: {_verdict(same == len(determ))}"
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
        f"conv: kernels differ with TF32 on and off in {differ} of {pairs} float32 cases: {_verdict(differ > 0)}"
    )

    checks = static["kernels_check"].astype(str) if "kernels_check" in static else pd.Series(["missing"] * len(static))
    recorded = int((checks == "ok").sum())
    lines.append(
        f"conv: kernels recorded in {recorded}/{len(static)} static CUDA cases: {_verdict(recorded == len(static))}"
    )
    if "late_enqueue_samples" in static:
        late = int(static["late_enqueue_samples"].fillna(0).astype(int).gt(0).sum())
        lines.append(f"conv: cases with a sample whose enqueue outlasted the spin: {late}: {_verdict(late == 0)}")
    return lines


def copy_lines(frame: pd.DataFrame) -> list[str]:
    if "host_memory" not in frame:
        return [_missing(frame, "copy", "pinned copies against the PCIe peak")]
    copies = frame[(frame["suite"] == "copy") & (frame["status"] == "ok") & (frame["host_memory"] == "pinned")]
    lines = []
    for direction in ("h2d", "d2h"):
        rows = copies[copies["direction"] == direction]
        if rows.empty:
            lines.append(_missing(frame, "copy", f"pinned {direction} against the PCIe peak"))
            continue
        best = rows.sort_values("bytes").iloc[-1]
        peak = best.get("pcie_theoretical_gbps")
        if peak is None or pd.isna(peak):
            lines.append(
                f"copy: pinned {direction} {int(best['bytes'])} B: {best['gbps']:.2f} GB/s; PCIe peak unknown: CHECK"
            )
            continue
        share = best["gbps"] / peak
        link = f"Gen{int(best['pcie_gen'])} x{int(best['pcie_width'])}"
        lines.append(
            f"copy: pinned {direction} {int(best['bytes'])} B: {best['gbps']:.2f} GB/s = {share:.0%} of "
            f"{peak:.1f} GB/s ({link}): {_verdict(0.6 <= share <= 1.0)}"
        )
    return lines


def spin_lines(frame: pd.DataFrame) -> list[str]:
    """The spin kernel's checks, as gpubench verify stored them (suite verify, target spin)."""
    if "target" not in frame:
        return ["spin: MISSING, no gpubench verify rows in the store"]
    rows = frame[(frame["suite"] == "verify") & (frame["target"] == "spin")]
    lines = []
    for _, row in rows.iterrows():
        if row["status"] != "ok":
            lines.append(f"spin {row['check']}: MISSING, {row['skip_reason']}")
            continue
        detail = ""
        clock = row.get("check_implied_clock_ghz")
        no_spin = row.get("check_plain_loop_no_spin_s")
        if clock is not None and not pd.isna(clock):
            detail = (
                f"measured {row['reference_s'] * 1e3:.3f} ms for {row['gpubench_s'] * 1e3:.3f} ms assumed, "
                f"clock {clock:.2f} GHz implied; "
            )
        elif no_spin is not None and not pd.isna(no_spin):
            detail = (
                f"span {row['gpubench_s'] * 1e6:.2f} us/kernel behind the spin, enqueue {row['reference_s'] * 1e6:.2f} "
                f"us/kernel, plain loop without the spin {no_spin * 1e6:.2f} us/kernel; "
            )
        lines.append(f"spin {row['check']}: {detail}{row['reason']}: {row['verdict']}")
    return lines or ["spin: MISSING, gpubench verify ran no spin check"]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
