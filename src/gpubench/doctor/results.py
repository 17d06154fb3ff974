"""With ``--results``: stored figures against the physical limits that bound them.

Each registered suite may name doctor rules (``Suite.doctor_rules``, ``(frame, run) ->
[Finding]``); ``judge_run`` applies them all to one run, ``judge_store`` to the latest run of
each suite that has rules (the latest run of a store is often one suite only, e.g. a torchrun
AllReduce after a copy run, and the copies still deserve a verdict).

Copies (suite ``copy``): the best pinned host<->device figure of 16 MiB or more per direction
against the PCIe link it ran on (``pcie_efficiency_pct``, or ``gbps / pcie_theoretical_gbps``);
under 70% is far below (a healthy link gives 80-90%). Pageable copies are not judged: the driver's
bounce buffer, not the link, bounds them. The link the copies ran on (``pcie_gen``/``pcie_width``)
is also checked against the fingerprint's maximum (``pcie_gen_max``/``pcie_width_max``).

AllReduce (suite ``allreduce``, columns ``backend``, ``busbw_gbps``, ``world_size``): the best
busbw of 16 MiB or more per backend and world size against the link peak where one is known: a
``link_peak_gbps`` column when the run recorded one, else, for NCCL, one PCIe link of the GPU
(the floor: P2P or NVLink only add to it). Under 50% is far below. Gloo is staged through host
memory: no physical peak is known for it, whatever link the run recorded, so it is reported, not
judged.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from gpubench.byte_size import human_bytes
from gpubench.doctor.findings import Finding
from gpubench.pcie import pcie_theoretical_gbps
from gpubench.suites import SUITES

LARGE_BYTES = 16 << 20
COPY_FLOOR_PCT = 70.0
ALLREDUCE_FLOOR = 0.50
LINK_DIRECTIONS = ("h2d", "d2h", "bidir")
SIZE_COLUMNS = ("bytes", "nbytes", "size_bytes")
NOTHING_TO_DO = "nothing to do"


def judge_run(frame: pd.DataFrame) -> list[Finding]:
    """Findings on one stored run (``read_results(dir, run_id)``): every suite's rules on its rows."""
    if frame.empty:
        return [Finding("info", "results", "the run holds no rows to judge", NOTHING_TO_DO)]
    run = _run_label(frame)
    findings = [finding for rules in _rules() for finding in rules(frame, run)]
    if not findings:
        judged = ", ".join(suite.name for suite in SUITES.values() if suite.doctor_rules)
        findings.append(
            Finding(
                "info",
                "results",
                f"{run} has no figures to judge against physical limits (suites judged: {judged})",
                "run the copy or allreduce suite (gpubench run --suite copy)",
            )
        )
    return findings


def judge_store(frame: pd.DataFrame) -> tuple[list[Finding], dict[str, str]]:
    """The latest run of each suite that has rules, judged; and which run each suite's was.

    ``frame`` is a whole store (``read_results(dir)``, oldest run first). When no suite with rules
    was ever measured, the latest run is judged (and says it has nothing to judge).
    """
    if frame.empty:
        return judge_run(frame), {}
    measured = frame[frame["status"] == "ok"] if "status" in frame else frame
    latest = {
        suite.name: str(measured.loc[measured["suite"] == suite.name, "run_id"].iloc[-1])
        for suite in SUITES.values()
        if suite.doctor_rules and (measured["suite"] == suite.name).any()
    }
    runs = list(dict.fromkeys(latest.values())) or [str(frame["run_id"].iloc[-1])]
    findings = []
    for run_id in runs:
        rows = frame[frame["run_id"] == run_id]
        suites_here = [name for name, latest_run in latest.items() if latest_run == run_id]
        findings += judge_run(rows[rows["suite"].isin(suites_here)] if suites_here else rows)
    return findings, latest


def _rules() -> list[Any]:
    return [rules for suite in SUITES.values() if (rules := suite.doctor()) is not None]


def _run_label(frame: pd.DataFrame) -> str:
    first = frame.iloc[0]
    where = [str(first[column]) for column in ("hostname", "gpu_name") if column in frame and _known(first[column])]
    return f"run {first.get('run_id')}" + (f" ({', '.join(where)})" if where else "")


def _measured(frame: pd.DataFrame, suite: str) -> pd.DataFrame:
    if "suite" not in frame or "status" not in frame:
        return frame.iloc[0:0]
    return frame[(frame["suite"] == suite) & (frame["status"] == "ok")]


def _sizes(rows: pd.DataFrame) -> pd.Series | None:
    for column in SIZE_COLUMNS:
        if column in rows:
            return pd.to_numeric(rows[column], errors="coerce")
    return None


def _number(rows: pd.DataFrame, column: str) -> pd.Series:
    if column not in rows:
        return pd.Series(float("nan"), index=rows.index)
    return pd.to_numeric(rows[column], errors="coerce").astype(float)


def _known(value: Any) -> bool:
    return value is not None and not (not isinstance(value, str) and pd.isna(value))


def _size_text(nbytes: Any) -> str:
    return human_bytes(nbytes) if _known(nbytes) else "size unknown"


def copy_findings(frame: pd.DataFrame, run: str) -> list[Finding]:
    rows = _measured(frame, "copy")
    if rows.empty or "direction" not in rows:
        return []
    rows = rows[rows["direction"].isin(LINK_DIRECTIONS)]
    if "host_memory" in rows:
        rows = rows[rows["host_memory"].fillna("pinned") == "pinned"]
    sizes = _sizes(rows)
    if sizes is not None:
        rows = rows[sizes >= LARGE_BYTES]
    if rows.empty:
        return [
            Finding(
                "info",
                "results",
                f"{run}: no pinned host<->device copy of 16 MiB or more to judge against the PCIe link",
                "run the copy suite on a GPU (gpubench run --suite copy)",
            )
        ]
    theory = _number(rows, "pcie_theoretical_gbps")
    efficiency = _number(rows, "pcie_efficiency_pct").fillna(100 * _number(rows, "gbps") / theory)
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
        size = _size_text(best.get("bytes"))
        figure = (
            f"{direction} pinned copies reach at best {float(best['gbps']):.1f} GB/s ({size}), "
            f"{mine.max():.0f}% of the PCIe {link} link's {theory[mine.idxmax()]:.1f} GB/s per direction"
        )
        if mine.max() < COPY_FLOOR_PCT:
            findings.append(
                Finding(
                    "warning",
                    "results",
                    f"{run}: {figure} (expect >= {COPY_FLOOR_PCT:.0f}%)",
                    "check the link under load and the process's NUMA placement (this doctor's pcie and numa "
                    "findings on that machine), and other processes using the GPU",
                )
            )
        else:
            findings.append(Finding("info", "results", f"{run}: {figure}", NOTHING_TO_DO))
    findings += _copy_link_below_max(rows, run)
    return findings


def _int(value: Any) -> str:
    return str(int(value)) if _known(value) else "?"


def _copy_link_below_max(rows: pd.DataFrame, run: str) -> list[Finding]:
    """The link the copies ran on against the maximum the fingerprint recorded for GPU 0."""
    gen, width = _number(rows, "pcie_gen"), _number(rows, "pcie_width")
    gen_max, width_max = _number(rows, "pcie_gen_max"), _number(rows, "pcie_width_max")
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


def allreduce_findings(frame: pd.DataFrame, run: str) -> list[Finding]:
    rows = _measured(frame, "allreduce")
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
    busbw = _number(rows, "busbw_gbps")
    world = _number(rows, "world_size")
    rows = rows[(world > 1) & busbw.notna()]
    sizes = _sizes(rows)
    if sizes is not None and (sizes >= LARGE_BYTES).any():
        rows = rows[sizes >= LARGE_BYTES]
    findings = []
    for (backend, world_size), group in rows.groupby(["backend", "world_size"], sort=True):
        best = group.loc[_number(group, "busbw_gbps").idxmax()]
        value = float(best["busbw_gbps"])
        size = _size_text(best.get(SIZE_COLUMNS[0])) if SIZE_COLUMNS[0] in best else "largest size"
        what = f"allreduce {backend} x{int(world_size)} busbw reaches at best {value:.1f} GB/s ({size})"
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
    if backend != "nccl":  # before any recorded peak: Gloo on CUDA records the PCIe link it stages through
        return None, f"no physical peak is known for {backend} (staged through host memory)"
    recorded = row.get("link_peak_gbps")
    if _known(recorded) and float(recorded) > 0:
        return float(recorded), "the link peak the run recorded"
    gen, width = row.get("pcie_gen_max"), row.get("pcie_width_max")
    theory = pcie_theoretical_gbps(int(gen), int(width)) if _known(gen) and _known(width) else None
    if theory is None:
        return None, "the run recorded no PCIe link and no link peak"
    return theory, f"one PCIe Gen{int(gen)} x{int(width)} link (the floor with P2P or NVLink)"
