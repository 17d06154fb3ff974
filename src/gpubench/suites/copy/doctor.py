"""The copy suite's doctor rules: stored copy figures against the PCIe link they ran on.

Copies (suite ``copy``): the best pinned host<->device figure of 16 MiB or more per direction
against the PCIe link it ran on (``pcie_efficiency_pct``, or ``gbps / pcie_theoretical_gbps``);
under 70% is far below (a healthy link gives 80-90%). Bidirectional copies have their own floor,
35% of the one-direction peak per direction (``FLOORS``): with a copy running the other way, healthy
hosts give 40-80% in the measured direction (nvbandwidth's bidirectional tests: an A100 on PCIe Gen4
12-13 GB/s H2D of 31.5, NVIDIA/nvbandwidth issue 11; Gen5 hosts 47-51+ GB/s of 63, issue 53), so
70% would flag healthy machines. Pageable copies are not judged: the driver's
bounce buffer, not the link, bounds them. The link the copies ran on (``pcie_gen``/``pcie_width``)
is also checked against the fingerprint's maximum (``pcie_gen_max``/``pcie_width_max``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from gpubench.machine.findings import Finding
from gpubench.suites.rows import LARGE_BYTES, NOTHING_TO_DO, known, measured, number, size_text, sizes

COPY_FLOOR_PCT = 70.0
BIDIR_FLOOR_PCT = 35.0
FLOORS = {"h2d": COPY_FLOOR_PCT, "d2h": COPY_FLOOR_PCT, "bidir": BIDIR_FLOOR_PCT}
LINK_DIRECTIONS = ("h2d", "d2h", "bidir")


def copy_findings(frame: pd.DataFrame, run: str) -> list[Finding]:
    rows = measured(frame, "copy")
    if rows.empty or "direction" not in rows:
        return []
    rows = rows[rows["direction"].isin(LINK_DIRECTIONS)]
    if "host_memory" in rows:
        rows = rows[rows["host_memory"].fillna("pinned") == "pinned"]
    by_size = sizes(rows)
    if by_size is not None:
        rows = rows[by_size >= LARGE_BYTES]
    if rows.empty:
        return [
            Finding(
                "info",
                "results",
                f"{run}: no pinned host<->device copy of 16 MiB or more to judge against the PCIe link",
                "run the copy suite on a GPU (gpubench run --suite copy)",
            )
        ]
    theory = number(rows, "pcie_theoretical_gbps")
    efficiency = number(rows, "pcie_efficiency_pct").fillna(100 * number(rows, "gbps") / theory)
    findings = []
    for direction in [d for d in LINK_DIRECTIONS if d in set(rows["direction"])]:
        mine = efficiency[rows["direction"] == direction].dropna()
        if mine.empty:
            findings.append(
                Finding(
                    "info",
                    "results",
                    f"{run}: {direction} copies carry no PCIe link reading (NVML could not read it), so they "
                    "are not judged",
                    "see the pcie finding of a doctor run on that machine",
                )
            )
            continue
        best = rows.loc[mine.idxmax()]
        link = f"Gen{_int(best.get('pcie_gen'))} x{_int(best.get('pcie_width'))}"
        size = size_text(best.get("bytes"))
        figure = (
            f"{direction} pinned copies reach at best {float(best['gbps']):.1f} GB/s ({size}), "
            f"{mine.max():.0f}% of the PCIe {link} link's {theory[mine.idxmax()]:.1f} GB/s per direction"
        )
        if mine.max() < FLOORS[direction]:
            findings.append(
                Finding(
                    "warning",
                    "results",
                    f"{run}: {figure} (expect >= {FLOORS[direction]:.0f}%)",
                    "check the link under load and the process's NUMA placement (this doctor's pcie and numa "
                    "findings on that machine), and other processes using the GPU",
                )
            )
        else:
            findings.append(Finding("info", "results", f"{run}: {figure}", NOTHING_TO_DO))
    findings += _copy_link_below_max(rows, run)
    return findings


def _int(value: Any) -> str:
    return str(int(value)) if known(value) else "?"


def _copy_link_below_max(rows: pd.DataFrame, run: str) -> list[Finding]:
    """The link the copies ran on against the maximum the fingerprint recorded for GPU 0."""
    gen, width = number(rows, "pcie_gen"), number(rows, "pcie_width")
    gen_max, width_max = number(rows, "pcie_gen_max"), number(rows, "pcie_width_max")
    below = (gen < gen_max) | (width < width_max)
    if not below.any():
        return []
    row = rows[below].iloc[0]
    return [
        Finding(
            "warning",
            "results",
            f"{run}: copies ran on a PCIe Gen{_int(row.get('pcie_gen'))} x{_int(row.get('pcie_width'))} link; "
            f"the GPU in its slot can train to Gen{_int(row.get('pcie_gen_max'))} x{_int(row.get('pcie_width_max'))}",
            "run gpubench doctor on that machine: it reads the link under load and says whether it is degraded",
        )
    ]
