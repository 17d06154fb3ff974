"""The figures cache: each measured case's figures from every good run, read without the run files.

History, change points and a one-baseline comparison's noise priors need a case's figures from
every run of a machine (median, quartiles, headline rate, the run's setup), never its samples.
Opening 1,000 run files for that costs seconds; ``<results>/index/figures/`` holds the same rows
(``FIGURE_COLUMNS``, one row per measured case of a run) in parquet segments, read in one scan
with pushdown of the machine, suite and case filters.

Segments are shelved by machine: a segment holds the run files of one machine, and its name
starts with that machine's shelf (``shelf_of``), so a read of one machine opens only its own
segments, whatever the fleet's size. A run's machine is the runs index's (``machine`` of its
first row), as for every read of the store (``read_results(machine=...)``): the rows of a file
made by hand that names two hosts are its first row's machine's.

The run files stay the source of truth, as for the runs index: every read sets the segments it
opens against the refreshed runs index (``index.run_index``). Each segment names the run files
it covers, with their stamps, in its metadata; rows of files gone or changed are dropped, files
of the machines read not yet covered are read (only these columns, through ``read.read_files``,
so validated and unified as every read) into new segments of at most ``SEGMENT_FILES`` run files
each. Rows are sorted by machine, suite, case and time, so that one case's rows sit in few row
groups and row-group statistics skip the rest. A segment of ``SEGMENT_FILES`` files is full: it
is rewritten only when one of its files goes or changes. Past ``MAX_SEGMENTS`` open (smaller)
segments on a shelf, they are merged into full ones. Memory stays bounded by one segment's rows
whatever the store's size. Segments are written whole (``Location.write_cache``); two readers
refreshing at once may both add a segment for the same files: a file covered twice is read from
one segment only. A file in the folder that is not a segment of this version (another version's,
an older layout's, a copy) is removed at the next write. A store this reader cannot write is
served from memory, filtered as it is read.

Columns: the key columns (run id, start time, suite, case, status), ``file``, ``machine`` and
``position`` (the row's place in its run file, so cases keep their suite's order), the figures as
float64, and the run's setup (machine, environment, GPU UUID, profile, fullname) as text.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from gpubench import suites
from gpubench.store.index import INDEX_DIR, RunIndex, run_index
from gpubench.store.location import Location
from gpubench.store.machine import ENVIRONMENT_COLUMNS, MACHINE_COLUMNS

FIGURES_DIR = "figures"
SEGMENT_SUFFIX = ".parquet"
FIGURES_VERSION = 4  # 4: segments shelved by machine
MAX_SEGMENTS = 8  # open segments (under SEGMENT_FILES files) of a shelf before they are merged
SEGMENT_FILES = 1_000  # run files per full segment: about 443,000 rows of the quick profile
ATTEMPTS = 4  # scans tried while other readers merge segments, before reading the run files instead
SORT_ORDER = [(name, "ascending") for name in ("machine", "suite", "case", "started_at")]  # a machine's rows together
ROW_GROUP_ROWS = 8_192  # a machine's rows of one segment in one or two row groups: 2.3x faster scans than 32,768
FIGURES = ("median_s", "q1_s", "q3_s", *suites.all_headlines())
SETUP = (*MACHINE_COLUMNS, *ENVIRONMENT_COLUMNS, "gpu_uuid", "profile", "fullname")
TEXT = ("file", "run_id", "suite", "case", "status", "machine", *SETUP)
# Every column a figures row has: what history, change points and noise priors read.
FIGURE_COLUMNS = (*FIGURES, *SETUP)
SCHEMA = pa.schema(
    [
        *((name, pa.string()) for name in TEXT[:6]),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("position", pa.int32()),  # the row's place in its run file: the suite's own order of cases
        *((name, pa.float64()) for name in FIGURES),
        *((name, pa.string()) for name in SETUP),
    ]
)
_META_FILES = b"gpubench.figures_files"
_META_VERSION = b"gpubench.figures_version"
_SEGMENT_NAME = re.compile(r"([0-9a-f]{16})-[0-9a-f]{20}\.parquet")


def shelf_of(machine: str) -> str:
    """The shelf of a machine's segments: 16 hex digits of its key's hash (a key is any text)."""
    return hashlib.sha256(machine.encode()).hexdigest()[:16]


@dataclass
class _Segment:
    path: str
    files: dict[str, tuple[int, str]]  # run file -> its stamp (size, modified) when the rows were read
    shelf: str = ""
    foreign: bool = False  # another version's, another layout's or unreadable: removed at the next write


def read_figures(
    results_dir: str | os.PathLike | Location | RunIndex,
    *,
    machine: str | Collection[str] | None = None,
    suites: list[str] | None = None,
    cases: set[str] | None = None,
    case_regex: str | None = None,
) -> pd.DataFrame:
    """Figures rows of the measured cases the filters keep, oldest run first, as ``read_results``
    returns them (``machine``: a machine key, or several; ``case_regex``: RE2, searched; a
    ``RunIndex`` just refreshed is used as it is)."""
    index = run_index(results_dir)
    if case_regex is not None:  # the case names it matches, from the index: then row groups can be skipped
        named = _cases_matching(index, case_regex)
        if named is not None:
            cases, case_regex = named if cases is None else named & set(cases), None
    machines = None if machine is None else {machine} if isinstance(machine, str) else set(machine)
    rows = _row_filter(machine, suites, cases, case_regex)
    for _ in range(ATTEMPTS):
        try:
            table = _scan(index, rows, machines)
            break
        except (OSError, pa.ArrowException):  # another reader merged segments away under this one
            continue
    else:  # segments kept changing under this reader: every figure from the run files, in memory
        parts = list(_built(index, _files_of(index, machines), rows))
        table = pa.concat_tables(parts) if parts else SCHEMA.empty_table()
    frame = table.to_pandas(types_mapper=_PANDAS_TYPES.get)
    frame = frame.sort_values(["started_at", "run_id", "position"], kind="stable", ignore_index=True)
    return frame.drop(columns="position")


def _scan(index: RunIndex, rows: ds.Expression | None, machines: set[str] | None) -> pa.Table:
    parts = []
    for source in _sources(index, rows, machines):
        if isinstance(source, ds.Dataset):
            parts.append(source.to_table(filter=rows))
        else:
            parts.append(source if rows is None else source.filter(rows))
    return pa.concat_tables(parts) if parts else SCHEMA.empty_table()


def _cases_matching(index: RunIndex, case_regex: str) -> set[str] | None:
    """Every measured case name the runs index knows that ``case_regex`` matches (RE2: linear)."""
    from gpubench.store.read import matching

    names = sorted({case for pairs in index.measured.values() for _, case in pairs})
    return {name for name, hit in zip(names, matching(names, case_regex), strict=True) if hit}


def _sources(index: RunIndex, rows: ds.Expression | None, machines: set[str] | None) -> list[ds.Dataset | pa.Table]:
    """Where the figures of the good runs of ``machines`` (None: all) are now: their shelves'
    segments (brought up to date on the way), or, for a store this reader cannot write, tables
    in memory (already filtered by ``rows``)."""
    location = index.location
    runs = index.runs
    # Lists first, as every reader of the index does (index._PYTHON_TEXT).
    files, sizes, stamps = runs["file"].tolist(), runs["size"].tolist(), runs["modified"].tolist()
    good = {str(file): (int(size), str(modified)) for file, size, modified in zip(files, sizes, stamps, strict=True)}
    machine_of = dict(zip(files, runs["machine"].tolist(), strict=True))
    shelves = None if machines is None else set(map(shelf_of, machines))
    segments = _segments(location, shelves)
    owner: dict[str, str] = {}  # run file -> the one segment its rows are read from
    for segment in segments:
        for file, stamp in segment.files.items():
            if good.get(file) == stamp:
                owner.setdefault(file, segment.path)
    # A segment holding rows of a file gone, changed or also held elsewhere is rewritten.
    dirty = [segment for segment in segments
             if segment.foreign or any(owner.get(file) != segment.path for file in segment.files)]  # fmt: skip
    missing = [file for file in files if file not in owner and (machines is None or machine_of[file] in machines)]
    writable, pending = True, []  # pending: rows of files no segment could take, in memory
    for batch in _batches(missing, machine_of):
        table = _build(index, batch)
        if writable:
            try:
                added = _put(location, table, {file: good[file] for file in batch}, shelf_of(machine_of[batch[0]]))
            except OSError:  # a store this reader cannot write
                writable = False
            else:
                segments = [segment for segment in segments if segment.path != added.path] + [added]
                owner.update(dict.fromkeys(batch, added.path))
                continue
        pending.append(table if rows is None else table.filter(rows))
    if writable:
        try:
            if dirty or any(len(opened) > MAX_SEGMENTS for opened in _open_by_shelf(segments, dirty).values()):
                segments = _merge(location, segments, dirty, owner, good)
            return [_dataset(location, [segment.path for segment in segments])] if segments else []
        except OSError:
            pass
    # What is current, without writing: clean segments as they are, the owned rows of dirty ones.
    clean = [segment.path for segment in segments if segment not in dirty and segment.path in owner.values()]
    kept = [_read_segment(location, segment.path, owned) for segment in dirty if (owned := _owned(owner, segment))]
    kept = [table if rows is None else table.filter(rows) for table in kept]
    return [*([_dataset(location, clean)] if clean else []), *kept, *pending]


def _files_of(index: RunIndex, machines: set[str] | None) -> list[str]:
    """The good run files of ``machines`` (None: every one), oldest first."""
    files = index.runs["file"].tolist()
    if machines is None:
        return files
    return [file for file, key in zip(files, index.runs["machine"].tolist(), strict=True) if key in machines]


def _open_by_shelf(segments: list[_Segment], dirty: list[_Segment]) -> dict[str, list[_Segment]]:
    """Per shelf, its clean segments under ``SEGMENT_FILES`` files, smallest first."""
    shelves: dict[str, list[_Segment]] = {}
    for segment in sorted(segments, key=lambda segment: len(segment.files)):
        if segment not in dirty and len(segment.files) < SEGMENT_FILES:
            shelves.setdefault(segment.shelf, []).append(segment)
    return shelves


def _merge(
    location: Location, segments: list[_Segment], dirty: list[_Segment], owner: dict[str, str], good: dict
) -> list[_Segment]:
    """Per shelf, the dirty segments, and the open ones once more than ``MAX_SEGMENTS`` are,
    rewritten into segments of about ``SEGMENT_FILES`` files (smallest first), one output segment
    in memory at a time. A full segment is rewritten only when dirty, so a year of nightly
    segments costs each row a rewrite about once per ``MAX_SEGMENTS`` nights until its segment is
    full, then never. Foreign segments are removed."""
    opened = _open_by_shelf(segments, dirty)
    merged = [*dirty, *(segment for shelf in opened.values() if len(shelf) > MAX_SEGMENTS for segment in shelf)]
    result = [segment for segment in segments if segment not in merged]
    for shelf in dict.fromkeys(segment.shelf for segment in merged if not segment.foreign):
        tables: list[pa.Table] = []
        stamps: dict[str, tuple[int, str]] = {}
        on_shelf = [segment for segment in merged if segment.shelf == shelf and not segment.foreign]
        for position, segment in enumerate(on_shelf):
            if owned := _owned(owner, segment):
                tables.append(_read_segment(location, segment.path, owned))
                stamps.update((file, good[file]) for file in owned)
            if stamps and (len(stamps) >= SEGMENT_FILES or position == len(on_shelf) - 1):
                result.append(_put(location, pa.concat_tables(tables).sort_by(SORT_ORDER), stamps, shelf))
                tables, stamps = [], {}
    for segment in merged:
        if all(segment.path != other.path for other in result):
            location.remove(segment.path)
    return result


def _owned(owner: dict[str, str], segment: _Segment) -> list[str]:
    return [file for file in segment.files if owner.get(file) == segment.path]


def _dataset(location: Location, paths: list[str]) -> ds.Dataset:
    return ds.dataset(paths, schema=SCHEMA, format="parquet", filesystem=location.arrow_filesystem())


def _segments(location: Location, shelves: set[str] | None) -> list[_Segment]:
    """The segments of ``shelves`` (None: all), and every file that is no segment of this layout."""
    found = []
    filesystem = location.arrow_filesystem()
    for path in location.list_cache((INDEX_DIR, FIGURES_DIR), SEGMENT_SUFFIX):
        name = _SEGMENT_NAME.fullmatch(path.rsplit("/", 1)[-1])
        if name is None:  # an older layout's segment, a copy: never read, removed at the next write
            found.append(_Segment(path, {}, foreign=True))
            continue
        if shelves is not None and name[1] not in shelves:
            continue
        try:  # the footer only
            meta = pq.read_schema(path, filesystem=filesystem).metadata or {}
            if json.loads(meta.get(_META_VERSION, b"0")) != FIGURES_VERSION:
                raise ValueError("another version's segment")
            files = {str(file): (int(size), str(modified)) for file, size, modified in json.loads(meta[_META_FILES])}
        except FileNotFoundError:  # another reader merged it away since the listing
            continue
        except Exception:  # a segment this version cannot read: ignored, its rows rebuilt from the run files
            found.append(_Segment(path, {}, name[1], foreign=True))
            continue
        found.append(_Segment(path, files, name[1]))
    return found


def _batches(files: list[str], machine_of: dict[str, str]) -> list[list[str]]:
    """``files`` in batches of one machine's files, at most a segment's worth each."""
    by_machine: dict[str, list[str]] = {}
    for file in files:
        by_machine.setdefault(machine_of[file], []).append(file)
    return [batch for group in by_machine.values() for batch in _chunks(group)]


def _chunks(files: list[str]) -> list[list[str]]:
    return [files[start : start + SEGMENT_FILES] for start in range(0, len(files), SEGMENT_FILES)]


def _built(index: RunIndex, files: list[str], rows: ds.Expression | None = None) -> Iterator[pa.Table]:
    """The figures rows of ``files``, a segment's worth of run files at a time (filtered by ``rows``)."""
    for batch in _chunks(files):
        table = _build(index, batch)
        yield table if rows is None else table.filter(rows)


def _build(index: RunIndex, files: list[str]) -> pa.Table:
    """The figures rows of these run files, read through the store's one read path."""
    from gpubench.store.read import read_files

    runs = index.runs[index.runs["file"].isin(set(files))]
    frame = read_files(index, runs, FIGURE_COLUMNS, pc.field("status") == "ok")
    frame = frame.merge(runs[["run_id", "file", "machine"]], on="run_id", how="left")  # the run's machine
    frame["position"] = frame.groupby("run_id", sort=False).cumcount()  # read_files keeps each file's order
    return _as_segment_table(frame).sort_by(SORT_ORDER)


def _as_segment_table(frame: pd.DataFrame) -> pa.Table:
    columns = {}
    for field in SCHEMA:
        if field.name not in frame:
            columns[field.name] = pa.nulls(len(frame), field.type)
        elif pa.types.is_string(field.type):
            values = frame[field.name].astype("string")
            columns[field.name] = pa.array(values.astype(object).where(values.notna(), None), pa.string())
        elif pa.types.is_floating(field.type):
            columns[field.name] = pa.array(
                pd.to_numeric(frame[field.name], errors="coerce").astype(float), pa.float64()
            )
        elif pa.types.is_integer(field.type):
            columns[field.name] = pa.array(frame[field.name].to_numpy(), field.type)
        else:  # a start time finer than the cache's microseconds is cut to them
            columns[field.name] = pa.array(pd.to_datetime(frame[field.name], utc=True)).cast(field.type, safe=False)
    return pa.table(columns, schema=SCHEMA)


def _read_segment(location: Location, path: str, files: list[str]) -> pa.Table:
    table = pq.read_table(io.BytesIO(location.read_bytes(path)), schema=SCHEMA)
    return table.filter(pc.field("file").isin(pa.array(files, pa.string())))


def _put(location: Location, table: pa.Table, stamps: dict[str, tuple[int, str]], shelf: str) -> _Segment:
    """A segment written whole on ``shelf``, named by the run files it covers (two readers adding
    the same files write the same name). ``OSError`` when the store cannot be written."""
    covered = sorted([file, size, modified] for file, (size, modified) in stamps.items())
    name = f"{shelf}-{hashlib.sha256(json.dumps(covered).encode()).hexdigest()[:20]}{SEGMENT_SUFFIX}"
    meta = {_META_VERSION: json.dumps(FIGURES_VERSION).encode(), _META_FILES: json.dumps(covered).encode()}
    buffer = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(meta), buffer, row_group_size=ROW_GROUP_ROWS)
    path = location.write_cache((INDEX_DIR, FIGURES_DIR, name), buffer.getvalue())
    if path is None:
        raise OSError(f"{location.join(INDEX_DIR, FIGURES_DIR)}: cannot be written")
    return _Segment(path, dict(stamps), shelf)


def _row_filter(
    machine: str | Collection[str] | None, suites: list[str] | None, cases: set[str] | None, case_regex: str | None
) -> ds.Expression | None:
    parts = []
    if isinstance(machine, str):
        parts.append(pc.field("machine") == machine)
    elif machine is not None:
        parts.append(pc.field("machine").isin(pa.array(sorted(set(machine)), pa.string())))
    if suites is not None:
        parts.append(pc.field("suite").isin(pa.array(sorted(set(suites)), pa.string())))
    if cases is not None:
        parts.append(pc.field("case").isin(pa.array(sorted(set(cases)), pa.string())))
    if case_regex is not None:
        parts.append(pc.match_substring_regex(pc.field("case"), case_regex))
    expression = None
    for part in parts:
        expression = part if expression is None else expression & part
    return expression


_PANDAS_TYPES = {pa.float64(): pd.Float64Dtype(), pa.string(): pd.StringDtype()}
