"""gpubench compare: judge a candidate run against a baseline run (or several), case by case.

Each side is a pytest-benchmark JSON file (from gpubench or any other pytest-benchmark suite) or
a run id in the results store. With one baseline run, each case's between-run noise comes from
the store's history of that case on the candidate's machine, else from a stated default.
Exit status: 0 nothing slower, 1 something slower, 2 bad input.
"""

from __future__ import annotations

import argparse
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from gpubench.analysis.rules import DEFAULT_THRESHOLD, parse_threshold
from gpubench.views.compare import FORMATS

if TYPE_CHECKING:
    import pandas as pd

NAME = "compare"
HELP = "compare a candidate run with a baseline run (or several): slower, faster, same or noisy per case"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "baseline",
        nargs="+",
        metavar="BASELINE",
        help="baseline: a --benchmark-json file or a stored run id; give several to weigh between-run noise",
    )
    parser.add_argument("candidate", metavar="CANDIDATE", help="candidate: a --benchmark-json file or a stored run id")
    parser.add_argument(
        "--threshold", default=f"{DEFAULT_THRESHOLD:.0%}", help="smallest change worth a verdict (default: 5%%)"
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    parser.add_argument("--results", default="results", help="results store for run ids (default: results/)")


def main(args: argparse.Namespace) -> int:
    import pandas as pd

    from gpubench.analysis.compare import compare_frames
    from gpubench.store.schema import StoreError
    from gpubench.views.compare import render

    threshold = parse_threshold(args.threshold)
    stored = read_stored([*args.baseline, args.candidate], Path(args.results))
    baseline = pd.concat([load_side(spec, Path(args.results), stored) for spec in args.baseline], ignore_index=True)
    runs = baseline.groupby("run_id", sort=False)["case"].size()
    if len(runs) < len(args.baseline):
        raise StoreError("the same baseline run was given twice")
    candidate = load_side(args.candidate, Path(args.results), stored)
    priors = history_priors(Path(args.results), candidate) if len(runs) == 1 else None
    comparison = compare_frames(baseline, candidate, threshold, priors=priors)
    if not comparison.cases:
        unmatched = len(comparison.unmatched)
        raise StoreError(
            f"no case measured on both sides ({unmatched} on one side only or skipped); nothing to compare"
        )
    print(render(comparison, args.format))
    return 1 if comparison.slower else 0


def history_priors(results: Path, candidate: pd.DataFrame) -> dict:
    """Between-run noise per case from the store, if there is a readable one (else: the default)."""
    from gpubench.analysis.noise import noise_priors
    from gpubench.store.figures import read_figures
    from gpubench.store.machine import machine_key
    from gpubench.store.schema import StoreError

    machine = str(machine_key(candidate).iloc[0])
    cases = set(candidate["case"].astype(str))
    try:  # the figures cache: this machine's measured rows of these cases, no run file opened
        store = read_figures(results, machine=machine, cases=cases)
    except StoreError:
        return {}
    return noise_priors(store, candidate)


def read_stored(specs: list[str], results: Path) -> dict[str, pd.DataFrame]:
    """The stored runs among ``specs``, read in one pass over the store (its index loads once);
    a spec that is a stored run id is that run, even where a file of that name is in the working
    directory (write ``./NAME`` for the file). Empty when they cannot be read: ``load_side`` says why."""
    from gpubench.store.index import run_index
    from gpubench.store.read import read_results
    from gpubench.store.schema import StoreError

    candidates = list(dict.fromkeys(spec for spec in specs if _looks_like_run_id(spec)))
    if not candidates:
        return {}
    try:
        index = run_index(results, warn=False)  # runs asked for by id: only their files matter
        known = set(index.runs["run_id"].tolist())
        run_ids = [spec for spec in candidates if spec in known]
        rows = read_results(index, run_ids=run_ids) if run_ids else None
    except StoreError:
        return {}
    if rows is None:
        return {}
    return {str(run): frame.reset_index(drop=True) for run, frame in rows.groupby("run_id", sort=False)}


def _looks_like_run_id(spec: str) -> bool:
    from gpubench.store.run_id import validate_run_id
    from gpubench.store.schema import StoreError

    try:
        validate_run_id(spec)
    except StoreError:
        return False
    return not spec.endswith(".json")


def _is_document(path: Path) -> bool:
    """A file or a pipe (``<(cat run.json)``: process substitution is a pipe, not a file)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) or stat.S_ISFIFO(mode)


def load_side(spec: str, results: Path, stored: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """A JSON file's cases, or a stored run's (from ``stored`` when it holds the run)."""
    from gpubench.store.ingest import frame_from_json, load_json
    from gpubench.store.read import read_results
    from gpubench.store.schema import StoreError

    path = Path(spec)
    if stored and spec in stored:
        return stored[spec]
    if _is_document(path):
        frame = frame_from_json(load_json(path), source=path.name)
        if frame.empty:
            raise StoreError(f"{spec}: holds no benchmark")
        return frame
    if not _looks_like_run_id(spec):
        raise StoreError(f"{spec}: no such file" if not path.exists() else f"{spec}: not a file or a pipe")
    try:
        return read_results(results, spec)
    except StoreError as error:
        if f"{spec}.parquet" in str(error):  # the run is there, its file is not readable: say why
            raise
        raise StoreError(f"{spec}: neither a file nor a run id in {results}") from None
