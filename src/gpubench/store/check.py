"""``gpubench store check``: the run files every reader would skip, and moving them aside.

Readers skip a run file that fails validation and name it on stderr, every time they read. This
lists those files once, with why, and with ``quarantine`` moves them to ``<results>/quarantine/``,
which no reader looks into (readers read ``runs/`` only): nothing is deleted, and a file can be
repaired and moved back by hand. A file written by a newer gpubench is reported, never moved.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gpubench.files.safe import TEMP_SUFFIX
from gpubench.store.schema import QUARANTINE_DIR, RUNS_DIR
from gpubench.store.validate import InvalidRunFile, NewerSchemaError, read_run_file


@dataclass(frozen=True)
class StoreCheck:
    files: int  # run files looked at
    bad: list[tuple[Path, str]]  # (file, why) for each file readers skip
    newer: list[tuple[Path, str]]  # files of a newer gpubench: refused by readers, left alone
    debris: list[Path]  # hidden temporary files (a live writer's, or a killed one's)


def check_store(results_dir: str | os.PathLike) -> StoreCheck:
    """Read every run file as the readers do; say which fail and why."""
    runs = Path(results_dir) / RUNS_DIR
    paths = sorted(runs.glob("[!.]*.parquet")) if runs.is_dir() else []
    bad, newer = [], []
    for path in paths:
        try:
            read_run_file(path)
        except InvalidRunFile as error:
            bad.append((path, str(error)))
        except NewerSchemaError as error:
            newer.append((path, str(error)))
    debris = sorted(runs.glob(f".*{TEMP_SUFFIX}")) if runs.is_dir() else []
    return StoreCheck(len(paths), bad, newer, debris)


def quarantine(results_dir: str | os.PathLike, paths: list[Path]) -> list[Path]:
    """Move run files to ``<results>/quarantine/`` (renamed ``name.1.parquet``... if taken); return where."""
    folder = Path(results_dir) / QUARANTINE_DIR
    folder.mkdir(exist_ok=True)
    moved = []
    for path in paths:
        for number in range(1000):
            target = folder / (path.name if number == 0 else f"{path.stem}.{number}{path.suffix}")
            try:
                os.link(path, target)  # never replaces a file already quarantined
            except FileExistsError:
                continue
            os.unlink(path)
            moved.append(target)
            break
    return moved
