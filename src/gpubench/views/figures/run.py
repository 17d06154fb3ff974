"""The figures of one run: each registered suite's plotters, ``plot(frame, out_dir) -> [png paths]``.

Plotters read only the DataFrame the store returns; they never measure or read files. Each is
named in the suite registry (``gpubench.suites``) and imported when its suite has rows to draw.
Figures are independent and drawing them is CPU work, so with several plotters and several
cores they are drawn in forked worker processes (the parent's imports are inherited); the
paths come back in the registry's order either way.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on benchmark machines or in CI

import pandas as pd
from matplotlib import font_manager

from gpubench.suites import SUITES


def plot_run(frame: pd.DataFrame, out_dir: str | os.PathLike) -> list[Path]:
    """Draw every figure the measured rows of ``frame`` support; return the PNG paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    measured = frame[frame["status"] == "ok"] if "status" in frame else frame
    tasks = []
    for suite in SUITES.values():
        rows = measured[measured["suite"] == suite.name].dropna(axis="columns", how="all")
        if rows.empty:
            continue
        plotters = suite.plotters()
        missing = [column for column in suite.plot_columns if column not in rows]
        if plotters and missing:
            print(f"gpubench: warning: no {suite.name} figure: its rows lack {', '.join(missing)}", file=sys.stderr)
            continue
        complete = rows[list(suite.plot_columns)].notna().all(axis="columns") if suite.plot_columns else None
        if complete is not None and not complete.all():  # e.g. a benchmark without gpubench's case block
            print(f"gpubench: warning: {int((~complete).sum())} {suite.name} row(s) lack what its figure needs "
                  f"({', '.join(suite.plot_columns)}); not drawn", file=sys.stderr)  # fmt: skip
            rows = rows[complete]
        if plotters and not rows.empty:
            tasks += [(plotter, rows) for plotter in plotters]
    workers = min(len(tasks), os.cpu_count() or 1)
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [path for plotter, rows in tasks for path in _drawn(plotter, rows, out)]
    font_manager.get_font(font_manager.findfont(font_manager.FontProperties()))  # loaded once, before the fork
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        drawn = [pool.submit(_drawn, plotter, rows, out) for plotter, rows in tasks]
        return [path for future in drawn for path in future.result()]


def _drawn(plotter, rows: pd.DataFrame, out: Path) -> list[Path]:
    """A plotter's figures; one whose rows it cannot draw (a size stored as text, a figure of
    another type) is named in one warning line and the others are drawn. A refused write
    (``UnsafePathError``: a planted link) is no drawing problem: it stays an error."""
    from gpubench.files.safe import UnsafePathError

    try:
        return list(plotter(rows, out) or [])
    except UnsafePathError:
        raise
    except (ValueError, TypeError, KeyError, ArithmeticError) as error:
        name = getattr(plotter, "__module__", "a plotter")
        why = " ".join(f"{type(error).__name__}: {error}".split())[:160]
        print(f"gpubench: warning: no figure from {name}: its rows do not draw ({why})", file=sys.stderr)
        return []
