"""Figures of a stored run: each registered suite's plotter, ``plot(frame, out_dir) -> [png paths]``.

Plotters read only the DataFrame the store returns; they never measure or read files. Each is
named in the suite registry (``gpubench.suites``) and imported when its suite has rows to draw.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on benchmark machines or in CI

import pandas as pd

from gpubench.suites import SUITES


def plot_run(frame: pd.DataFrame, out_dir: str | os.PathLike) -> list[Path]:
    """Draw every figure the measured rows of ``frame`` support; return the PNG paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    measured = frame[frame["status"] == "ok"] if "status" in frame else frame
    written: list[Path] = []
    for suite in SUITES.values():
        rows = measured[measured["suite"] == suite.name].dropna(axis="columns", how="all")
        plotter = suite.plotter() if not rows.empty else None
        missing = [column for column in suite.plot_columns if column not in rows]
        if plotter is not None and missing:
            print(f"gpubench: warning: no {suite.name} figure: its rows lack {', '.join(missing)}", file=sys.stderr)
        elif plotter is not None:
            written += plotter(rows, out)
    return written
