"""Figures from results DataFrames: one module per suite, each ``plot(frame, out_dir) -> [png paths]``.

Plotters read only the DataFrame the store returns; they never measure or read files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on benchmark machines or in CI

import pandas as pd

from gpubench.suites.collectives import plot as collectives
from gpubench.suites.conv import plot as conv
from gpubench.suites.copy import plot as copy

Plotter = Callable[[pd.DataFrame, Path], list[Path]]
PLOTTERS: dict[str, Plotter] = {
    "copy": copy.plot,
    "allreduce": collectives.plot,
    "conv": conv.plot,
}


def plot_run(frame: pd.DataFrame, out_dir: str | os.PathLike) -> list[Path]:
    """Draw every figure the measured rows of ``frame`` support; return the PNG paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    measured = frame[frame["status"] == "ok"] if "status" in frame else frame
    written: list[Path] = []
    for suite, plotter in PLOTTERS.items():
        rows = measured[measured["suite"] == suite]
        if not rows.empty:
            written += plotter(rows.dropna(axis="columns", how="all"), out)
    return written
