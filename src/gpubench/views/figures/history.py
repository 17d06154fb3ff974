"""History figures that stay readable at a year of nightly runs: one figure per suite per machine.

Time (``started_at``) runs along the x axis, so a thousand runs make a line, not a thousand
labels. A panel holds one case group (the cases that share their first parameter: a copy
direction, a conv shape, a collective backend), each case drawn relative to its own median over
the history, so cases of any size share the axis: the median per run as a line, the run's IQR
as a band. Change points (from the verdicts' change-point detection: objects or dicts with
``run_id``, ``started_at``, ``ratio`` and optionally ``case``) are marked on the case's line, or
across the panel when they name no case;
environment changes between consecutive runs (a new driver, torch, CUDA...) are labelled
vertical lines. Reads only the ``case_history`` frame and the runs index, never the store.

A figure whose rows, marks and drawing code are those it was drawn from (``files.figure_inputs``:
a digest kept in the PNG) is returned as it is: asked again of a store that has not changed,
``gpubench history`` draws nothing and imports no matplotlib.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gpubench.files import figure_inputs, safe
from gpubench.files.safe import save_figure, slug
from gpubench.views import history as history_text
from gpubench.views.history import case_values

COLUMNS = 3
LEGEND_AT_MOST = 8
# A figure stays readable at any case count: at most this many panels, and lines per panel;
# the title says how many cases are left out (``--case`` narrows).
MAX_PANELS = 12
MAX_LINES = 16
# Environment keys not worth a marker (they change with every commit or run).
QUIET_KEYS = frozenset({"git_commit", "torch_num_threads"})
# The code a figure is drawn by: a change to it draws every figure again.
DRAWING_CODE = (__file__, safe.__file__, history_text.__file__)


def plot_history(
    history: pd.DataFrame,
    out_dir: str | os.PathLike,
    highlight_run: str | None = None,
    prefix: str = "history",
    change_points: Iterable[Any] | None = None,
    environment: pd.DataFrame | None = None,
) -> list[Path]:
    """PNGs ``<prefix>_<machine>_<suite>.png``; ``environment``: runs index rows (``list_runs``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    points = [_point(point) for point in (change_points or [])]
    written = []
    groups = history.groupby(["machine", "suite"], sort=False)
    names = figure_names([(str(machine), str(suite)) for machine, suite in groups.groups], prefix)
    for (key_machine, key_suite), rows in groups:
        machine, suite = str(key_machine), str(key_suite)
        changes = environment_changes(environment, machine) if environment is not None else []
        name = names[(machine, suite)]
        marks = (machine, suite, highlight_run, points, changes)
        inputs = figure_inputs.inputs_digest(rows, marks, DRAWING_CODE)
        path = figure_inputs.up_to_date(out, name, inputs)
        written.append(path or _figure(rows, machine, suite, out, name, highlight_run, points, changes, inputs))
    return written


def figure_names(keys: list[tuple[str, str]], prefix: str) -> dict[tuple[str, str], str]:
    """``<prefix>_<machine>_<suite>.png`` per (machine, suite); where two keys read alike once
    file-safe (``node 1`` and ``node_1``; ``节点`` and ``ノード``, both empty), each of them gets a
    digest of its own key, so no figure overwrites another."""
    plain = {key: f"{prefix}_{slug(key[0])}_{slug(key[1])}.png" for key in keys}
    taken = Counter(plain.values())
    names = {}
    for key, name in plain.items():
        if taken[name] > 1 or not slug(key[0]) or not slug(key[1]):
            digest = hashlib.sha256("\0".join(key).encode("utf-8", "surrogatepass")).hexdigest()[:10]
            name = f"{name.removesuffix('.png')}-{digest}.png"
        names[key] = name
    return names


def case_group(case: str) -> str:
    """``conv[shape=resnet50_64to64_3x3_56,device=cpu,...]`` -> ``shape=resnet50_64to64_3x3_56``."""
    match = re.fullmatch(r"[^\[]+\[([^,\]]*).*\]", case)
    return match.group(1) if match else case


def environment_changes(runs: pd.DataFrame, machine: str) -> list[tuple[pd.Timestamp, str]]:
    """(when, "key old -> new; ...") for each run of ``machine`` whose environment differs from the one before."""
    if runs.empty or "environment" not in runs:
        return []
    mine = runs[runs["machine"] == machine].sort_values("started_at", kind="stable")
    changes, before = [], None
    for started, text in zip(mine["started_at"], mine["environment"], strict=True):
        now = json.loads(text) if isinstance(text, str) else {}
        if before is not None:
            keys = [key for key in now if key not in QUIET_KEYS and before.get(key) != now.get(key)]
            moved = [f"{key} {before.get(key)} -> {now.get(key)}" for key in keys]
            if moved:
                changes.append((pd.Timestamp(started), "; ".join(moved)))
        before = now
    return changes


def _figure(rows, machine, suite, out, name, highlight_run, points, changes, inputs) -> Path:
    from matplotlib.figure import Figure

    every = list(dict.fromkeys(rows["case"]))
    rows = rows.assign(group=[case_group(case) for case in rows["case"]])
    kept = rows.groupby("group", sort=False)["case"].unique()
    drawn = {case for cases in list(kept)[:MAX_PANELS] for case in list(cases)[:MAX_LINES]}
    rows = rows[rows["case"].isin(drawn)]
    groups = list(dict.fromkeys(rows["group"]))
    columns = min(COLUMNS, len(groups))
    lines = math.ceil(len(groups) / columns)
    fig = Figure(figsize=(5.5 * columns, 3.2 * lines + 1.0))
    axes = fig.subplots(lines, columns, squeeze=False, sharex=True)
    for ax, group in zip(axes.flat, groups, strict=False):
        _panel(ax, rows[rows["group"] == group], group, highlight_run, points, changes)
    for ax in list(axes.flat)[len(groups) :]:
        ax.axis("off")
    left_out = len(every) - len(drawn)
    fig.suptitle(
        f"{suite} on {machine}, {rows['run_id'].nunique()} runs: each case relative to its own median"
        + (f"; {len(drawn)} of {len(every)} cases drawn (--case narrows)" if left_out else "")
        + "\n"
        "line: median per run; band: IQR; triangle or dotted: change point; dashed: environment change",
        fontsize=8,
    )
    fig.autofmt_xdate()
    return save_figure(fig, out, name, dpi=90, metadata=figure_inputs.stamped(inputs))


def _panel(ax, rows, group, highlight_run, points, changes) -> None:
    cases = list(dict.fromkeys(rows["case"]))
    for case in cases:
        one = rows[rows["case"] == case]
        centre = float(one["value"].median())
        when = pd.to_datetime(one["started_at"])
        (line,) = ax.plot(when, one["value"] / centre, linewidth=0.8, label=" ".join(case_values(case)[1:])[:60])
        ax.fill_between(when, one["low"] / centre, one["high"] / centre, color=line.get_color(), alpha=0.15, lw=0)
        for point in points:
            if point["case"] == case and point["run_id"] in set(one["run_id"]):
                y = float(one.loc[one["run_id"] == point["run_id"], "value"].iloc[0]) / centre
                ax.plot([point["started_at"]], [y], "v", color="black", markersize=7)
                ax.annotate(f"x{point['ratio']:.2f}", (point["started_at"], y), fontsize=6, xytext=(3, 4),
                            textcoords="offset points")  # fmt: skip
        if highlight_run is not None and highlight_run in set(one["run_id"]):
            here = one[one["run_id"] == highlight_run]
            ax.plot(pd.to_datetime(here["started_at"]), here["value"] / centre, "o", color="tab:red", markersize=5)
    for point in points:
        if point["case"] is None and point["run_id"] in set(rows["run_id"]):  # a change of the whole run
            ax.axvline(point["started_at"], color="black", linestyle=":", linewidth=1.0)
            ax.annotate(f"x{point['ratio']:.2f}", (point["started_at"], 0), xycoords=("data", "axes fraction"),
                        fontsize=6, xytext=(3, 3), textcoords="offset points")  # fmt: skip
    ax.set_ylim(*_limits(rows))
    for when, text in changes:
        ax.axvline(when, color="grey", linestyle="--", linewidth=0.8)
        ax.annotate(text, (when, 1), xycoords=("data", "axes fraction"), rotation=90, fontsize=5,
                    va="top", ha="right", color="dimgrey")  # fmt: skip
    metric = str(rows["metric"].iloc[-1])
    better = "higher is better" if metric != "median_s" else "lower is better"
    ax.axhline(1.0, color="grey", linewidth=0.6, linestyle=":")
    ax.set_title(f"{group} ({len(cases)} case(s))", fontsize=8)
    ax.set_ylabel(f"{metric} / its median ({better})", fontsize=7)
    ax.tick_params(labelsize=7)
    ax.grid(True, alpha=0.3)
    if len(cases) <= LEGEND_AT_MOST and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=5, loc="best")


def _limits(rows: pd.DataFrame) -> tuple[float, float]:
    """Y limits from the median lines (1st to 99th percentile, padded): a case whose IQR is wide
    must not flatten every other line of the panel; its band is clipped."""
    centres = rows.groupby("case", sort=False)["value"].transform("median")
    ratios = (rows["value"] / centres).dropna()
    ratios = ratios[np.isfinite(ratios.astype(float))]
    if ratios.empty:
        return 0.5, 1.5
    low, high = ratios.quantile(0.01), ratios.quantile(0.99)
    pad = max(0.02, 0.15 * (high - low))
    return float(low - pad), float(high + pad)


def _point(point: Any) -> dict[str, Any]:
    def get(key: str) -> Any:
        return point.get(key) if isinstance(point, dict) else getattr(point, key, None)

    return {
        "run_id": str(get("run_id")),
        "started_at": pd.Timestamp(get("started_at")),
        "ratio": float(get("ratio")),
        "case": get("case"),
    }
