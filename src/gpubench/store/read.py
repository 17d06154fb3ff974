"""Reading the store back: every run, or one, as a DataFrame; the list of runs; the latest."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from gpubench.quartiles import with_sample_quartiles
from gpubench.store.column_types import unify_column_types
from gpubench.store.run_id import validate_run_id
from gpubench.store.schema import CASE_COLUMNS, RUN_COLUMNS, RUNS_DIR, StoreError
from gpubench.store.validate import InvalidRunFile, read_run_file, warn_skipped


def read_results(results_dir: str | os.PathLike, run_id: str | None = None) -> pd.DataFrame:
    """Every stored run (or just ``run_id``) as one DataFrame, oldest run first."""
    runs = Path(results_dir) / RUNS_DIR
    paths = sorted(runs.glob("[!.]*.parquet")) if runs.is_dir() else []
    if run_id is not None:
        paths = [path for path in paths if path.stem == validate_run_id(run_id)]
        if not paths:
            raise StoreError(f"run {run_id} is not in {results_dir}")
        frames = [read_run_file(path) for path in paths]  # the run asked for: a bad file is an error
    else:
        frames = [frame for frame in map(_read_run_or_skip, paths) if frame is not None]
    if not frames:
        return pd.DataFrame(columns=list(RUN_COLUMNS) + list(CASE_COLUMNS))
    # quartiles recomputed from the samples for runs stored before ingest computed them
    frame = with_sample_quartiles(pd.concat(unify_column_types(frames), ignore_index=True))
    return frame.sort_values(["started_at", "run_id"], kind="stable", ignore_index=True)


def list_runs(results_dir: str | os.PathLike) -> pd.DataFrame:
    """One row per stored run: id, start time, profile, host, GPU, case counts."""
    frame = read_results(results_dir)
    if frame.empty:
        return pd.DataFrame(columns=["run_id", "started_at", "profile", "hostname", "gpu_name", "cases"])
    keys = [column for column in ("run_id", "started_at", "profile", "hostname", "gpu_name") if column in frame]
    return frame.groupby(keys, dropna=False, sort=False).size().rename("cases").reset_index()


def latest_run_id(results_dir: str | os.PathLike) -> str:
    """The latest run that holds a judged suite (a run of ``gpubench verify`` alone is never picked)."""
    from gpubench.suites import unjudged_suites

    frame = read_results(results_dir)
    judged = frame[~frame["suite"].astype(str).isin(unjudged_suites())]
    if judged.empty:
        raise StoreError(f"no run in {results_dir}" + (" (only gpubench verify's)" if len(frame) else ""))
    return str(judged["run_id"].iloc[-1])


def _read_run_or_skip(path: Path) -> pd.DataFrame | None:
    """A run file's rows, or None (named on stderr) when it fails validation: one bad file spoils no read."""
    try:
        return read_run_file(path)
    except InvalidRunFile as error:
        warn_skipped(error)
        return None
