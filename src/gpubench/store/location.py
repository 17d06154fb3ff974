"""Where a store lives: a local folder or an fsspec URL (``memory://``, ``s3://bucket/results``).

Every store module goes through a ``Location``, so the same code serves a laptop, a shared
filesystem and an object store. Local paths use the operating system directly (fast listing,
hard links for exclusive creates); URLs use the fsspec filesystem their scheme names, which
must be installed (``s3fs`` for ``s3://``). See docs/SCHEMA.md, "Many nodes, one store".
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpubench.store.schema import RUNS_DIR, StoreError


@dataclass(frozen=True)
class FileStamp:
    """What tells a file's version apart without opening it: size and modification stamp."""

    size: int
    modified: str


@dataclass(frozen=True)
class Location:
    """A store's root: ``fs`` is None for a local folder, else the fsspec filesystem of the URL."""

    root: str
    fs: Any = None

    @property
    def is_local(self) -> bool:
        return self.fs is None

    def join(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts]) if not self.is_local else str(Path(self.root, *parts))

    @property
    def runs(self) -> str:
        return self.join(RUNS_DIR)

    def arrow_filesystem(self) -> Any:
        """The filesystem pyarrow reads through (local: pyarrow's own; else fsspec, wrapped)."""
        import pyarrow.fs

        if self.is_local:
            return pyarrow.fs.LocalFileSystem()
        return pyarrow.fs.PyFileSystem(pyarrow.fs.FSSpecHandler(self.fs))

    def run_files(self) -> dict[str, FileStamp]:
        """Every run file in ``runs/`` by name (hidden and temporary files left out)."""
        if self.is_local:
            try:
                entries = list(os.scandir(self.runs))
            except FileNotFoundError:
                return {}
            return {
                entry.name: FileStamp(stat.st_size, str(stat.st_mtime_ns))
                for entry in entries
                if _is_run_file(entry.name) and entry.is_file() and (stat := entry.stat())
            }
        try:
            listing = self.fs.ls(self.runs, detail=True)
        except FileNotFoundError:
            return {}
        files = {}
        for info in listing:
            name = str(info["name"]).rstrip("/").rsplit("/", 1)[-1]
            if info.get("type") == "file" and _is_run_file(name):
                stamp = next((info[key] for key in ("mtime", "LastModified", "created", "ETag") if key in info), "")
                files[name] = FileStamp(int(info.get("size") or 0), str(stamp))
        return files

    def read_bytes(self, path: str) -> bytes:
        if self.is_local:
            return Path(path).read_bytes()
        with self.fs.open(path, "rb") as handle:
            return handle.read()

    def exists(self, path: str) -> bool:
        return os.path.exists(path) if self.is_local else bool(self.fs.exists(path))

    def makedirs(self, path: str) -> None:
        if self.is_local:
            os.makedirs(path, exist_ok=True)
        else:
            self.fs.makedirs(path, exist_ok=True)

    def replace_file(self, path: str, data: bytes) -> None:
        """Write a cache file (the index's) whole: readers see the old file or the new one, never
        part of one. Local: ``safe_files.write_file`` (temporary file, then a rename); an object
        store: a PUT to a temporary key, then a move. Run files are never written so
        (they are created exclusively: ``write.py``)."""
        folder, name = path.rsplit("/" if not self.is_local else os.sep, 1)
        self.makedirs(folder)
        if self.is_local:
            from gpubench.files.safe import write_file

            write_file(folder, name, data)
        else:
            temporary = f"{folder}/.{name}.{uuid.uuid4().hex}.tmp"
            self.fs.pipe_file(temporary, data)
            self.fs.mv(temporary, path)

    def list_files(self, folder: str, suffix: str) -> list[str]:
        """The paths of the files in ``folder`` whose name ends with ``suffix`` (not hidden), sorted."""
        if self.is_local:
            try:
                names = os.listdir(folder)
            except FileNotFoundError:
                return []
            return sorted(os.path.join(folder, name) for name in names if name.endswith(suffix) and name[0] != ".")
        try:
            listing = self.fs.ls(folder, detail=False)
        except FileNotFoundError:
            return []
        names = [str(path).rstrip("/").rsplit("/", 1)[-1] for path in listing]
        return sorted(f"{folder}/{name}" for name in names if name.endswith(suffix) and name[0] != ".")

    def remove(self, path: str) -> None:
        """Remove a cache file; one already gone (another reader's cleanup) is no error."""
        try:
            if self.is_local:
                os.unlink(path)
            else:
                self.fs.rm(path)
        except FileNotFoundError:
            pass


def locate(results_dir: str | os.PathLike) -> Location:
    """A local folder (a path, or ``file://``) or the fsspec filesystem a URL names."""
    text = os.fspath(results_dir)
    if "://" not in text:
        return Location(text)
    if text.startswith("file://"):
        return Location(text.removeprefix("file://"))
    try:
        from fsspec.core import url_to_fs

        fs, root = url_to_fs(text)
    except (ImportError, ValueError) as error:
        raise StoreError(f"{text}: cannot open this store URL ({error})") from None
    return Location(root, fs)


def _is_run_file(name: str) -> bool:
    return name.endswith(".parquet") and not name.startswith(".")
