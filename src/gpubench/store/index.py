"""The runs index: one row per run file, so choosing runs never opens every file.

``<results>/index/runs.parquet`` holds, per file in ``runs/``: its name and stamp (size and
modification time), run id, start time, machine key, GPU, host, profile, suites, case counts,
its environment (``machine.ENVIRONMENT_COLUMNS``, as JSON), the id of its column schema, the
id of the set of (suite, case) it measured (runs share few such sets; the sets and schemas sit
in the file's metadata), and the problem that keeps it out of reads (if any). The run files
stay the source of truth; the index is a cache. Every read lists ``runs/`` (names and stamps,
no file opened), keeps the rows whose file is unchanged, drops the rows of files that are gone,
and opens only the new or changed files: a run written by another node, by an older gpubench or
copied by hand is picked up on the next read. A reader that cannot write the index (a read-only
store) works from the refreshed copy in memory. Files elsewhere (``quarantine/``) are not runs.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gpubench.store.admit import mark_json_fields, problem
from gpubench.store.column_types import json_columns
from gpubench.store.location import NOT_CHECKED, FileStamp, Location, locate
from gpubench.store.machine import ENVIRONMENT_COLUMNS, machine_key
from gpubench.store.schema import StoreError
from gpubench.store.validate import NewerSchemaError

INDEX_DIR = "index"
INDEX_FILE = "runs.parquet"
INDEX_VERSION = 3
COLUMNS = (
    "file",
    "size",
    "modified",
    "run_id",
    "started_at",
    "machine",
    "gpu_name",
    "hostname",
    "profile",
    "suites",
    "cases",
    "measured",
    "environment",
    "schema_id",
    "measured_id",
    "problem",
)
WARN_AT_MOST = 10
_WARNED: set[tuple[str, str]] = set()


@dataclass
class RunIndex:
    """The index of one store: ``runs`` (good run files, oldest first), ``bad`` (files left out
    with their problem), ``schemas`` (schema id -> arrow schema of the run files) and
    ``measured`` (measured id -> the (suite, case) pairs a run measured; runs share few sets)."""

    location: Location
    runs: pd.DataFrame
    bad: pd.DataFrame
    schemas: dict[str, pa.Schema]
    measured: dict[str, frozenset[tuple[str, str]]]

    def path_of(self, file: str) -> str:
        return self.location.join("runs", file)


def run_index(
    results_dir: str | os.PathLike | Location | RunIndex, *, warn: bool = True, machine: str | None = None
) -> RunIndex:
    """The store's index, brought up to date with ``runs/`` (and saved when it changed); an index
    given is returned as it is (a command that reads several times lists the store once).

    ``warn``: name on stderr, once per command, each bad run file that reads will skip.
    ``machine``: a read of one machine (a host name or a machine key, as ``machines_named``
    takes it) checks the stamps of that machine's files, of the bad files and of the new ones;
    another machine's file is checked by name only (there or gone), so one that was rewritten
    in place is seen by that machine's next read, or the next read of the whole store.
    """
    if isinstance(results_dir, RunIndex):
        return results_dir
    location = results_dir if isinstance(results_dir, Location) else locate(results_dir)
    cached, schemas, measured = _load(location)
    files = location.run_files(_other_machines_files(cached, machine) if machine is not None else frozenset())
    keep = [
        (stamp := files.get(file)) == (size, modified) or stamp is NOT_CHECKED
        for file, size, modified in _triples(cached)
    ]
    kept = cached[keep] if len(cached) and not all(keep) else cached  # nothing changed: no copy
    new = sorted(set(files) - set(kept["file"].tolist()))
    if new or len(kept) != len(cached):
        rows = _index_files(location, {name: files[name] for name in new}, schemas, measured)
        frame = pd.concat([frame for frame in (kept, rows) if len(frame)], ignore_index=True) if new else kept
        frame = _ordered(frame if len(frame) else _empty())
        schemas = {key: schemas[key] for key in set(frame["schema_id"].dropna().tolist())}
        measured = {key: measured[key] for key in set(frame["measured_id"].dropna().tolist())}
        _save(location, frame, schemas, measured)
        cached = frame
    problems = cached["problem"].notna()
    bad = cached[problems]
    newer = [why for why in bad["problem"].astype(str).tolist() if why.startswith("newer:")]
    if newer:
        raise StoreError(newer[0].removeprefix("newer:"))
    if warn:
        _warn(location, bad)
    runs = cached[~problems].reset_index(drop=True)
    return RunIndex(location, runs, bad.reset_index(drop=True), schemas, measured)


def _other_machines_files(cached: pd.DataFrame, machine: str) -> frozenset[str]:
    """The files of the good runs of every machine but ``machine`` (a key or a host name)."""
    if cached.empty:
        return frozenset()
    others = cached["problem"].isna() & (cached["machine"] != machine) & (cached["hostname"] != machine)
    return frozenset(cached.loc[others, "file"].tolist())


def _index_files(
    location: Location, files: dict[str, FileStamp], schemas: dict[str, pa.Schema], measured: dict[str, frozenset]
) -> pd.DataFrame:
    if not files:
        return _empty()
    with ThreadPoolExecutor(max_workers=min(8, len(files))) as pool:
        entries = list(pool.map(lambda item: _index_file(location, *item), files.items()))
    for row, schema, pairs in entries:
        if schema is not None:
            schemas.setdefault(row["schema_id"], schema)
            measured.setdefault(row["measured_id"], pairs)
    return pd.DataFrame([row for row, _, _ in entries], columns=list(COLUMNS))


def _index_file(location: Location, name: str, stamp: FileStamp) -> tuple[dict, pa.Schema | None, frozenset]:
    """One file's index row: read it whole once, check it, note what choosing runs needs."""
    path = location.join("runs", name)
    size, modified = stamp
    row: dict = {"file": name, "size": size, "modified": modified}
    try:
        fast = _stamped(location, path, name)
    except NewerSchemaError as error:
        return {**row, "problem": f"newer:{error}"}, None, frozenset()
    if fast is not None:
        return {**row, **fast[0]}, fast[1], fast[2]
    try:
        table = pq.read_table(io.BytesIO(location.read_bytes(path)))
        frame = table.to_pandas()
        schema = mark_json_fields(table.schema.remove_metadata(), json_columns(frame))
    except Exception as error:  # anything pyarrow raises on a file that is not parquet
        return {**row, "problem": f"unreadable parquet ({_one_line(error)})"}, None, frozenset()
    try:
        why = problem(frame, path)
    except NewerSchemaError as error:
        return {**row, "problem": f"newer:{error}"}, None, frozenset()
    if why:
        return {**row, "problem": why}, None, frozenset()
    first = frame.iloc[0]
    ok = frame[frame["status"] == "ok"]
    pairs = frozenset(zip(ok["suite"].astype(str).tolist(), ok["case"].astype(str).tolist(), strict=True))
    suites = sorted({str(suite) for suite in frame["suite"].dropna()})
    row.update(
        run_id=str(first["run_id"]),
        started_at=pd.to_datetime(first["started_at"], utc=True),
        machine=str(machine_key(frame.iloc[:1]).iloc[0]),
        gpu_name=_text(first.get("gpu_name")),
        hostname=_text(first.get("hostname")),
        profile=_text(first.get("profile")),
        suites=",".join(suites),
        cases=len(frame),
        measured=int((frame["status"] == "ok").sum()),
        environment=json.dumps({key: _text(first.get(key)) for key in ENVIRONMENT_COLUMNS if key in frame}),
        schema_id=_schema_id(schema),
        measured_id=_measured_id(pairs),
        problem=None,
    )
    return row, schema, pairs


def _stamped(location: Location, path: str, name: str) -> tuple[dict, pa.Schema, frozenset] | None:
    """The file's index entry from its footer stamp (``stamp.py``), or None: then it is read whole."""
    from gpubench.store.stamp import stamped_entry

    if location.is_local:
        return stamped_entry(path, name)
    try:
        with location.fs.open(path, "rb") as handle:
            return stamped_entry(handle, name)
    except NewerSchemaError:
        raise
    except Exception:  # gone or unreadable: the full read says why
        return None


# Text held as Python strings (the default str semantics, NaN for missing), 2-3x faster to iterate
# than arrow-backed text at 36,500 runs. Readers still take a column as a list before iterating
# or set()-ing it (``.tolist()``): 4 ms per 36,500 cells, against 30 ms cell by cell.
_PYTHON_TEXT = {
    pa.string(): pd.StringDtype("python", na_value=np.nan),
    pa.large_string(): pd.StringDtype("python", na_value=np.nan),
}


def _load(location: Location) -> tuple[pd.DataFrame, dict[str, pa.Schema], dict[str, frozenset]]:
    data = location.read_cache(INDEX_DIR, INDEX_FILE)
    if data is None:
        return _empty(), {}, {}
    try:
        table = pq.read_table(io.BytesIO(data))
        meta = table.schema.metadata or {}
        if json.loads(meta.get(b"gpubench.index_version", b"0")) != INDEX_VERSION:
            return _empty(), {}, {}
        encoded = json.loads(meta[b"gpubench.schemas"])
        schemas = {key: pa.ipc.read_schema(pa.py_buffer(base64.b64decode(value))) for key, value in encoded.items()}
        sets = json.loads(meta[b"gpubench.measured"])
        measured = {key: frozenset((suite, case) for suite, case in pairs) for key, pairs in sets.items()}
        frame = table.to_pandas(types_mapper=_PYTHON_TEXT.get)
    except Exception:  # no index yet, or one this version cannot read: rebuilt from runs/
        return _empty(), {}, {}
    schema_ids, measured_ids = set(frame["schema_id"].dropna().tolist()), set(frame["measured_id"].dropna().tolist())
    complete = schema_ids <= set(schemas) and measured_ids <= set(measured)
    if list(frame.columns) != list(COLUMNS) or not complete:
        return _empty(), {}, {}
    return frame, schemas, measured


def _save(
    location: Location, frame: pd.DataFrame, schemas: dict[str, pa.Schema], measured: dict[str, frozenset]
) -> None:
    """Write the index atomically; a store this reader cannot write keeps its old index."""
    encoded = {key: base64.b64encode(schema.serialize().to_pybytes()).decode() for key, schema in schemas.items()}
    sets = {key: sorted(pairs) for key, pairs in measured.items()}
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(
        {
            "gpubench.index_version": json.dumps(INDEX_VERSION),
            "gpubench.schemas": json.dumps(encoded),
            "gpubench.measured": json.dumps(sets),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    location.write_cache((INDEX_DIR, INDEX_FILE), buffer.getvalue())  # None: served from memory


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({"size": "int64", "cases": "Int64", "measured": "Int64"})
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True)
    return frame.sort_values(["started_at", "run_id", "file"], kind="stable", ignore_index=True)


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {column: pd.Series(dtype="datetime64[us, UTC]" if column == "started_at" else object) for column in COLUMNS}
    )


def _triples(frame: pd.DataFrame):
    if frame.empty:
        return []
    columns = frame["file"].tolist(), frame["size"].astype(int).tolist(), frame["modified"].astype(str).tolist()
    return zip(*columns, strict=True)  # lists: iterating arrow-backed columns costs a Python object per cell


def _measured_id(pairs: frozenset[tuple[str, str]]) -> str:
    return hashlib.sha256(json.dumps(sorted(pairs)).encode()).hexdigest()[:16]


def _schema_id(schema: pa.Schema) -> str:
    return hashlib.sha256(schema.serialize().to_pybytes()).hexdigest()[:16]


def forget_warnings() -> None:
    """A new command names the bad files it skips again (``gpubench.cli`` calls this per command)."""
    _WARNED.clear()


def _warn(location: Location, bad: pd.DataFrame) -> None:
    """Name each bad file once per process: ``gpubench: warning: skipped runs/X: why`` (the first
    ``WARN_AT_MOST``, then one line counting the rest)."""
    fresh = [(file, why) for file, why in zip(bad["file"], bad["problem"], strict=True)
             if (location.root, str(file)) not in _WARNED]  # fmt: skip
    for number, (file, why) in enumerate(fresh):
        _WARNED.add((location.root, str(file)))
        if number < WARN_AT_MOST:
            print(f"gpubench: warning: skipped {location.join('runs', str(file))}: {why}", file=sys.stderr)
    if len(fresh) > WARN_AT_MOST:
        more = len(fresh) - WARN_AT_MOST
        print(f"gpubench: warning: skipped {more} more bad run file(s) in {location.runs}", file=sys.stderr)


def _text(value) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())[:200]
