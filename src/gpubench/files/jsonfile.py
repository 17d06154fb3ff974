"""Reading a JSON file a user named: a missing, unreadable or endless file is a one-line error, never a traceback.

JSON is UTF-8 by definition, so the bytes are decoded as JSON says (UTF-8, or the UTF-16/32 its
first bytes show), whatever the locale (``LC_ALL=C`` would make ``read_text`` ASCII). What is
read is a regular file or a pipe (``<(cat run.json)``, process substitution), at most
``MAX_DOCUMENT_BYTES``: ``/dev/zero``, a folder or a socket are refused before a byte is read, and
a pipe that stays silent for ``PIPE_IDLE_S`` seconds (a FIFO nobody writes) is given up on.
"""

from __future__ import annotations

import json
import os
import select
import stat
import time
from typing import Any

MAX_DOCUMENT_BYTES = 256 << 20  # a 50,000-case document with its samples is about 100 MB
PIPE_IDLE_S = 5.0


def read_json(path: str | os.PathLike, error: type[Exception] = ValueError, limit: int = MAX_DOCUMENT_BYTES) -> Any:
    """The decoded content of ``path``; ``error`` (one line) when it is missing or not JSON."""
    try:
        data = read_document(path, limit)
        return json.loads(data)
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except (OSError, ValueError, RecursionError) as problem:  # ValueError: bad JSON, bytes or huge numbers
        reason = " ".join(str(getattr(problem, "strerror", None) or problem).split())[:300]
        raise error(f"{path}: not a readable JSON file ({reason})") from None


def read_document(path: str | os.PathLike, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """The bytes of a regular file or a pipe, at most ``limit`` (``OSError`` with why, else)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(descriptor)
        if stat.S_ISREG(info.st_mode):
            if info.st_size > limit:
                raise OSError(f"{info.st_size:,} bytes, more than the {limit:,} a document may hold")
            os.set_blocking(descriptor, True)
            return _read_up_to(descriptor, limit)
        if stat.S_ISFIFO(info.st_mode):
            return _read_pipe(descriptor, limit)
        raise OSError("not a regular file or a pipe")
    finally:
        os.close(descriptor)


def _read_up_to(descriptor: int, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := os.read(descriptor, min(1 << 20, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise OSError(f"more than the {limit:,} bytes a document may hold")
    return b"".join(chunks)


def _read_pipe(descriptor: int, limit: int) -> bytes:
    chunks, size, idle_since = [], 0, time.monotonic()
    while True:
        ready, _, _ = select.select([descriptor], [], [], 0.5)
        if not ready:
            if time.monotonic() - idle_since > PIPE_IDLE_S:
                raise OSError(f"a pipe that sent nothing for {PIPE_IDLE_S:.0f} s")
            continue
        try:
            chunk = os.read(descriptor, 1 << 20)
        except BlockingIOError:
            continue
        if not chunk:  # the writer closed it (or there never was one)
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        idle_since = time.monotonic()
        if size > limit:
            raise OSError(f"more than the {limit:,} bytes a document may hold")
