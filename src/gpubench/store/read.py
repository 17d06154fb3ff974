"""Reading the store back: every run, or one, as a DataFrame; the list of runs; the latest."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from gpubench.quartiles import with_sample_quartiles
from gpubench.store.schema import CASE_COLUMNS, RUN_COLUMNS, RUNS_DIR, SCHEMA_VERSION, StoreError


def read_results(results_dir: str | os.PathLike, run_id: str | None = None) -> pd.DataFrame:
    """Every stored run (or just ``run_id``) as one DataFrame, oldest run first."""
    runs = Path(results_dir) / RUNS_DIR
    paths = sorted(runs.glob("[!.]*.parquet")) if runs.is_dir() else []
    if run_id is not None:
        paths = [path for path in paths if path.stem == run_id]
        if not paths:
            raise StoreError(f"run {run_id} is not in {results_dir}")
    frames = [_read_run(path) for path in paths]
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return pd.DataFrame(columns=list(RUN_COLUMNS) + list(CASE_COLUMNS))
    frame = with_sample_quartiles(pd.concat(frames, ignore_index=True))  # runs stored before ingest did
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


def _read_run(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as error:
        raise StoreError(f"{path}: unreadable parquet ({error})") from None
    versions = frame["schema_version"].dropna().unique() if "schema_version" in frame else []
    if any(int(version) > SCHEMA_VERSION for version in versions):
        raise StoreError(f"{path}: schema version {max(versions)} is newer than this gpubench ({SCHEMA_VERSION})")
    return frame
