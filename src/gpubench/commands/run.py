"""gpubench run: the main job. pytest benchmarks/ -> --benchmark-json -> store -> plots -> summary.

It runs the documented interface (``pytest benchmarks/ --benchmark-json ...``) in a subprocess,
so what the job stores is exactly what a user of plain pytest gets.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from gpubench.plots import plot_run
from gpubench.profiles import DEFAULT_PROFILE, PROFILES
from gpubench.store import StoreError, ingest, read_results
from gpubench.tables import summary

NAME = "run"
HELP = "run the benchmark suites, store the results as parquet, plot them and print a summary"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_suite_arguments(parser)


def add_suite_arguments(parser: argparse.ArgumentParser) -> None:
    """What selects and stores a run of the suites; shared by every command that runs them."""
    parser.add_argument("--profile", choices=PROFILES, default=DEFAULT_PROFILE, help="quick (default) or full")
    parser.add_argument("--suite", nargs="+", metavar="SUITE", help="suites to run (default: all in benchmarks/)")
    parser.add_argument("--results", default="results", help="results store directory (default: results/)")
    parser.add_argument("--benchmarks", help="benchmark directory (default: the checkout's benchmarks/)")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: extra arguments for pytest")


def main(args: argparse.Namespace) -> int:
    outcome = run_suites(args.profile, args.suite, Path(args.results), args.benchmarks, args.pytest_args)
    print(outcome.report)
    return outcome.exit_code


class Outcome:
    def __init__(self, run_id: str, exit_code: int, report: str, plots: list[Path]) -> None:
        self.run_id, self.exit_code, self.report, self.plots = run_id, exit_code, report, plots


def run_suites(
    profile: str,
    suites: list[str] | None,
    results: Path,
    benchmarks: str | None = None,
    pytest_args: list[str] | None = None,
) -> Outcome:
    """Run, ingest, plot; the outcome's exit code is pytest's failure (1) or 0."""
    targets = benchmark_files(find_benchmarks(benchmarks), suites)
    results.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".gpubench-run-", dir=results) as scratch:
        json_path = Path(scratch) / "benchmark.json"
        command = [
            sys.executable, "-m", "pytest", *map(str, targets),
            f"--benchmark-json={json_path}", f"--gpubench-profile={profile}",
            "-v", "-rs", "-p", "no:cacheprovider", "--benchmark-columns=median,iqr,rounds",
            *[arg for arg in (pytest_args or []) if arg != "--"],
        ]  # fmt: skip
        print("$ " + " ".join(command), flush=True)
        pytest_status = subprocess.run(command, env=_pytest_env()).returncode
        if pytest_status not in (0, 1) or not json_path.exists():
            raise StoreError(f"pytest exited with status {pytest_status} and wrote no results; nothing stored")
        stored = ingest(json_path, results)
        archive = results / "json"
        archive.mkdir(exist_ok=True)
        os.replace(json_path, archive / f"{stored.run_id}.json")
    frame = read_results(results, stored.run_id)
    plots = plot_run(frame, results / "plots" / stored.run_id)
    lines = [
        summary(frame),
        "",
        f"run {stored.run_id}: {stored.measured} measured, {stored.skipped} skipped",
        f"  parquet: {stored.path}",
        f"  json:    {results / 'json' / (stored.run_id + '.json')}",
        *[f"  plot:    {path}" for path in plots],
    ]
    if pytest_status == 1:
        lines.append("some cases FAILED (see pytest's output above); what was measured is stored")
    return Outcome(stored.run_id, 1 if pytest_status == 1 else 0, "\n".join(lines), plots)


def find_benchmarks(explicit: str | None) -> Path:
    """The benchmarks/ folder: given, beside the checkout's src/, or in the current directory."""
    candidates = (
        [Path(explicit)] if explicit else [Path(__file__).resolve().parents[3] / "benchmarks", Path("benchmarks")]
    )
    for candidate in candidates:
        if (candidate / "conftest.py").is_file():
            return candidate
    raise StoreError(f"no benchmarks/ folder found (looked in {', '.join(map(str, candidates))}); pass --benchmarks")


def benchmark_files(folder: Path, suites: list[str] | None) -> list[Path]:
    if not suites:
        return [folder]
    files = []
    for suite in suites:
        path = folder / f"test_{suite}.py"
        if not path.is_file():
            known = sorted(p.stem.removeprefix("test_") for p in folder.glob("test_*.py"))
            raise StoreError(f"unknown suite {suite!r}; known suites: {', '.join(known)}")
        files.append(path)
    return files


def _pytest_env() -> dict[str, str]:
    # The subprocess must import this very gpubench, installed or straight from a checkout.
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    return env
