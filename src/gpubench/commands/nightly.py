"""gpubench nightly: run, judge against the machine's history, confirm, report; exit 1 on a regression."""

from __future__ import annotations

import argparse

from gpubench.analysis.rules import DEFAULT_BASELINE_RUNS, DEFAULT_THRESHOLD, MIN_BASELINE_RUNS, parse_threshold
from gpubench.commands.run import add_suite_arguments, run_request

NAME = "nightly"
HELP = "run the suites, compare with the last good runs of this machine, write a report; exit 1 on a regression"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_suite_arguments(parser)
    parser.add_argument(
        "--baseline-runs",
        type=int,
        default=DEFAULT_BASELINE_RUNS,
        help=f"baseline: the last N good runs of this machine (default: {DEFAULT_BASELINE_RUNS})",
    )
    parser.add_argument(
        "--min-baseline-runs",
        type=int,
        default=MIN_BASELINE_RUNS,
        help=f"baseline runs a case needs before it can fail a night (default: {MIN_BASELINE_RUNS})",
    )
    parser.add_argument(
        "--threshold", default=f"{DEFAULT_THRESHOLD:.0%}", help="smallest change worth a verdict (default: 5%%)"
    )
    parser.add_argument(
        "--no-confirm", action="store_true", help="do not rerun slower cases to confirm them (faster, less robust)"
    )
    parser.add_argument(
        "--accept",
        metavar="RUN_ID",
        help="run nothing: accept that night's slowdowns as the new normal (they then serve as baseline)",
    )
    # gpubench site after the night (docs/site.md): the store's static site, rebuilt where it changed.
    parser.add_argument("--site", metavar="DIR", help="after the night, rebuild the static site in DIR (gpubench site)")


def main(args: argparse.Namespace) -> int:
    from gpubench.analysis.baseline import accept_night
    from gpubench.nightly.job import nightly

    if args.accept is not None:
        for run in accept_night(args.results, args.accept):
            print(f"accepted run {run}: its cases serve as baseline from now on")
        return 0
    threshold = parse_threshold(args.threshold)
    if args.baseline_runs < 1 or args.min_baseline_runs < 1:
        raise ValueError("--baseline-runs and --min-baseline-runs must be at least 1")
    night = nightly(
        args.results,
        run_request(args),
        baseline_runs=args.baseline_runs,
        threshold=threshold,
        min_runs=args.min_baseline_runs,
        confirm=not args.no_confirm,
    )
    print()
    for line in night.lines:
        print(line)
    if night.status == "stopped":
        print(f"nightly stopped: run {night.run_id} stored, no report")
        return night.exit_code
    print(f"nightly {night.status}: report {night.report_at} (and report.md)")
    if args.site:
        from gpubench.views.site.build import build_site

        built = build_site(args.results, args.site)
        print(f"site {built.out / 'index.html'}: {len(built.written)} of {built.pages} pages rewritten")
    if not args.quiet:
        from gpubench.commands import COMMANDS
        from gpubench.views.next_steps import next_steps

        print("\n".join(next_steps(args.results, night.run_id, [], site="site" in COMMANDS)))
    return night.exit_code
