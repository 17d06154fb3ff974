"""Reading the store back: only the runs, rows and columns asked for, as one DataFrame.

The runs index (``index.py``) chooses the files (by run id, machine, suite) without opening
them; pyarrow.dataset then reads those files with projection (only the columns asked for) and
predicate pushdown (suite, case, status filters applied while scanning). Files are read in
groups that share one column schema; ``admit.conform`` brings each group to the schema the
groups settle on together, so a column whose type changed between gpubench versions still reads
as one column. Why pyarrow.dataset and not DuckDB: docs/SCHEMA.md, "The read path".
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from gpubench.measure.quartiles import with_sample_quartiles
from gpubench.store.admit import conform, unified_schema
from gpubench.store.index import RunIndex, run_index
from gpubench.store.run_id import validate_run_id
from gpubench.store.schema import CASE_COLUMNS, RUN_COLUMNS, StoreError

# Always read: what identifies and orders a row.
KEY_COLUMNS = ("run_id", "started_at", "suite", "case", "status")
# Figures _after_read recomputes from the samples for old runs, and what it needs to.
QUARTILE_COLUMNS = ("median_s", "q1_s", "q3_s", "iqr_s")
QUARTILE_INPUTS = ("median_s", "samples_s", "quartile_source")
_PANDAS_TYPES = {
    pa.int8(): pd.Int64Dtype(),
    pa.int16(): pd.Int64Dtype(),
    pa.int32(): pd.Int64Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.Int64Dtype(),
    pa.uint16(): pd.Int64Dtype(),
    pa.uint32(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
    pa.float32(): pd.Float64Dtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.string(): pd.StringDtype(),
    pa.large_string(): pd.StringDtype(),
}


def read_results(
    results_dir: str | os.PathLike | RunIndex,
    run_id: str | None = None,
    *,
    run_ids: Iterable[str] | None = None,
    columns: Sequence[str] | None = None,
    suites: Iterable[str] | None = None,
    cases: Iterable[str] | None = None,
    case_regex: str | None = None,
    machine: str | None = None,
    status: str | None = None,
) -> pd.DataFrame:
    """Stored rows as one DataFrame, oldest run first: every run, or those the filters keep.

    ``run_id``/``run_ids``: these runs (an unknown id is an error); ``machine``: runs of this
    machine key (``store.machine_key``); ``suites``, ``cases`` (exact names), ``case_regex``
    (RE2, searched), ``status`` (``ok``, ``skipped``): these rows; ``columns``: only these
    columns (plus run_id, started_at, suite, case, status), those no run has left out. A
    ``RunIndex`` just refreshed is read as it is.
    """
    asked = run_id is not None or run_ids is not None
    # Runs asked for by id: only their files matter, so the others' problems are not named.
    index = run_index(results_dir, warn=not asked)
    wanted = [validate_run_id(run_id)] if run_id is not None else []
    wanted += [validate_run_id(each) for each in run_ids] if run_ids is not None else []
    runs = select_runs(index, run_ids=wanted if (run_id is not None or run_ids is not None) else None)
    if machine is not None:
        runs = runs[runs["machine"] == machine]
    suites = None if suites is None else sorted(set(suites))
    if suites is not None:
        runs = runs[[bool(set(_suites(text)) & set(suites)) for text in runs["suites"].tolist()]]
    if status == "ok" and (cases is not None or case_regex is not None):
        cases = None if cases is None else set(cases)
        runs = _measuring(index, runs, cases, case_regex)
    rows = _row_filter(suites, cases, case_regex, status)
    return read_files(index, runs, columns, rows, strict=asked)


def select_runs(index: RunIndex, run_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Index rows of the good runs (all, or ``run_ids``: each must be there), oldest first."""
    runs = index.runs
    if run_ids is None:
        return runs
    missing = sorted(set(run_ids) - set(runs["run_id"].tolist()))
    for run_id in missing:  # a run asked for whose file the readers skip: say why
        bad = index.bad[index.bad["file"].astype(str) == f"{run_id}.parquet"]
        if len(bad):
            raise StoreError(f"{index.path_of(f'{run_id}.parquet')}: {bad['problem'].iloc[0]}")
    if missing:
        raise StoreError(f"run {', '.join(missing)} is not in {index.location.root}")
    return runs[runs["run_id"].isin(set(run_ids))]


def read_files(
    index: RunIndex,
    runs: pd.DataFrame,
    columns: Sequence[str] | None = None,
    rows: ds.Expression | None = None,
    *,
    strict: bool = False,
) -> pd.DataFrame:
    """The rows of the run files in ``runs`` (index rows) that ``rows`` keeps, as one DataFrame.

    A file that no longer reads (changed in place with its size and modification time kept, as
    silent corruption is) is skipped, named on stderr; ``strict`` (runs asked for by id): an error
    naming it instead."""
    if runs.empty:
        return _empty(columns)
    groups = {schema_id: files for schema_id, files in runs.groupby("schema_id", sort=False)["file"]}
    schema = unified_schema([index.schemas[schema_id] for schema_id in groups])
    wanted = _projection(schema, columns)
    filesystem = index.location.arrow_filesystem()
    tables = []
    for schema_id, files in groups.items():
        own = index.schemas[schema_id]
        paths = [index.path_of(file) for file in files]
        here = [name for name in wanted if name in own.names]
        try:
            dataset = ds.dataset(paths, schema=own, format="parquet", filesystem=filesystem)
            table = dataset.to_table(columns=here, filter=rows)
        except (OSError, pa.ArrowException):  # one of the files no longer reads: each on its own
            table = _file_by_file(paths, own, here, rows, filesystem, strict)
        tables.append(conform(table, schema))  # the one place where column types are unified
    table = pa.concat_tables(tables, promote_options="default")
    frame = table.to_pandas(types_mapper=_PANDAS_TYPES.get)
    frame = _after_read(frame)
    if columns is not None:  # inputs of the quartiles that the caller did not ask for
        frame = frame.drop(columns=[name for name in QUARTILE_INPUTS if name in frame and name not in columns])
    return frame.sort_values(["started_at", "run_id"], kind="stable", ignore_index=True)


def _file_by_file(paths: list[str], schema: pa.Schema, columns: list[str], rows, filesystem, strict: bool) -> pa.Table:
    from gpubench.files.terminal import printable
    from gpubench.store.validate import InvalidRunFile

    tables = [schema.empty_table().select(columns)]
    for path in paths:
        try:
            tables.append(ds.dataset(path, schema=schema, format="parquet", filesystem=filesystem)
                          .to_table(columns=columns, filter=rows))  # fmt: skip
        except (OSError, pa.ArrowException) as error:
            why = f"{path}: no longer reads ({' '.join(str(error).split())[:160]}): changed since it was indexed"
            if strict:
                raise InvalidRunFile(f"{why}; gpubench store check names what is wrong") from None
            print(f"gpubench: warning: skipped {printable(why)} (gpubench store check)", file=sys.stderr)
    return pa.concat_tables(tables)


def list_runs(results_dir: str | os.PathLike | RunIndex) -> pd.DataFrame:
    """One row per stored run, oldest first: id, start time, profile, host, GPU, machine key,
    suites (comma-separated), case count and environment (JSON). Read from the index (or the
    one given): no run file is opened."""
    runs = run_index(results_dir).runs
    columns = ["run_id", "started_at", "profile", "hostname", "gpu_name", "machine", "suites", "cases", "environment"]
    out = runs[columns]
    return out.reset_index(drop=True)


def latest_run_id(results_dir: str | os.PathLike) -> str:
    """The latest run that holds a judged suite (a run of ``gpubench verify`` alone is never picked)."""
    from gpubench.suites import unjudged_suites

    runs = list_runs(results_dir)
    own = [not set(_suites(text)) <= unjudged_suites() for text in runs["suites"].tolist()]
    if not any(own):
        raise StoreError(f"no run in {results_dir}" + (" (only gpubench verify's)" if len(runs) else ""))
    runs = runs[own]
    return str(runs["run_id"].iloc[-1])


MAX_PATTERN = 1000  # characters of a --case pattern


def case_pattern_regex(pattern: str) -> str:
    """``--case`` patterns as RE2: a substring, where ``*`` and ``?`` are wildcards (a run of
    ``*`` is one). RE2 matches in time linear in the name, whatever the pattern; Python's ``re``
    backtracks (``'****X'``: minutes on 8 runs), so no case name is ever matched with it:
    ``matching`` and the scans' filters run RE2 (pyarrow's)."""
    if len(pattern) > MAX_PATTERN:
        raise StoreError(f"--case pattern of {len(pattern)} characters; at most {MAX_PATTERN}")
    if "*" in pattern or "?" in pattern:
        pattern = re.sub(r"\*+", "*", pattern)
        return "(?s)" + "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.escape(pattern)


def matching(names: Sequence[str], regex: str) -> list[bool]:
    """Which of ``names`` ``regex`` (RE2) is found in: linear time (pyarrow's RE2, never ``re``)."""
    if not len(names):
        return []
    try:
        found = pc.match_substring_regex(pa.array([str(name) for name in names], pa.string()), regex)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise StoreError(f"not a pattern RE2 can match ({' '.join(str(error).split())[:160]})") from None
    return [bool(value) for value in found.to_pylist()]


def _after_read(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-run post-processing of every row read: quartiles recomputed from the samples for runs
    stored before ingest computed them."""
    return with_sample_quartiles(frame)


def _measuring(index: RunIndex, runs: pd.DataFrame, cases: set[str] | None, case_regex: str | None) -> pd.DataFrame:
    """The runs that measured one of the cases asked for (by the index; no file opened)."""
    answers: dict[str, bool] = {}
    every = sorted(
        {case for measured_id in set(runs["measured_id"].tolist()) for _, case in index.measured[measured_id]}
    )
    found = set(every) if case_regex is None else {name for name, hit in zip(every, matching(every, case_regex),
                                                                                strict=True) if hit}  # fmt: skip
    for measured_id in set(runs["measured_id"].tolist()):
        names = {case for _, case in index.measured[measured_id]}
        answers[measured_id] = any((cases is None or name in cases) and name in found for name in names)
    return runs[runs["measured_id"].map(answers).astype(bool)]


def _row_filter(
    suites: list[str] | None, cases: Iterable[str] | None, case_regex: str | None, status: str | None
) -> ds.Expression | None:
    parts = []
    if suites is not None:
        parts.append(pc.field("suite").isin(suites))
    if cases is not None:
        parts.append(pc.field("case").isin(sorted(set(cases))))
    if case_regex is not None:
        parts.append(pc.match_substring_regex(pc.field("case"), case_regex))
    if status is not None:
        parts.append(pc.field("status") == status)
    if not parts:
        return None
    expression = parts[0]
    for part in parts[1:]:
        expression = expression & part
    return expression


def _projection(schema: pa.Schema, columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return list(schema.names)
    wanted = [*KEY_COLUMNS, *columns]
    if set(columns) & set(QUARTILE_COLUMNS):  # what _after_read recomputes them from
        wanted += QUARTILE_INPUTS
    return [name for name in dict.fromkeys(wanted) if name in schema.names]


def _suites(text) -> list[str]:
    return [part for part in str(text or "").split(",") if part]


def _empty(columns: Sequence[str] | None) -> pd.DataFrame:
    names = list(dict.fromkeys([*KEY_COLUMNS, *columns])) if columns else list(RUN_COLUMNS) + list(CASE_COLUMNS)
    return pd.DataFrame(columns=names)
