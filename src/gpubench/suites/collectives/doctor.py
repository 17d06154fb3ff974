"""The collectives' doctor rules: stored AllReduce bus bandwidth against the link it ran on.

AllReduce (suite ``allreduce``, columns ``backend``, ``busbw_gbps``, ``world_size``): the best
busbw of 16 MiB or more per backend, tensor device and world size (Gloo on CPU tensors and Gloo on
CUDA tensors are different paths, each its own finding; rows stored without a device are one
group) against the link peak where one is known: a
``link_peak_gbps`` column when the run recorded one, else, for NCCL, one PCIe link of the GPU
(the floor: P2P or NVLink only add to it). Under 50% is far below. Gloo runs over TCP loopback
(CUDA tensors staged through host memory): no physical peak is known for it, and its rows carry
no link (older runs' recorded link is ignored), so it is reported, not judged.
"""

from __future__ import annotations

import pandas as pd

from gpubench.machine.findings import Finding
from gpubench.machine.pcie import pcie_theoretical_gbps
from gpubench.suites.rows import LARGE_BYTES, NOTHING_TO_DO, SIZE_COLUMNS, known, measured, number, size_text, sizes

ALLREDUCE_FLOOR = 0.50


def allreduce_findings(frame: pd.DataFrame, run: str) -> list[Finding]:
    rows = measured(frame, "allreduce")
    if rows.empty:
        return []
    missing = [column for column in ("backend", "busbw_gbps", "world_size") if column not in rows]
    if missing:
        return [
            Finding(
                "info",
                "results",
                f"{run}: allreduce rows lack {', '.join(missing)}, so they are not judged",
                "store allreduce runs made by this gpubench",
            )
        ]
    busbw = number(rows, "busbw_gbps")
    world = number(rows, "world_size")
    rows = rows[(world > 1) & busbw.notna()]
    by_size = sizes(rows)
    if by_size is not None and (by_size >= LARGE_BYTES).any():
        rows = rows[by_size >= LARGE_BYTES]
    findings = []
    rows = rows.assign(device=rows["device"].fillna("") if "device" in rows else "")
    for (backend, device, world_size), group in rows.groupby(["backend", "device", "world_size"], sort=True):
        best = group.loc[number(group, "busbw_gbps").idxmax()]
        value = float(best["busbw_gbps"])
        size = size_text(best.get(SIZE_COLUMNS[0])) if SIZE_COLUMNS[0] in best else "largest size"
        on = f" on {device} tensors" if device else ""
        what = f"allreduce {backend}{on} x{int(world_size)} busbw reaches at best {value:.1f} GB/s ({size})"
        peak, peak_name = _allreduce_peak(best, str(backend))
        if peak is None:
            findings.append(
                Finding(
                    "info",
                    "results",
                    f"{run}: {what}; not judged: {peak_name}",
                    NOTHING_TO_DO,
                )
            )
        elif value < ALLREDUCE_FLOOR * peak:
            findings.append(
                Finding(
                    "warning",
                    "results",
                    f"{run}: {what}, {100 * value / peak:.0f}% of {peak_name} ({peak:.1f} GB/s; expect >= "
                    f"{100 * ALLREDUCE_FLOOR:.0f}%)",
                    "check P2P and NVLink between the GPUs (this doctor's p2p/nvlink findings), NCCL_P2P_DISABLE, "
                    "and which transport NCCL chose (NCCL_DEBUG=INFO)",
                )
            )
        else:
            findings.append(
                Finding("info", "results", f"{run}: {what}, {100 * value / peak:.0f}% of {peak_name}", NOTHING_TO_DO)
            )
    return findings


def _allreduce_peak(row: pd.Series, backend: str) -> tuple[float | None, str]:
    """The peak busbw is judged against and its name, or None and why there is none."""
    if backend != "nccl":  # runs stored before Gloo's link columns were dropped may still carry a PCIe peak
        return None, f"no physical peak is known for {backend} (staged through host memory)"
    recorded = row.get("link_peak_gbps")
    if known(recorded) and float(recorded) > 0:
        return float(recorded), "the link peak the run recorded"
    gen, width = row.get("pcie_gen_max"), row.get("pcie_width_max")
    theory = pcie_theoretical_gbps(int(gen), int(width)) if known(gen) and known(width) else None
    if theory is None:
        return None, "the run recorded no PCIe link and no link peak"
    return theory, f"one PCIe Gen{int(gen)} x{int(width)} link (the floor with P2P or NVLink)"
