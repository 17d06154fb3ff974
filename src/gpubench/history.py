"""Per-case trends over every stored run, one machine (GPU model and host) at a time.

Each case is shown by its headline figure (GB/s, busbw GB/s, TFLOP/s, else the median time; see
``suites.headline_metric``) with the run's interquartile range as an error bar: the spread
between runs is what the nightly's verdicts have to clear.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from gpubench import suites, text_table
from gpubench.compare import UNITS, machine_key
from gpubench.store.figures import FIGURE_COLUMNS

# What history and change points read of each run: the figures, the machine key, and what the
# fingerprint can attribute a shift to (changepoints.attribute.ATTRIBUTABLE) with the commit.
# The figures cache (``store.figures``) holds exactly these; ``read_results(columns=...)`` takes them too.
HISTORY_COLUMNS = FIGURE_COLUMNS
SUMMARY_HEADINGS = ("case", "runs", "first", "last", "min", "max", "max/min", "last vs median")


def case_history(frame: pd.DataFrame, pattern: str | None = None) -> pd.DataFrame:
    """One row per measured case and run: machine, case, headline figure with its IQR band."""
    rows = frame[frame["status"] == "ok"] if "status" in frame else frame
    if pattern:
        rows = rows[[matches(str(case), pattern) for case in rows["case"]]]
    if rows.empty:
        return pd.DataFrame(columns=["machine", "suite", "case", "run_id", "started_at", "metric", "value"])
    out = pd.DataFrame(
        {
            "machine": machine_key(rows),
            "suite": rows["suite"].astype(str),
            "case": rows["case"].astype(str),
            "run_id": rows["run_id"].astype(str),
            "started_at": rows["started_at"],
            "median_s": rows["median_s"].astype(float),
            "q1_s": rows["q1_s"].astype(float) if "q1_s" in rows else math.nan,
            "q3_s": rows["q3_s"].astype(float) if "q3_s" in rows else math.nan,
        }
    )
    # The headline figure: each suite's (suites.headline_candidates), else the median time.
    metric = pd.Series("median_s", index=rows.index, dtype=object)
    value = out["median_s"].astype(float).copy()
    for suite_name, index in rows.groupby("suite", sort=False).groups.items():
        for name in reversed(suites.headline_candidates(str(suite_name))):
            if name in rows:
                has = rows.loc[index, name].notna().to_numpy(dtype=bool)
                chosen = index[has]
                metric[chosen] = name
                value[chosen] = rows.loc[chosen, name].astype(float)
    timed = (metric == "median_s").to_numpy()
    # A rate derived from the time: its band is the time's band, inverted.
    low = (value * out["median_s"] / out["q3_s"]).where(~timed, out["q1_s"])
    high = (value * out["median_s"] / out["q1_s"]).where(~timed, out["q3_s"])
    out["metric"], out["value"], out["low"], out["high"] = metric, value, low, high
    # Cases in the order the suites list them (sizes ascending), not alphabetically.
    out["order"] = out.groupby(["suite", "case"], sort=False).ngroup()
    out = out.sort_values(["machine", "order", "started_at"], kind="stable", ignore_index=True)
    return out.drop(columns="order")


def matches(case: str, pattern: str) -> bool:
    """Does ``pattern`` occur in ``case``: a substring, where ``*`` and ``?`` are wildcards (brackets literal)."""
    if "*" in pattern or "?" in pattern:
        regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
        return re.search(regex, case, re.DOTALL) is not None
    return pattern in case


def summary(history: pd.DataFrame) -> str:
    """A text table: per machine and case, how many runs, first, last, min, max and spread."""
    if history.empty:
        return "no measured case in the store"
    lines = []
    for machine, rows in history.groupby("machine", sort=False):
        lines.append(f"# {machine}")
        cells = []
        for (_, case), group in rows.groupby(["suite", "case"], sort=False):
            values = group["value"]
            metric = group["metric"].iloc[-1]
            unit = unit_of(metric)
            last_vs = values.iloc[-1] / values.median()
            cells.append(
                [
                    case,
                    str(len(group)),
                    f"{_scaled(values.iloc[0], metric)} {unit}",
                    f"{_scaled(values.iloc[-1], metric)} {unit}",
                    f"{_scaled(values.min(), metric)} {unit}",
                    f"{_scaled(values.max(), metric)} {unit}",
                    f"{values.max() / values.min():.3f}",
                    f"x{last_vs:.3f}",
                ]
            )
        lines += text_table.aligned(SUMMARY_HEADINGS, cells, left={0})
        lines.append("")
    return "\n".join(lines).rstrip()


def plot_history(
    history: pd.DataFrame,
    out_dir: str | os.PathLike,
    highlight_run: str | None = None,
    prefix: str = "history",
    change_points: Iterable[Any] | None = None,
    environment: pd.DataFrame | None = None,
) -> list[Path]:
    """PNGs, one per suite per machine (see ``gpubench.plots.history``); ``highlight_run`` in red."""
    from gpubench.plots.history import plot_history as figures  # matplotlib only when drawing

    return figures(history, out_dir, highlight_run, prefix, change_points=change_points, environment=environment)


def unit_of(metric: str) -> str:
    if metric == "median_s":
        return "time (us)"
    return UNITS.get(metric, metric)


def _scale(metric: str) -> float:
    return 1e-6 if metric == "median_s" else 1.0


def _scaled(value: float, metric: str) -> str:
    return f"{value / _scale(metric):.4g}"


def short_case(case: str) -> str:
    """``copy[direction=h2d,host_memory=pinned,bytes=4096]`` -> ``copy h2d pinned 4096``."""
    match = re.fullmatch(r"([^\[]+)\[(.*)\]", case)
    if not match:
        return case
    values = [part.split("=", 1)[-1] for part in match.group(2).split(",")]
    return f"{match.group(1)} " + " ".join(values)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", text).strip("_")[:80]
