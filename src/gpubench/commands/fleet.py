"""gpubench fleet: every machine of a GPU model against its peers; exit 1 if one is slower beyond the rule."""

from __future__ import annotations

import argparse
from pathlib import Path

from gpubench.analysis.rules import MAD_FACTOR, MIN_GAP, MIN_PEERS, parse_threshold

NAME = "fleet"
HELP = "set each machine's latest figures against its peers (same GPU model); exit 1 if one is slower"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", nargs="+", metavar="SUITE", help="only these suites")
    parser.add_argument(
        "--case", metavar="PATTERN", help="only cases whose name contains PATTERN (or matches it, with * or ?)"
    )
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output (default: table)")
    parser.add_argument("--results", default="results", help="results store: folder or fsspec URL (default: results/)")
    parser.add_argument("--out", help="where the PNG goes (default: <results>/fleet/ for a local store)")
    parser.add_argument(
        "--min-peers", type=int, default=MIN_PEERS, help=f"peers a machine needs to be judged (default: {MIN_PEERS})"
    )
    parser.add_argument(
        "--min-gap", default=f"{MIN_GAP:.0%}", help=f"smallest difference to the peers worth flagging ({MIN_GAP:.0%})"
    )


def main(args: argparse.Namespace) -> int:
    from gpubench.analysis.fleet import judge_fleet, latest_figures
    from gpubench.files.terminal import printable
    from gpubench.store.read import case_pattern_regex
    from gpubench.store.schema import StoreError
    from gpubench.views.fleet import table, to_json

    regex = case_pattern_regex(args.case) if args.case else None
    latest, runs = latest_figures(args.results, args.suite, regex)
    if latest.empty and args.case:
        raise StoreError(f"no measured case matches {printable(args.case)!r} in {args.results}")
    if latest.empty:
        raise StoreError(f"no measured case to set against peers in {args.results}")
    fleet = judge_fleet(latest, runs, args.min_peers, MAD_FACTOR, parse_threshold(args.min_gap))
    plots = _plots(fleet, args)
    if args.format == "json":
        print(to_json(fleet, [str(path) for path in plots]))
    else:
        print(table(fleet))
        for path in plots:
            print(path)
    return fleet.exit_code


def _plots(fleet, args: argparse.Namespace) -> list[Path]:
    from gpubench.files.safe import default_output
    from gpubench.store.location import locate

    if args.out:
        out = Path(args.out)
    elif locate(args.results).is_local:
        out = default_output(args.results, "fleet")  # None: a store this user cannot write
        if out is None:
            return []
    else:
        return []  # a remote store: figures only where --out says
    from gpubench.views.figures.fleet import plot_fleet  # matplotlib only when drawing

    return plot_fleet(fleet, out)
