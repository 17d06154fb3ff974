"""Run files: created once, whole, never rewritten; no two writers can both create one name.

Local folders (and shared filesystems): the file is written under a hidden temporary name and
hard-linked into place; ``link`` fails when the name exists, atomically, so of two writers of the
same run id one wins and the other is refused ("already in the store"), and a reader never sees
half a run. Files get the permissions the umask gives (``mkstemp`` would give 0600). Temporary
files a killed writer left behind are removed by the next write once they are an hour old, so a
live writer keeps its own. Object stores (fsspec URLs): one PUT with the store's conditional
create (fsspec ``mode="xb"``: S3's ``If-None-Match``, GCS's generation match, Azure's
no-overwrite); a PUT is never half-visible. Where a filesystem offers no conditional create, an
existence check precedes the PUT: two writers of the same run id at the same moment could then
race, which run ids (UTC second plus 24 random bits) make practically impossible. See
docs/SCHEMA.md, "Many nodes, one store".
"""

from __future__ import annotations

import errno
import io
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from gpubench.files.safe import TEMP_SUFFIX, create_temporary
from gpubench.store.location import Location, locate
from gpubench.store.run_id import validate_run_id
from gpubench.store.schema import RUNS_DIR, StoreError

DEBRIS_AGE_S = 3600.0
# Filesystems without hard links answer these; the run file is then claimed with O_EXCL.
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.ENOSYS, errno.EMLINK}


def write_run(frame: pd.DataFrame, results_dir: str | os.PathLike) -> Path | str:
    """Write one run's rows as a new parquet file, atomically; never overwrite a stored run."""
    run_ids = frame["run_id"].unique()
    if len(run_ids) != 1:
        raise StoreError(f"one run per file, got {len(run_ids)} run ids")
    run_id = validate_run_id(str(run_ids[0]))
    location = locate(results_dir)
    if not location.is_local:
        return _put_once(frame, location, run_id, results_dir)
    runs = Path(location.runs)
    runs.mkdir(parents=True, exist_ok=True)
    remove_debris(runs)
    target = runs / f"{run_id}.parquet"
    if os.path.lexists(target):
        raise already_stored(run_id, results_dir)
    temporary = create_temporary(runs, f".{run_id}.")
    try:
        _write_whole(frame, temporary)
        _publish(temporary, target, run_id, results_dir)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)
    return target


def write_stamped(frame: pd.DataFrame, where: Any) -> None:
    """The run's rows as parquet with its stamp in the footer (``stamp.py``): what the index needs,
    read later without the data. Only rows that pass ``validate_run_frame`` are stamped."""
    import pyarrow.parquet as pq

    from gpubench.store.stamp import stamped_table
    from gpubench.store.validate import InvalidRunFile, validate_run_frame

    try:
        validate_run_frame(frame, f"{frame['run_id'].iloc[0]}.parquet")
    except (InvalidRunFile, KeyError, IndexError):
        frame.to_parquet(where, index=False)  # unstamped: every reader validates it in full
        return
    pq.write_table(stamped_table(frame), where)


def _write_whole(frame: pd.DataFrame, temporary: Path) -> None:
    """The rows into the temporary file this writer created, through its own handle (no library
    reinterprets the path: a ``~`` is never expanded twice), then read back: only a complete
    file is published."""
    import pyarrow.parquet as pq

    with open(temporary, "wb") as handle:
        write_stamped(frame, handle)
        handle.flush()
        os.fsync(handle.fileno())
    if pq.read_metadata(temporary).num_rows != len(frame):
        raise StoreError(f"{temporary}: the run file did not read back whole; nothing published")


def already_stored(run_id: str, results_dir: str | os.PathLike) -> StoreError:
    return StoreError(f"run {run_id} is already in the store {results_dir}; nothing written")


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


def _put_once(frame: pd.DataFrame, location: Location, run_id: str, results_dir) -> str:
    target = location.join(RUNS_DIR, f"{run_id}.parquet")
    buffer = io.BytesIO()
    write_stamped(frame, buffer)
    location.makedirs(location.runs)
    try:
        with location.fs.open(target, "xb") as handle:
            handle.write(buffer.getvalue())
    except FileExistsError:
        raise already_stored(run_id, results_dir) from None
    except (ValueError, NotImplementedError):  # no conditional create on this filesystem
        if location.fs.exists(target):
            raise already_stored(run_id, results_dir) from None
        location.fs.pipe_file(target, buffer.getvalue())
    return f"{location.fs.unstrip_protocol(target)}"
