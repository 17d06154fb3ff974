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

import pandas as pd
import pyarrow as pa

from gpubench.store.validate import InvalidRunFile, validate_run_frame


def problem(frame: pd.DataFrame, path: str) -> str | None:
    """Why the run file at ``path`` cannot be read as a run (one line), or None when it can.

    The checks are the store's one validation layer (``validate.validate_run_frame``); a file a
    newer gpubench wrote raises ``NewerSchemaError``: refused, never skipped.
    """
    try:
        validate_run_frame(frame, path)
    except InvalidRunFile as error:
        return str(error).removeprefix(f"{path}: ")
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
