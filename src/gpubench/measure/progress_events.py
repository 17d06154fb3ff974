"""The progress channel: processes that measure tell the one that shows progress where they are.

``gpubench run`` runs pytest in a subprocess, and the collectives measure in ranks spawned by it,
so the display (gpubench.views.progress, in ``gpubench run``'s own process) learns of finished
cases through a named pipe whose path is in ``GPUBENCH_PROGRESS``: one JSON object per line.

A writer never waits and never fails: it opens the pipe without blocking, writes one line (under
``PIPE_BUF``, so lines from several processes never interleave) and closes it; with no reader, a
full pipe or no ``GPUBENCH_PROGRESS`` the event is dropped. An event longer than that (the
plan of a whole run: every case's node id) is written to a file in the listener's folder first,
and the line names the file. Writers call ``emit`` only between
cases (the pytest plugin) or between sizes (rank 0 of a collective sweep), never inside a timed
span. The reader (``listen``) blocks on the pipe in a thread of its own, so it costs nothing while
a case is measured.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import select
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ENV = "GPUBENCH_PROGRESS"
_LINE_LIMIT = 4000  # under PIPE_BUF (4096 on Linux): one write, never interleaved
_CLOSED = {"event": "closed"}
_FILE_PREFIX = "event-"  # events over the line limit, written into the listener's own folder


def enabled() -> bool:
    """Whether a display listens (``GPUBENCH_PROGRESS`` is set)."""
    return bool(os.environ.get(ENV))


def emit(event: str, **fields: Any) -> None:
    """Send one event to the reader named by ``GPUBENCH_PROGRESS``; drop it if it cannot go at once."""
    path = os.environ.get(ENV)
    if not path:
        return
    line = json.dumps({"event": event, **fields}, default=str).encode() + b"\n"
    if len(line) > _LINE_LIMIT:  # a whole run's plan (hundreds of cases): by file, its name on the pipe
        line = _by_file(Path(path).parent, line)
        if line is None:
            return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:  # no reader (ENXIO), no pipe: nobody is watching
        return
    try:
        os.write(fd, line)
    except OSError as error:  # a full pipe (EAGAIN): the display misses one update, the case never waits
        if error.errno not in (errno.EAGAIN, errno.EPIPE):
            raise
    finally:
        os.close(fd)


def _by_file(folder: Path, line: bytes) -> bytes | None:
    """Write an event too long for one pipe write into the listener's folder; the line naming it."""
    try:
        fd, name = tempfile.mkstemp(prefix=_FILE_PREFIX, suffix=".json", dir=folder)
        with os.fdopen(fd, "wb") as file:
            file.write(line)
    except OSError:  # no room, the listener gone: the display misses it, the run goes on
        return None
    return json.dumps({"event": "by_file", "name": Path(name).name}).encode() + b"\n"


@contextlib.contextmanager
def listen(handler: Callable[[dict[str, Any]], None]) -> Iterator[dict[str, str]]:
    """A named pipe to read events from while the block runs; yields the environment that names it.

    ``handler`` is called in a reader thread, once per event, in the order they arrived. Leaving
    the block stops the reader after the events already written are handled.
    """
    with tempfile.TemporaryDirectory(prefix="gpubench-progress-") as folder:
        path = Path(folder) / "events"
        os.mkfifo(path, 0o600)
        # Read and write: the reader never sees end-of-file between two writers' lines.
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        reader = threading.Thread(target=_read, args=(fd, Path(folder), handler), name="gpubench-progress", daemon=True)
        reader.start()
        try:
            yield {ENV: str(path)}
        finally:
            os.write(fd, json.dumps(_CLOSED).encode() + b"\n")
            reader.join(timeout=10)
            os.close(fd)


def _read(fd: int, folder: Path, handler: Callable[[dict[str, Any]], None]) -> None:
    pending = b""
    while True:
        select.select([fd], [], [])  # blocks: no CPU while nothing is written
        chunk = os.read(fd, 65536)
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event == _CLOSED:
                return
            if isinstance(event, dict) and event.get("event") == "by_file":
                event = _read_file(folder, event.get("name"))
                if event is None:
                    continue
            with contextlib.suppress(Exception):  # a display fault must not stop the run
                handler(event)


def _read_file(folder: Path, name: Any) -> Any:
    """The event a writer put in a file of the listener's folder (only there: a bare name), removed once read."""
    if not isinstance(name, str) or not name.startswith(_FILE_PREFIX) or "/" in name or "\\" in name:
        return None
    path = folder / name
    try:
        event = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
    return event
