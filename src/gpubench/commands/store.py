"""gpubench store check: list the run files readers skip, and with --quarantine move them aside.

Exit status: 0 when every run file is readable (or was moved aside), 1 when bad files remain or
a file of a newer gpubench makes readers refuse the store, 2 when the store cannot be inspected.
"""

from __future__ import annotations

import argparse

NAME = "store"
HELP = "look after the results store: 'store check' lists unreadable run files, --quarantine moves them aside"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="read every run file as the readers do; list those they skip")
    check.add_argument("--results", default="results", help="results store directory (default: results/)")
    check.add_argument(
        "--quarantine",
        action="store_true",
        help="move the files readers skip to <results>/quarantine/ (nothing is deleted)",
    )


def main(args: argparse.Namespace) -> int:
    from gpubench.files.terminal import printable
    from gpubench.store.check import check_store, quarantine

    found = check_store(args.results)
    for _, why in found.bad:
        print(f"bad: {printable(why)}")
    for _, why in found.newer:
        print(f"newer: {printable(why)} (left in place; every reader refuses this store until gpubench is upgraded)")
    for path in found.debris:
        print(f"temporary: {printable(path)} (a writer's; removed by the next write once an hour old)")
    remaining = len(found.bad)
    if args.quarantine and found.bad:
        result = quarantine(args.results, [path for path, _ in found.bad])
        for source, target in result.moved:
            print(f"moved {printable(source)} -> {printable(target)}")
        for source, why in result.failed:
            print(f"not moved: {printable(source)} ({printable(why)})")
        remaining = len(result.failed)
    print(f"{found.files} run file(s), {len(found.bad)} bad, {len(found.newer)} newer than this gpubench")
    return 1 if remaining or found.newer else 0
