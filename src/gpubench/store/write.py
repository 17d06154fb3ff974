"""Run files: created once, whole, never rewritten; no two writers can both create one name.

Local folders (and shared filesystems): the file is written under a hidden temporary name and
hard-linked into place; ``link`` fails when the name exists, atomically, so of two nodes storing
the same run id one wins and the other is refused, and a reader never sees half a run. Object
stores (fsspec URLs): one PUT with the store's conditional create (fsspec ``mode="xb"``: S3's
``If-None-Match``, GCS's generation match, Azure's no-overwrite); a PUT is never half-visible.
Where a filesystem offers no conditional create, an existence check precedes the PUT: two
writers of the same run id at the same moment could then race, which run ids (UTC second plus
24 random bits) make practically impossible. See docs/SCHEMA.md, "Many nodes, one store".
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pandas as pd

from gpubench.store.location import Location, locate
from gpubench.store.schema import RUNS_DIR, StoreError

READABLE = 0o644


def write_run(frame: pd.DataFrame, results_dir: str | os.PathLike) -> Path | str:
    """Write one run's rows as a new parquet file, atomically; never overwrite a stored run."""
    run_ids = frame["run_id"].unique()
    if len(run_ids) != 1:
        raise StoreError(f"one run per file, got {len(run_ids)} run ids")
    run_id = str(run_ids[0])
    if not run_id or "/" in run_id or run_id.startswith("."):
        raise StoreError(f"invalid run id {run_id!r}")
    location = locate(results_dir)
    if not location.is_local:
        return _put_once(frame, location, run_id, results_dir)
    runs = Path(location.runs)
    runs.mkdir(parents=True, exist_ok=True)
    target = runs / f"{run_id}.parquet"
    if target.exists():
        raise StoreError(f"run {run_id} is already in {results_dir}; nothing written")
    handle, temporary = tempfile.mkstemp(dir=runs, prefix=f".{run_id}.", suffix=".tmp")
    os.close(handle)
    try:
        frame.to_parquet(temporary, index=False)
        os.chmod(temporary, READABLE)  # mkstemp makes it private; a store is shared
        _link_once(temporary, target)
    except FileExistsError:
        raise StoreError(f"run {run_id} is already in {results_dir}; nothing written") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target


def _link_once(temporary: str, target: Path) -> None:
    """``link`` fails if another writer created ``target`` meanwhile; a filesystem without
    hard links falls back to a checked rename (the check and the rename are then two steps)."""
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise
    except OSError:
        if target.exists():
            raise FileExistsError(target) from None
        os.replace(temporary, target)


def _put_once(frame: pd.DataFrame, location: Location, run_id: str, results_dir) -> str:
    target = location.join(RUNS_DIR, f"{run_id}.parquet")
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    location.makedirs(location.runs)
    try:
        with location.fs.open(target, "xb") as handle:
            handle.write(buffer.getvalue())
    except FileExistsError:
        raise StoreError(f"run {run_id} is already in {results_dir}; nothing written") from None
    except (ValueError, NotImplementedError):  # no conditional create on this filesystem
        if location.fs.exists(target):
            raise StoreError(f"run {run_id} is already in {results_dir}; nothing written") from None
        location.fs.pipe_file(target, buffer.getvalue())
    return f"{location.fs.unstrip_protocol(target)}"
