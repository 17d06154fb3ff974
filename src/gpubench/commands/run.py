"""gpubench run: the main job (gpubench.pipeline: pytest benchmarks/ -> store -> plots -> summary)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gpubench.suites.profiles import DEFAULT_PROFILE, PROFILES

if TYPE_CHECKING:
    from gpubench.pipeline import RunRequest

NAME = "run"
HELP = "run the benchmark suites, store the results as parquet, plot them and print a summary"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_suite_arguments(parser)


def add_suite_arguments(parser: argparse.ArgumentParser) -> None:
    """What selects and stores a run of the suites; shared by every command that runs them."""
    parser.add_argument("--profile", choices=PROFILES, default=DEFAULT_PROFILE, help="quick (default) or full")
    parser.add_argument("--suite", nargs="+", metavar="SUITE", help="suites to run (default: all in benchmarks/)")
    parser.add_argument(
        "--results",
        default="results",
        help="results store: a folder (local or shared) or an fsspec URL, s3://, gs://, file:// (default: results/)",
    )
    parser.add_argument("--benchmarks", help="benchmark directory (default: the checkout's benchmarks/)")
    add_output_arguments(parser)
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: extra arguments for pytest")


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """``-v`` (pytest's / each round's own lines) and ``-q`` (only the final tables and paths)."""
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true", help="show pytest's line per test instead of bars")
    loudness.add_argument("-q", "--quiet", action="store_true", help="no progress: only the final tables and paths")


def output_mode(args: argparse.Namespace) -> str:
    """``verbose``, ``quiet`` or ``default`` (gpubench.views.progress.MODES)."""
    return "verbose" if getattr(args, "verbose", False) else "quiet" if getattr(args, "quiet", False) else "default"


def run_request(args: argparse.Namespace) -> RunRequest:
    """The run the parsed arguments ask for (``add_suite_arguments``)."""
    from gpubench.pipeline import RunRequest

    suites = tuple(args.suite) if args.suite else None
    return RunRequest(args.profile, suites, args.benchmarks, tuple(args.pytest_args or ()), output_mode(args))


def main(args: argparse.Namespace) -> int:
    from gpubench.commands import COMMANDS
    from gpubench.pipeline import run_suites
    from gpubench.views.next_steps import next_steps

    outcome = run_suites(run_request(args), args.results)
    print(outcome.report)
    if not args.quiet:
        print("\n".join(next_steps(args.results, outcome.run_id, outcome.plots, site="site" in COMMANDS)))
    return outcome.exit_code
