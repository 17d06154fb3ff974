"""``gpubench store check``: the run files every reader would skip, and moving them aside.

Readers skip a run file that fails validation and name it on stderr, every time they read. This
lists those files once, with why, and with ``quarantine`` moves them to ``<results>/quarantine/``,
which no reader looks into (readers read ``runs/`` only): nothing is deleted, and a file can be
repaired and moved back by hand. A file written by a newer gpubench is reported, never moved:
every reader refuses the store while it is there, so the check fails too.

A store that cannot be inspected is never reported healthy: a path that does not exist or is
not a folder, a ``runs/`` that cannot be listed, a URL whose filesystem is not installed, are
errors (``StoreError``), not "0 run file(s)". ``quarantine/`` is made without following a link;
a file that cannot be moved (another user's, a read-only store) is reported, never a traceback.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from gpubench.files.safe import TEMP_SUFFIX, UnsafePathError, safe_folder
from gpubench.store.location import Location, locate
from gpubench.store.schema import QUARANTINE_DIR, RUNS_DIR, StoreError
from gpubench.store.validate import InvalidRunFile, NewerSchemaError, validate_run_frame

RUN_FILE_LIMIT = 4 << 30


@dataclass(frozen=True)
class StoreCheck:
    files: int  # run files looked at
    bad: list[tuple[Path, str]]  # (file, why) for each file readers skip
    newer: list[tuple[Path, str]]  # files of a newer gpubench: refused by readers, left alone
    debris: list[Path]  # hidden temporary files (a live writer's, or a killed one's)
    location: Location | None = field(default=None, compare=False)


def check_store(results_dir: str | os.PathLike) -> StoreCheck:
    """Read every run file as the readers do; say which fail and why (``StoreError`` when the
    store cannot be inspected at all)."""
    location = locate(results_dir)
    if not location.is_local:
        return _check_remote(location)
    root = Path(location.root)
    try:
        info = os.stat(root)
    except FileNotFoundError:
        raise StoreError(f"{root}: no such store folder") from None
    except OSError as error:
        raise StoreError(f"{root}: cannot be inspected ({error.strerror})") from None
    if not stat.S_ISDIR(info.st_mode):
        raise StoreError(f"{root}: not a store folder (not a folder at all)")
    runs = root / RUNS_DIR
    try:
        entries = sorted(os.scandir(runs), key=lambda entry: entry.name)
    except FileNotFoundError:
        entries = []
    except OSError as error:
        raise StoreError(f"{runs}: cannot be listed ({error.strerror}); the store was not checked") from None
    bad, newer, debris, files = [], [], [], 0
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith("."):
            if entry.name.endswith(TEMP_SUFFIX):
                debris.append(path)
            continue
        if not entry.name.endswith(".parquet"):
            continue
        files += 1
        try:
            regular = entry.is_file()
        except OSError:
            regular = False
        if not regular:
            bad.append((path, f"{path}: not a regular file (readers ignore it)"))
            continue
        try:
            _check_file(location, str(path))
        except InvalidRunFile as error:
            bad.append((path, str(error)))
        except NewerSchemaError as error:
            newer.append((path, str(error)))
    return StoreCheck(files, bad, newer, debris, location)


def _check_remote(location: Location) -> StoreCheck:
    try:
        names = location.run_files()
    except OSError as error:
        raise StoreError(f"{location.runs}: cannot be listed ({error}); the store was not checked") from None
    bad, newer = [], []
    for name in sorted(names):
        path = location.join(RUNS_DIR, name)
        try:
            _check_file(location, path)
        except InvalidRunFile as error:
            bad.append((Path(path), str(error)))
        except NewerSchemaError as error:
            newer.append((Path(path), str(error)))
    return StoreCheck(len(names), bad, newer, [], location)


def _check_file(location: Location, path: str) -> None:
    try:
        frame = pd.read_parquet(io.BytesIO(location.read_bytes(path, RUN_FILE_LIMIT)))
    except Exception as error:  # pyarrow raises many kinds for a damaged or foreign file
        raise InvalidRunFile(f"{path}: unreadable parquet ({' '.join(str(error).split())[:200]})") from None
    validate_run_frame(frame, path)


@dataclass(frozen=True)
class Moved:
    moved: list[tuple[Path, Path]]  # (from, to)
    failed: list[tuple[Path, str]]  # (file, why it stayed)


def quarantine(results_dir: str | os.PathLike, paths: list[Path]) -> Moved:
    """Move run files to ``<results>/quarantine/`` (renamed ``name.1.parquet``... if taken).

    ``StoreError`` when ``quarantine/`` cannot be made (a link, a plain file, a read-only store):
    nothing is moved. A file that cannot be moved stays, with why."""
    location = locate(results_dir)
    if not location.is_local:
        raise StoreError(f"{location.root}: --quarantine moves files of a local store only")
    try:
        folder = safe_folder(location.root, QUARANTINE_DIR)
    except UnsafePathError as error:
        raise StoreError(f"{error}; nothing moved") from None
    except OSError as error:
        raise StoreError(
            f"{Path(location.root, QUARANTINE_DIR)}: cannot be made ({error.strerror}); nothing moved"
        ) from None
    moved, failed = [], []
    for path in paths:
        try:
            moved.append((path, _move(path, folder)))
        except OSError as error:
            failed.append((path, error.strerror or str(error)))
    return Moved(moved, failed)


def _move(path: Path, folder: Path) -> Path:
    """``path`` into ``folder`` under a name not taken; never replaces a file already there."""
    for number in range(1000):
        target = folder / (path.name if number == 0 else f"{path.stem}.{number}{path.suffix}")
        if os.path.lexists(target):
            continue
        try:
            os.link(path, target, follow_symlinks=False)
        except FileExistsError:
            continue
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EISDIR, errno.EMLINK, errno.EACCES):
                raise
            os.rename(path, target)  # a folder, or no hard links here: checked free just above
            return target
        try:
            os.unlink(path)
        except OSError:
            os.unlink(target)  # stays where it was, whole: not two copies
            raise
        return target
    raise OSError(errno.EEXIST, "no free name in quarantine/")
