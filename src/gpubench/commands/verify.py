"""gpubench verify: parse the arguments and hand them to gpubench.verify (imported only when run)."""

from __future__ import annotations

import argparse
import sys

from gpubench.commands.run import add_output_arguments, output_mode
from gpubench.suites import verify_checks  # the check names; torch is imported only by the checks

NAME = "verify"
HELP = (
    "measure each suite's headline cases with gpubench's method and a plain reference, in interleaved rounds; "
    "print their ratio, store it (suite verify); exit 1 when a ratio falls outside the tolerance"
)
SUITES = tuple(verify_checks())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--suite",
        nargs="+",
        choices=SUITES,
        metavar="SUITE",
        help=f"checks to run (default: all of {', '.join(SUITES)})",
    )
    parser.add_argument("--results", default="results", help="results store directory (default: results/)")
    parser.add_argument("--json", action="store_true", help='print strict JSON {"checks": [...]} instead of the table')
    parser.add_argument(
        "--tolerance", default="5%", help="largest |ratio - 1| that passes (default: 5%%; 10%% on a shared 2-core host)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per check (at least 5, the default)")
    parser.add_argument("--no-store", action="store_true", help="print only; store nothing")
    add_output_arguments(parser)
    # A hook for showing that verify catches a wrong method: every reference reports FACTOR x its time.
    parser.add_argument("--reference-bias", type=float, help=argparse.SUPPRESS)


def main(args: argparse.Namespace) -> int:
    from gpubench.analysis.rules import parse_tolerance
    from gpubench.measure.agreement import MIN_ROUNDS
    from gpubench.run.document import dumps
    from gpubench.verify import record, runner, table  # record needs pandas, the checks torch

    tolerance = parse_tolerance(args.tolerance)
    if args.rounds < MIN_ROUNDS:
        raise ValueError(f"--rounds must be at least {MIN_ROUNDS}, got {args.rounds}")
    if args.reference_bias is not None and not args.reference_bias > 0:
        raise ValueError(f"--reference-bias must be positive, got {args.reference_bias}")
    suites = args.suite or list(SUITES)
    from gpubench.views.progress import Progress, renderer_for

    mode = output_mode(args)
    # The display goes to stderr: stdout is the table (or --json) alone.
    display = Progress(renderer_for(mode, sys.stderr)) if mode == "default" else None
    progress = _progress if mode == "verbose" else None
    try:
        outcomes = runner.run_checks(suites, args.rounds, tolerance, args.reference_bias, progress, display)
    finally:
        if display:
            display.close()
    run_id = None
    if not args.no_store:
        stored = record.store(outcomes, args.results)
        run_id = stored.run_id
        print(f"stored as run {run_id} (suite verify) in {stored.path}", file=sys.stderr)
    if args.json:
        print(dumps(table.as_json(outcomes, tolerance, run_id)))
    else:
        print(table.text(outcomes, tolerance, args.rounds))
    return runner.exit_code(outcomes)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
