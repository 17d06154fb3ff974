"""Where a store lives: a local folder or an fsspec URL (``memory://``, ``s3://bucket/results``).

Every store module goes through a ``Location``, so the same code serves a laptop, a shared
filesystem and an object store. Local paths use the operating system directly (fast listing,
hard links for exclusive creates); URLs use the fsspec filesystem their scheme names, which
must be installed (``s3fs`` for ``s3://``). See docs/SCHEMA.md, "Many nodes, one store".
"""

from __future__ import annotations

import os
import stat
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpubench.files.safe import read_regular
from gpubench.files.terminal import printable
from gpubench.store.schema import RUNS_DIR, StoreError

# What tells a file's version apart without opening it: (size, modification stamp). A plain
# tuple: a listing makes one per run file, 36,500 in a fleet's year, and compares them whole.
FileStamp = tuple[int, str]
# The stamp of a file listed by name only (``run_files(trusted=...)``): there, not checked.
NOT_CHECKED: FileStamp = (-1, "not checked")


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

    def run_files(self, trusted: frozenset[str] = frozenset()) -> dict[str, FileStamp]:
        """Every run file in ``runs/`` by name (hidden and temporary files left out) with its
        stamp; a local file named in ``trusted`` is listed as ``NOT_CHECKED``, without a stat
        (a read of one machine does not check the others' files: 0.15 s per 36,500 files)."""
        if self.is_local:
            try:
                entries = list(os.scandir(self.runs))
            except FileNotFoundError:
                return {}
            files = {}
            for entry in entries:  # one stat per file: a run file copied over in place changes no folder stamp
                if not _is_run_file(name := entry.name):
                    continue
                if name in trusted:
                    if entry.is_file():  # the folder entry's type: a regular file (or a link to one)
                        files[name] = NOT_CHECKED
                elif stat.S_ISREG((info := entry.stat()).st_mode):
                    files[name] = (info.st_size, str(info.st_mtime_ns))
            return files
        try:
            listing = self.fs.ls(self.runs, detail=True)
        except FileNotFoundError:
            return {}
        files = {}
        for info in listing:
            name = str(info["name"]).rstrip("/").rsplit("/", 1)[-1]
            if info.get("type") == "file" and _is_run_file(name):
                stamp = next((info[key] for key in ("mtime", "LastModified", "created", "ETag") if key in info), "")
                files[name] = (int(info.get("size") or 0), str(stamp))
        return files

    def read_bytes(self, path: str, limit: int | None = None) -> bytes:
        """A file's bytes; local: a regular file only (a FIFO or a device is refused, never
        waited on or read without end), at most ``limit`` bytes (``OSError`` beyond)."""
        if self.is_local:
            return read_regular(path, limit)
        with self.fs.open(path, "rb") as handle:
            return handle.read()

    def exists(self, path: str) -> bool:
        return os.path.exists(path) if self.is_local else bool(self.fs.exists(path))

    def makedirs(self, path: str) -> None:
        if self.is_local:
            os.makedirs(path, exist_ok=True)
        else:
            self.fs.makedirs(path, exist_ok=True)

    # --- caches (index/, index/figures/, cache/): disposable, never read or written through a link

    def cache_folder(self, *parts: str) -> str | None:
        """The path of the cache folder ``parts`` under the root if it can be used: local, every
        part a real folder (or not there yet) and no symbolic link; None (said once) when not."""
        if not self.is_local:
            return self.join(*parts)
        folder = self.root
        for part in parts:
            folder = os.path.join(folder, part)
            try:
                info = os.lstat(folder)
            except FileNotFoundError:
                return os.path.join(self.root, *parts)
            except OSError as error:
                return _refused(folder, f"cannot be read ({error.strerror})")
            if stat.S_ISLNK(info.st_mode):
                return _refused(folder, "is a symbolic link")
            if not stat.S_ISDIR(info.st_mode):
                return _refused(folder, "is not a folder")
        return folder

    def read_cache(self, *parts: str) -> bytes | None:
        """A cache file's bytes, or None: missing, a link, not a regular file, or unreadable."""
        folder = self.cache_folder(*parts[:-1])
        if folder is None:
            return None
        path = self.join(*parts) if not self.is_local else os.path.join(folder, parts[-1])
        try:
            return self.read_bytes(path, CACHE_LIMIT) if not self.is_local else read_regular(path, CACHE_LIMIT)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            _refused(path, f"is not a readable cache file ({_reason(error)})")
            return None

    def write_cache(self, parts: tuple[str, ...], data: bytes) -> str | None:
        """Write the cache file ``parts`` whole (readers see the old file or the new one): its
        path, or None when the store cannot take it (read-only, a link or a file in the way):
        the reader then serves from memory. Local: ``files.safe`` (folders made without following
        a link, a temporary file renamed into place); an object store: a PUT to a temporary key,
        then a move. Run files are never written so (they are created exclusively: ``write.py``)."""
        if not self.is_local:
            folder = self.join(*parts[:-1])
            path = self.join(*parts)
            try:
                self.fs.makedirs(folder, exist_ok=True)
                temporary = f"{folder}/.{parts[-1]}.{uuid.uuid4().hex}.tmp"
                self.fs.pipe_file(temporary, data)
                self.fs.mv(temporary, path)
            except OSError:
                return None
            return path
        from gpubench.files.safe import UnsafePathError, safe_folder, write_file

        if self.cache_folder(*parts[:-1]) is None:
            return None
        try:
            return str(write_file(safe_folder(self.root, *parts[:-1]), parts[-1], data))
        except UnsafePathError as error:
            _refused(os.path.join(self.root, *parts), str(error))
        except OSError:  # a read-only store, a full disk: served from memory
            pass
        return None

    def list_cache(self, parts: tuple[str, ...], suffix: str) -> list[str]:
        """The paths of the regular files in cache folder ``parts`` whose name ends with
        ``suffix`` (not hidden), sorted; none from a folder that is a link or missing."""
        folder = self.cache_folder(*parts)
        if folder is None:
            return []
        if self.is_local:
            try:
                entries = list(os.scandir(folder))
            except OSError:
                return []
            return sorted(entry.path for entry in entries
                          if entry.name.endswith(suffix) and entry.name[0] != "." and _regular(entry))  # fmt: skip
        try:
            listing = self.fs.ls(folder, detail=False)
        except FileNotFoundError:
            return []
        names = [str(path).rstrip("/").rsplit("/", 1)[-1] for path in listing]
        return sorted(f"{folder}/{name}" for name in names if name.endswith(suffix) and name[0] != ".")

    def remove(self, path: str) -> None:
        """Remove a cache file; one already gone (another reader's cleanup) is no error, and
        neither is a store that cannot be written."""
        try:
            if self.is_local:
                os.unlink(path)
            else:
                self.fs.rm(path)
        except OSError:
            pass


CACHE_LIMIT = 1 << 30  # no cache file of a sane store comes near this; a bigger one is not a cache
_SAID: set[str] = set()


def _refused(path: str, why: str) -> None:
    """Say once per process that a cache is not used, and why; the read goes on from memory."""
    if path not in _SAID:
        _SAID.add(path)
        message = why if why.startswith(path) else f"{path} {why}"
        print(f"gpubench: warning: {printable(message)}; the cache is rebuilt in memory", file=sys.stderr)
    return None


def forget_notes() -> None:
    """A new command says again what it does not use (``gpubench.cli`` calls this per command)."""
    _SAID.clear()


def _regular(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False


def _reason(error: Exception) -> str:
    return " ".join(str(getattr(error, "strerror", None) or error).split())[:200]


def locate(results_dir: str | os.PathLike) -> Location:
    """A local folder (a path, or ``file://``) or the fsspec filesystem a URL names."""
    text = os.fspath(results_dir)
    if "://" not in text:
        return Location(local_path(text))
    if text.startswith("file://"):
        return Location(local_path(text.removeprefix("file://")))
    try:
        from fsspec.core import url_to_fs

        fs, root = url_to_fs(text)
    except (ImportError, ValueError) as error:
        raise StoreError(f"{text}: cannot open this store URL ({_reason(error)})") from None
    return Location(root, fs)


def local_path(text: str | os.PathLike) -> str:
    """A local store path as every later call sees it: ``~`` expanded, absolute. The one place a
    store path is interpreted, so that the first call and the last name the same folder."""
    return os.path.abspath(os.path.expanduser(os.fspath(text)))


def _is_run_file(name: str) -> bool:
    return name.endswith(".parquet") and not name.startswith(".")
