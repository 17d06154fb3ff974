"""Figures from results DataFrames: one module per suite, each ``plot(frame, out_dir) -> [png paths]``.

Plotters read only the DataFrame the store returns; they never measure or read files.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on benchmark machines or in CI

import pandas as pd

from gpubench.plots import allreduce
from gpubench.suites.conv import plot as conv
from gpubench.suites.copy import plot as copy

Plotter = Callable[[pd.DataFrame, Path], list[Path]]
PLOTTERS: dict[str, Plotter] = {
    "copy": copy.plot,
    "allreduce": allreduce.plot,
    "conv": conv.plot,
}
# The columns each plotter reads: rows without them (another suite that named a group "copy", say)
# are not drawn, and that is said in one line on stderr.
NEEDS = {
    "copy": ("direction", "host_memory", "bytes", "gbps", "q1_s", "q3_s"),
    "allreduce": ("backend", "device", "world_size", "nodes", "dtype", "bytes", "busbw_gbps"),
    "conv": ("device", "dtype", "allow_tf32", "layout", "shape", "batch", "scenario", "direction",
             "cudnn_benchmark", "cudnn_deterministic", "median_s"),
}  # fmt: skip


def plot_run(frame: pd.DataFrame, out_dir: str | os.PathLike) -> list[Path]:
    """Draw every figure the measured rows of ``frame`` support; return the PNG paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    measured = frame[frame["status"] == "ok"] if "status" in frame else frame
    written: list[Path] = []
    for suite, plotter in PLOTTERS.items():
        rows = measured[measured["suite"] == suite].dropna(axis="columns", how="all")
        missing = [column for column in NEEDS.get(suite, ()) if column not in rows]
        if not rows.empty and missing:
            print(f"gpubench: warning: no {suite} figure: its rows lack {', '.join(missing)}", file=sys.stderr)
        elif not rows.empty:
            written += plotter(rows, out)
    return written
