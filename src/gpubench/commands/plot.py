"""gpubench plot: PNG figures of one stored run (the latest by default)."""

from __future__ import annotations

import argparse
from pathlib import Path

from gpubench.store import latest_run_id, read_results

NAME = "plot"
HELP = "draw PNG figures of a stored run"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", default="results", help="results store directory (default: results/)")
    parser.add_argument("--run", help="run id (default: the latest run)")
    parser.add_argument("--out", help="output directory (default: <results>/plots/<run id>/)")


def main(args: argparse.Namespace) -> int:
    from gpubench.plots import plot_run  # matplotlib: when drawing, not at every CLI start

    run_id = args.run or latest_run_id(args.results)
    out = Path(args.out) if args.out else Path(args.results) / "plots" / run_id
    for path in plot_run(read_results(args.results, run_id), out) or []:
        print(path)
    return 0
