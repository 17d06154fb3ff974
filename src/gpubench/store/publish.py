"""Publishing a run measured in a local scratch folder to a shared store (an fsspec URL).

A node measures into a local folder first (``scratch_folder``), a store of its own, so that
nothing measured depends on the network. Publishing then copies into the shared store:

- the run file, created exactly once (``publish_run_file``): a conditional create on object
  stores (fsspec ``mode="xb"``: S3's ``If-None-Match``), a hard link on filesystems, as
  ``write.write_run`` does; its bytes are the scratch file's, footer metadata included;
- other files (the JSON archive, figures, the nightly's ``verdicts.json`` and report) whole,
  one PUT each (an object is never half-visible) or a temporary file and a rename (``put_file``).

Anything that goes wrong on the way (no such bucket, missing credentials, a refused write, no
network) becomes one ``StoreUnreachable`` line that names the scratch folder, which is kept: the
run can be published later with ``gpubench ingest``. See docs/fleet.md.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gpubench.files.safe import create_temporary, safe_folder, write_file
from gpubench.store.location import Location, locate
from gpubench.store.schema import RUNS_DIR, StoreError
from gpubench.store.write import _publish, already_stored

SCRATCH_ENV = "GPUBENCH_SCRATCH"


class StoreUnreachable(StoreError):
    """The shared store could not take what was measured; the local copy is kept (one line)."""


def scratch_folder() -> Path:
    """A new local folder to measure into: under ``$GPUBENCH_SCRATCH``, else the system's temporary folder."""
    base = os.environ.get(SCRATCH_ENV) or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="gpubench-scratch-", dir=base))


def publish_run_file(local: str | os.PathLike, results_dir: str | os.PathLike) -> str:
    """Create ``runs/<name>`` in the store from the local run file, once: a second writer is refused."""
    local = Path(local)
    run_id = local.stem
    location = locate(results_dir)
    data = local.read_bytes()
    if location.is_local:
        runs = Path(location.runs)
        runs.mkdir(parents=True, exist_ok=True)
        target = runs / local.name
        if os.path.lexists(target):
            raise already_stored(run_id, results_dir)
        temporary = create_temporary(runs, f".{run_id}.")
        try:
            temporary.write_bytes(data)
            _publish(temporary, target, run_id, results_dir)
        finally:
            if os.path.lexists(temporary):
                os.unlink(temporary)
        return str(target)
    target = location.join(RUNS_DIR, local.name)
    # No makedirs: on S3 it would create a bucket that is not there (a misspelt name, say).
    try:
        with location.fs.open(target, "xb") as handle:
            handle.write(data)
    except FileExistsError:
        raise already_stored(run_id, results_dir) from None
    except (ValueError, NotImplementedError):  # no conditional create on this filesystem
        if location.fs.exists(target):
            raise already_stored(run_id, results_dir) from None
        location.fs.pipe_file(target, data)
    return str(location.fs.unstrip_protocol(target))


def put_file(location: Location, parts: tuple[str, ...], data: bytes) -> str:
    """Write ``parts`` (folders, then the file's name) in the store whole: readers see all of it or none."""
    if location.is_local:
        return str(write_file(safe_folder(location.root, *parts[:-1]), parts[-1], data))
    path = location.join(*parts)
    location.fs.pipe_file(path, data)  # one PUT: an object is never half-visible
    return path


def publish_folder(local: Path, results_dir: str | os.PathLike, *parts: str, first: str | None = None) -> list[str]:
    """Every file of the local folder ``local`` into ``parts`` of the store (``first``: that file before the others)."""
    location = locate(results_dir)
    if not local.is_dir():
        return []
    names = sorted(path.name for path in local.iterdir() if path.is_file() and not path.name.startswith("."))
    if first in names:
        names = [first, *[name for name in names if name != first]]
    return [put_file(location, (*parts, name), (local / name).read_bytes()) for name in names]


def unreachable(results_dir: str | os.PathLike, scratch: Path, error: BaseException, what: str) -> StoreUnreachable:
    """The one line said when the store cannot take ``what``: why, and where the local copy is kept."""
    why = " ".join(str(error).split())[:300] or type(error).__name__
    return StoreUnreachable(
        f"the store {os.fspath(results_dir)} cannot take {what} ({type(error).__name__}: {why}); "
        f"the local run is kept in {scratch} (publish it later: gpubench ingest {scratch}/json/*.json "
        f"--results {os.fspath(results_dir)})"
    )
