"""What a first GPU run's collectives must show (gpu-check's summary), per collective and transport.

For each collective suite and each of NCCL, Gloo on CPU tensors and Gloo on CUDA tensors: that it
ran (cases measured, busbw at its largest size, #wrong summed: 0 is OK) or why it did not (the
skip reason stored, e.g. NCCL refusing two ranks on one GPU), and the fallback a backend used
instead of the collective's own algorithm (Gloo's reduce_scatter).
"""

from __future__ import annotations

import pandas as pd

from gpubench.suites.collectives.spec import COLLECTIVES, TRANSPORTS

SUITE_NAMES = tuple("allreduce" if name == "all_reduce" else name for name in COLLECTIVES)


def lines(frame: pd.DataFrame) -> list[str]:
    if "suite" not in frame or not frame["suite"].isin(SUITE_NAMES).any():
        return ["collectives: MISSING, no collective rows in the store"]
    out = []
    for suite in SUITE_NAMES:
        rows = frame[frame["suite"] == suite]
        if rows.empty:
            out.append(f"{suite}: MISSING, no rows (its step did not store a run)")
            continue
        out += [_transport_line(suite, rows, transport) for transport in TRANSPORTS]
    return out


def _transport_line(suite: str, rows: pd.DataFrame, transport: str) -> str:
    backend, device = transport.split(":")
    mine = rows[(rows["backend"] == backend) & (rows["device"] == device)] if "backend" in rows else rows.iloc[0:0]
    what = f"{suite} {backend} on {device} tensors"
    measured = mine[mine["status"] == "ok"]
    if measured.empty:
        reasons = (
            mine.loc[mine["status"] == "skipped", "skip_reason"].dropna().astype(str) if "skip_reason" in mine else []
        )
        why = f"skipped: {sorted(set(reasons))[0]}" if len(reasons) else "no rows"
        return f"{what}: not measured, {why}"
    wrong = int(pd.to_numeric(measured.get("wrong"), errors="coerce").fillna(0).sum())
    largest = measured.sort_values("bytes").iloc[-1]
    text = (
        f"{what}: {len(measured)} case{'' if len(measured) == 1 else 's'}, "
        f"busbw {float(largest['busbw_gbps']):.3f} GB/s at {int(largest['bytes'])} B, "
        f"#wrong {wrong}"
    )
    algorithm = largest.get("algorithm")
    if isinstance(algorithm, str) and algorithm:
        text += f", ran as {algorithm}"
    return f"{text}: {'OK' if wrong == 0 else 'CHECK'}"
