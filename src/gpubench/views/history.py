"""Per-case trends as text: the history table, units, and short case labels for every view.

The data (one row per case and run, its headline figure and band) is ``analysis.history``'s; this
module only renders it.
"""

from __future__ import annotations

import re

import pandas as pd

from gpubench.suites import UNITS
from gpubench.views import text_table

SUMMARY_HEADINGS = ("case", "runs", "first", "last", "min", "max", "max/min", "last vs median")
MAX_CASES = 1000  # cases a machine's table shows; --format json lists every one


def summary(history: pd.DataFrame) -> str:
    """A text table: per machine and case, how many runs, first, last, min, max and spread."""
    if history.empty:
        return "no measured case in the store"
    lines = []
    for machine, rows in history.groupby("machine", sort=False):
        lines.append(f"# {machine}")
        cells = []
        groups = rows.groupby(["suite", "case"], sort=False)
        for number, ((_, case), group) in enumerate(groups):
            if number == MAX_CASES:
                break
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
        if groups.ngroups > MAX_CASES:
            lines.append(
                f"# {groups.ngroups - MAX_CASES} more case(s) not shown (--case narrows; --format json lists all)"
            )
        lines.append("")
    return text_table.lines_of(lines).rstrip()


def unit_of(metric: str) -> str:
    if metric == "median_s":
        return "time (us)"
    return UNITS.get(metric, metric)


def _scale(metric: str) -> float:
    return 1e-6 if metric == "median_s" else 1.0


def _scaled(value: float, metric: str) -> str:
    return f"{value / _scale(metric):.4g}"


def case_values(case: str) -> list[str]:
    """``copy[direction=h2d,host_memory=pinned,bytes=4096]`` -> ``["h2d", "pinned", "4096"]``."""
    match = re.fullmatch(r"([^\[]+)\[(.*)\]", case)
    if not match:
        return [case]
    return [part.split("=", 1)[-1] for part in match.group(2).split(",")]


def short_case(case: str) -> str:
    """``copy[direction=h2d,host_memory=pinned,bytes=4096]`` -> ``copy h2d pinned 4096``."""
    suite = case.split("[", 1)[0]
    values = case_values(case)
    return case if values == [case] else f"{suite} " + " ".join(values)
