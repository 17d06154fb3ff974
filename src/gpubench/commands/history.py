"""gpubench history: every stored run of each case, per machine: a table (or JSON), the change
points of each case's level, and PNG trends."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

NAME = "history"
HELP = "per-case trend over all stored runs, grouped by machine (GPU model and host): change points, plots"
FORMATS = ("table", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--case", metavar="PATTERN", help="only cases whose name contains PATTERN (or matches it, with * or ?)"
    )
    parser.add_argument(
        "--machine", metavar="NAME", help="only this machine: its host name or its key (<GPU model> @ <host>)"
    )
    parser.add_argument("--results", default="results", help="results store directory (default: results/)")
    parser.add_argument("--out", help="where the PNGs go (default: <results>/history/ for a local store)")
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")


def main(args: argparse.Namespace) -> int:
    from gpubench.analysis.baseline import night_marks
    from gpubench.analysis.changepoints import ChangePointsUnavailable, change_points
    from gpubench.analysis.history import case_history
    from gpubench.files import strict_json
    from gpubench.files.safe import default_output
    from gpubench.files.terminal import printable
    from gpubench.store.figures import read_figures
    from gpubench.store.index import run_index
    from gpubench.store.location import locate
    from gpubench.store.machine import machines_named
    from gpubench.store.read import case_pattern_regex, list_runs
    from gpubench.store.schema import StoreError
    from gpubench.views.changepoints import lines
    from gpubench.views.figures.history import plot_history
    from gpubench.views.history import summary
    from gpubench.views.text_table import lines_of

    index = run_index(args.results, machine=args.machine)  # listed once: list_runs and read_figures share it
    runs = list_runs(index)
    if runs.empty:
        raise StoreError(f"no run in {args.results}")
    regex = case_pattern_regex(args.case) if args.case else None
    machines = machines_named(runs, args.machine) if args.machine else None
    frame = read_figures(index, machine=machines, case_regex=regex)
    history = case_history(frame, args.case)
    if history.empty and args.case:
        raise StoreError(f"no measured case matches {printable(args.case)!r} in {args.results}")
    if history.empty:
        raise StoreError(f"no measured case in {args.results} (every stored case was skipped)")
    matched = frame[frame["run_id"].isin(set(history["run_id"])) & frame["case"].isin(set(history["case"]))]
    try:
        cache = args.results if locate(args.results).is_local else None  # a remote store: not cached
        marks = night_marks(args.results, set(matched["run_id"]))  # the shown runs' nights only
        points, unavailable = change_points(matched, marks, cache), None
    except ChangePointsUnavailable as error:
        points, unavailable = None, str(error)
    if args.out:
        out = Path(args.out)
    elif locate(args.results).is_local:
        out = default_output(args.results, "history")  # no planted link followed
    else:
        out = None  # a remote store: figures only where --out says
    plots = plot_history(history, out, change_points=points, environment=runs) if out is not None else []
    if args.format == "json":
        document = {
            "change_points": None if points is None else [point.as_dict() for point in points],
            "cases": _case_rows(history),
            "plots": [str(path) for path in plots],
        }
        if unavailable:
            document["change_points_unavailable"] = unavailable
        print(strict_json.dumps(document))
    else:
        print(summary(history))
        print()
        print(lines_of(lines(points)) if points is not None else f"# {unavailable}")
        for path in plots:
            print(printable(path))
    if unavailable:
        print(f"gpubench: {unavailable}", file=sys.stderr)
    return 0


def _case_rows(history: pd.DataFrame) -> list[dict]:
    """Per machine and case: runs, headline metric, first, last, min and max of its figure."""
    rows = []
    for (machine, suite, case), group in history.groupby(["machine", "suite", "case"], sort=False):
        values = group["value"].astype(float)
        figures = {"first": values.iloc[0], "last": values.iloc[-1], "min": values.min(), "max": values.max()}
        rows.append(
            {
                "machine": machine,
                "suite": suite,
                "case": case,
                "runs": len(group),
                "metric": str(group["metric"].iloc[-1]),
                **{key: float(value) if math.isfinite(value) else None for key, value in figures.items()},
            }
        )
    return rows
