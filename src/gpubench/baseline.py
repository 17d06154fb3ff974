"""Baselines from history: per case, the last N good runs of the same machine.

A machine is its GPU model and host name (``compare.machine_key``): figures from another GPU or
host say nothing about this one. A run is good material for a case when the case was measured
there (status ok) and no nightly judged it slower in that run: a regression, confirmed or
transient, must not become the norm the next night is judged against. Runs are picked per case,
so one bad case does not discard a run's other cases.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from gpubench import strict_json
from gpubench.compare import machine_key
from gpubench.jsonfile import read_json
from gpubench.safe_files import safe_folder, write_file
from gpubench.store import StoreError
from gpubench.store.run_id import validate_run_id

NIGHTLY_DIR = "nightly"
VERDICTS_FILE = "verdicts.json"
ACCEPTED_FILE = "accepted.json"
DEFAULT_BASELINE_RUNS = 7


def flagged_cases(results_dir: str | os.PathLike) -> set[tuple[str, str]]:
    """(run id, case) pairs a nightly judged slower, from ``<results>/nightly/*/verdicts.json``;
    a night whose slowdowns were accepted (``accept_night``) flags nothing."""
    return {key for key, mark in night_marks(results_dir).items() if mark != "accepted"}


def night_marks(results_dir: str | os.PathLike) -> dict[tuple[str, str], str]:
    """What the nightly made of each (run id, case) it judged slower: ``"regression"`` (slower
    again in the confirmation rerun, or not rerun), ``"transient"`` (not slower in the rerun) or
    ``"accepted"`` (the night was accepted as the new normal)."""
    marks = {}
    for path in sorted((Path(results_dir) / NIGHTLY_DIR).glob(f"*/{VERDICTS_FILE}")):
        accepted = (path.parent / ACCEPTED_FILE).exists()
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise StoreError(f"{path}: unreadable nightly verdicts ({error})") from None
        try:
            for case in data["cases"]:
                if case["verdict"] == "slower":
                    mark = "accepted" if accepted else "transient" if case.get("confirmed") is False else "regression"
                    marks[str(data["run_id"]), str(case["case"])] = mark
        except (KeyError, TypeError, AttributeError):
            raise StoreError(f"{path}: not a nightly verdicts file (run_id, cases with case and verdict)") from None
    return marks


def accept_night(results_dir: str | os.PathLike, run_id: str) -> list[str]:
    """Accept night ``run_id``'s slowdowns as the new normal: its slower cases (and its rerun's)
    serve as baseline from now on. Adds an ``accepted.json`` beside the verdicts; returns the runs."""
    nightly = Path(results_dir) / NIGHTLY_DIR
    verdicts = nightly / validate_run_id(run_id) / VERDICTS_FILE
    if not verdicts.is_file():
        raise StoreError(f"no nightly verdicts for run {run_id} in {results_dir}")
    document = read_json(verdicts, StoreError)
    rerun = document.get("rerun_id") if isinstance(document, dict) else None
    accepted = [run_id] + ([validate_run_id(rerun)] if rerun else [])
    stamp = datetime.now(timezone.utc).isoformat()
    for run in accepted:
        write_file(safe_folder(nightly, run), ACCEPTED_FILE, strict_json.dumps({"run_id": run, "accepted_at": stamp}))
    return accepted


def select_baseline(
    store: pd.DataFrame,
    candidate_run: str,
    n_runs: int = DEFAULT_BASELINE_RUNS,
    flagged: set[tuple[str, str]] | frozenset = frozenset(),
    before_only: bool = True,
) -> pd.DataFrame:
    """Rows of the baseline for every case of ``candidate_run``: its last ``n_runs`` good runs.

    ``before_only`` keeps runs that started before the candidate (the nightly); without it every
    other run of the machine may serve (judging one run of a series against all the others).
    """
    if n_runs < 1:
        raise ValueError(f"--baseline-runs must be at least 1, got {n_runs}")
    candidate = store[store["run_id"].astype(str) == candidate_run]
    if candidate.empty:
        raise StoreError(f"run {candidate_run} is not in the store")
    machines = machine_key(store)
    pool = store[
        (store["run_id"].astype(str) != candidate_run)
        & (store["status"] == "ok")
        & (machines == machine_key(candidate).iloc[0])
        & store["case"].isin(set(candidate["case"]))
    ]
    if before_only:
        pool = pool[pool["started_at"] < candidate["started_at"].iloc[0]]
    if flagged:
        keep = [(str(run), str(case)) not in flagged for run, case in zip(pool["run_id"], pool["case"], strict=True)]
        pool = pool[keep]
    pool = pool.sort_values(["started_at", "run_id"], kind="stable")
    return pool.groupby(["suite", "case"], sort=False).tail(n_runs).reset_index(drop=True)


def baseline_depth(baseline: pd.DataFrame) -> tuple[int, int]:
    """The fewest and the most baseline runs any case has (0, 0 for no baseline)."""
    if baseline.empty:
        return 0, 0
    runs = baseline.groupby(["suite", "case"])["run_id"].nunique()
    return int(runs.min()), int(runs.max())
