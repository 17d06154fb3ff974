"""Run files: written to a hidden temporary file, then hard-linked into place, never rewritten.

A reader never sees half a run, a failed write leaves the store as it was, and of writers of the
same run at the same moment exactly one wins: ``os.link`` fails when the name exists, where a
check followed by a rename would let the second writer replace the first. Files get the
permissions the umask gives (``mkstemp`` would give 0600). Temporary files a killed writer left
behind are removed by the next write, once they are an hour old, so a live writer keeps its own.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pandas as pd

from gpubench.store.run_id import validate_run_id
from gpubench.store.schema import RUNS_DIR, StoreError

TEMP_SUFFIX = ".tmp"
DEBRIS_AGE_S = 3600.0
# Filesystems without hard links answer these; the run file is then claimed with O_EXCL.
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.ENOSYS, errno.EMLINK}


def write_run(frame: pd.DataFrame, results_dir: str | os.PathLike) -> Path:
    """Write one run's rows as a new parquet file, atomically; never overwrite a stored run."""
    run_ids = frame["run_id"].unique()
    if len(run_ids) != 1:
        raise StoreError(f"one run per file, got {len(run_ids)} run ids")
    run_id = validate_run_id(str(run_ids[0]))
    runs = Path(results_dir) / RUNS_DIR
    runs.mkdir(parents=True, exist_ok=True)
    remove_debris(runs)
    target = runs / f"{run_id}.parquet"
    if os.path.lexists(target):
        raise already_stored(run_id, results_dir)
    temporary = create_temporary(runs, f".{run_id}.")
    try:
        frame.to_parquet(temporary, index=False)
        _publish(temporary, target, run_id, results_dir)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)
    return target


def already_stored(run_id: str, results_dir: str | os.PathLike) -> StoreError:
    return StoreError(f"run {run_id} is already in the store {results_dir}; nothing written")


def create_temporary(folder: Path, prefix: str) -> Path:
    """A new, empty, hidden file in ``folder`` with the umask's permissions; never an existing name or link."""
    for _ in range(100):
        path = folder / f"{prefix}{os.urandom(6).hex()}{TEMP_SUFFIX}"
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666))
        except FileExistsError:
            continue
        return path
    raise StoreError(f"{folder}: could not create a temporary file")


def remove_debris(folder: Path, max_age_s: float = DEBRIS_AGE_S) -> list[Path]:
    """Remove hidden temporary files older than ``max_age_s`` (a writer killed with -9 left them)."""
    removed = []
    cutoff = time.time() - max_age_s
    for path in folder.glob(f".*{TEMP_SUFFIX}"):
        try:
            if path.lstat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except OSError:  # another writer removed it first, or it is not ours to remove
            continue
    return removed


def _publish(temporary: Path, target: Path, run_id: str, results_dir: str | os.PathLike) -> None:
    try:
        os.link(temporary, target)
        return
    except FileExistsError:
        raise already_stored(run_id, results_dir) from None
    except OSError as error:
        if error.errno not in _NO_LINKS:
            raise
    # No hard links here: claim the name exclusively, then rename the full file over the claim.
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666))
    except FileExistsError:
        raise already_stored(run_id, results_dir) from None
    os.replace(temporary, target)
