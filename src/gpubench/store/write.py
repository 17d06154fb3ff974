"""Run files: written to a hidden temporary name and renamed into place, never rewritten.

A reader never sees half a run and a failed write leaves the store as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from gpubench.atomic import atomic_write_bytes
from gpubench.store.schema import RUNS_DIR, StoreError


def write_run(frame: pd.DataFrame, results_dir: str | os.PathLike) -> Path:
    """Write one run's rows as a new parquet file, atomically; never overwrite a stored run."""
    run_ids = frame["run_id"].unique()
    if len(run_ids) != 1:
        raise StoreError(f"one run per file, got {len(run_ids)} run ids")
    run_id = str(run_ids[0])
    if not run_id or "/" in run_id or run_id.startswith("."):
        raise StoreError(f"invalid run id {run_id!r}")
    runs = Path(results_dir) / RUNS_DIR
    runs.mkdir(parents=True, exist_ok=True)
    target = runs / f"{run_id}.parquet"
    if target.exists():
        raise StoreError(f"run {run_id} is already in {results_dir}; nothing written")
    return atomic_write_bytes(target, frame.to_parquet(index=False))
