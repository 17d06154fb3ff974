"""gpubench plot: PNG figures of one stored run (the latest by default)."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "plot"
HELP = "draw PNG figures of a stored run"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", default="results", help="results store directory (default: results/)")
    parser.add_argument("--run", help="run id (default: the latest run)")
    parser.add_argument("--out", help="output directory (default: <results>/plots/<run id>/)")


def main(args: argparse.Namespace) -> int:
    from gpubench.files.safe import safe_folder
    from gpubench.store.read import latest_run_id, read_results
    from gpubench.store.run_id import validate_run_id
    from gpubench.views.figures.run import plot_run

    run_id = validate_run_id(args.run) if args.run is not None else latest_run_id(args.results)
    frame = read_results(args.results, run_id)
    if args.out:
        out = Path(args.out)
    else:
        try:
            out = safe_folder(args.results, "plots", run_id)  # no planted link followed
        except OSError as error:  # another user's store, a read-only mount
            where = Path(args.results, "plots", run_id)
            raise OSError(f"{where} cannot be written ({error.strerror or error}); give --out DIR") from None
    for path in plot_run(frame, out) or []:
        print(path)
    return 0
