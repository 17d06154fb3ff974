"""gpubench history: every stored run of each case, per machine, as a table and PNG trends."""

from __future__ import annotations

import argparse
from pathlib import Path

from gpubench.history import HISTORY_COLUMNS, case_history, plot_history, summary
from gpubench.store import StoreError, list_runs, read_results
from gpubench.store.read import case_pattern_regex

NAME = "history"
HELP = "per-case trend over all stored runs, grouped by machine (GPU model and host), plotted"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--case", metavar="PATTERN", help="only cases whose name contains PATTERN (or matches it, with * or ?)"
    )
    parser.add_argument("--results", default="results", help="results store directory (default: results/)")
    parser.add_argument("--out", help="where the PNGs go (default: <results>/history/)")


def main(args: argparse.Namespace) -> int:
    runs = list_runs(args.results)
    if runs.empty:
        raise StoreError(f"no run in {args.results}")
    regex = case_pattern_regex(args.case) if args.case else None
    frame = read_results(args.results, status="ok", case_regex=regex, columns=HISTORY_COLUMNS)
    history = case_history(frame, args.case)
    if history.empty:
        raise StoreError(f"no measured case matches {args.case!r} in {args.results}")
    print(summary(history))
    out = Path(args.out) if args.out else Path(args.results) / "history"
    for path in plot_history(history, out, environment=runs):
        print(path)
    return 0
