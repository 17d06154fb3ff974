"""What a run file must pass before any view sees it, and how its columns come to agree with others'.

Run files arrive from ingest, from other nodes, from older gpubench versions and by hand. Each is
checked once when the index first meets it (``problem``: one line, or None) and a bad one is left
out of every read, named, never a crash. Files may disagree on a column's type (an integer metric
in one run, a float in the next; a parameter that became a string); ``unified_schema`` settles
one type per column and ``conform`` brings each group of files to it. These two functions are
the one place where validation and type unification happen.
"""

from __future__ import annotations

import json
import math

import pandas as pd
import pyarrow as pa

from gpubench.store.schema import SCHEMA_VERSION

REQUIRED = ("run_id", "started_at", "suite", "case", "status")
EARLIEST = pd.Timestamp("2000-01-01", tz="UTC")
TIME_COLUMNS = ("median_s", "q1_s", "q3_s", "min_s", "max_s", "mean_s")


class NewerSchema(Exception):
    """A file written by a newer gpubench: refused rather than misread."""


def problem(frame: pd.DataFrame, path: str) -> str | None:
    """Why the run file at ``path`` cannot be read as a run, or None when it can.

    A placeholder for ``gpubench.store.validate.validate_run_frame`` (issue 10): required columns,
    one run id, start time in range, measured times positive and finite.
    """
    missing = [column for column in REQUIRED if column not in frame]
    if missing:
        return f"no {', '.join(missing)} column"
    if frame.empty:
        return "no rows"
    versions = pd.to_numeric(frame["schema_version"], errors="coerce") if "schema_version" in frame else []
    if len(versions) and versions.max() > SCHEMA_VERSION:
        raise NewerSchema(f"{path}: schema version {versions.max()} is newer than this gpubench ({SCHEMA_VERSION})")
    if frame["run_id"].nunique(dropna=False) != 1 or pd.isna(frame["run_id"].iloc[0]):
        return "not exactly one run id"
    started = pd.to_datetime(frame["started_at"], utc=True, errors="coerce")
    latest = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)
    if started.isna().any() or (started < EARLIEST).any() or (started > latest).any():
        return "started_at missing or out of range"
    measured = frame[frame["status"] == "ok"]
    for column in TIME_COLUMNS:
        if column in measured:
            values = pd.to_numeric(measured[column], errors="coerce").astype(float)
            if (~(values > 0) & values.notna()).any() or values.isin([math.inf]).any():
                return f"{column} not positive and finite"
    if "samples_s" in measured:
        for samples in measured["samples_s"].dropna():
            if any(not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0) for v in samples):
                return "samples_s not positive and finite"
    return None


def unified_schema(schemas: list[pa.Schema]) -> pa.Schema:
    """One type per column over ``schemas``: agreeing types stay, integers and floats meet as
    float64, timestamps as UTC microseconds, anything else that disagrees is read as text."""
    types: dict[str, list[pa.DataType]] = {}
    for schema in schemas:
        for field in schema:
            types.setdefault(field.name, []).append(field.type)
    return pa.schema([pa.field(name, _settle(kinds)) for name, kinds in types.items()])


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with the columns of ``schema`` it has, each cast to the settled type (text as JSON)."""
    columns, fields = [], []
    for field in schema:
        if field.name not in table.column_names:
            continue
        column = table.column(field.name)
        if not column.type.equals(field.type):
            column = _cast(column, field.type)
        columns.append(column)
        fields.append(field)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _settle(kinds: list[pa.DataType]) -> pa.DataType:
    distinct = [kind for kind in dict.fromkeys(kinds) if not pa.types.is_null(kind)]
    if not distinct:
        return pa.null()
    if len(distinct) == 1:
        return distinct[0]
    if all(pa.types.is_integer(kind) or pa.types.is_floating(kind) for kind in distinct):
        return pa.float64()
    if all(pa.types.is_timestamp(kind) for kind in distinct):
        return pa.timestamp("us", tz="UTC")
    if all(pa.types.is_string(kind) or pa.types.is_large_string(kind) for kind in distinct):
        return pa.string()
    return pa.string()


def _cast(column: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    if pa.types.is_string(target) and not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return pa.chunked_array([_json_text(column.to_pylist())], type=pa.string())
    if pa.types.is_timestamp(target) and pa.types.is_timestamp(column.type) and column.type.tz is None:
        column = column.cast(pa.timestamp(column.type.unit, tz="UTC"))
    return column.cast(target)


def _json_text(values: list) -> list[str | None]:
    return [None if value is None else json.dumps(value, default=str) for value in values]
