"""gpubench ingest: add a ``--benchmark-json`` file to the results store as one parquet run."""

from __future__ import annotations

import argparse

NAME = "ingest"
HELP = "add a pytest-benchmark --benchmark-json file to the results store (parquet)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("json", help="a file written by pytest --benchmark-json")
    parser.add_argument("--results", default="results", help="results store directory (default: results/)")


def main(args: argparse.Namespace) -> int:
    from gpubench.store.ingest import ingest

    run = ingest(args.json, args.results)
    for note in run.notes:
        print(f"note: {note}")
    print(f"ingested run {run.run_id}: {run.measured} measured, {run.skipped} skipped -> {run.path}")
    return 0
