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


JSON_TEXT = {b"gpubench.json": b"1"}  # field metadata: this file stores the column as JSON text


def mark_json_fields(schema: pa.Schema, json_columns: set[str]) -> pa.Schema:
    """``schema`` with the columns a run file stores as JSON text (``column_types``) marked."""
    return pa.schema([field.with_metadata(JSON_TEXT) if field.name in json_columns else field for field in schema])


def unified_schema(schemas: list[pa.Schema]) -> pa.Schema:
    """One type per column over ``schemas``: agreeing types stay, integers and floats meet as
    float64, timestamps as UTC microseconds; a column whose kinds disagree otherwise (text in one
    file, a number or JSON text in another) is read as each value's JSON text, marked, as ingest
    stores mixed columns (``column_types``), so that no two values read alike."""
    kinds: dict[str, list[tuple[pa.DataType, bool]]] = {}
    for schema in schemas:
        for field in schema:
            kinds.setdefault(field.name, []).append((_plain(field.type), _is_json(field)))
    return pa.schema([_settle(name, found) for name, found in kinds.items()])


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with the columns of ``schema`` it has, each brought to the settled type."""
    columns, fields = [], []
    for field in schema:
        if field.name not in table.column_names:
            continue
        column = table.column(field.name)
        own_json = _is_json(table.schema.field(field.name))
        if _is_json(field) and not own_json:
            column = pa.chunked_array([_json_text(column.to_pylist())], type=pa.string())
        elif not column.type.equals(field.type):
            column = _cast(column, field.type)
        columns.append(column)
        fields.append(field)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _is_json(field: pa.Field) -> bool:
    return (field.metadata or {}).get(b"gpubench.json") == b"1"


def _plain(kind: pa.DataType) -> pa.DataType:
    """The type a reader sees: categories as their values (a hand-made file's categorical
    ``status``), lists of numbers as lists of floats (integer samples), timestamps in UTC."""
    if pa.types.is_dictionary(kind):
        return _plain(kind.value_type)
    if (pa.types.is_list(kind) or pa.types.is_large_list(kind)) and (
        pa.types.is_integer(kind.value_type) or pa.types.is_floating(kind.value_type)
    ):
        return pa.list_(pa.float64())
    if pa.types.is_large_string(kind):
        return pa.string()
    return kind


def _settle(name: str, found: list[tuple[pa.DataType, bool]]) -> pa.Field:
    distinct = [(kind, as_json) for kind, as_json in dict.fromkeys(found) if not pa.types.is_null(kind)]
    if not distinct:
        return pa.field(name, pa.null())
    if len(distinct) == 1:
        kind, as_json = distinct[0]
        return pa.field(name, kind, metadata=JSON_TEXT if as_json else None)
    types = [kind for kind, _ in distinct]
    if any(as_json for _, as_json in distinct):
        return pa.field(name, pa.string(), metadata=JSON_TEXT)
    if all(pa.types.is_integer(kind) or pa.types.is_floating(kind) for kind in types):
        return pa.field(name, pa.float64())
    if all(pa.types.is_timestamp(kind) for kind in types):
        return pa.field(name, pa.timestamp("us", tz="UTC"))
    if all(pa.types.is_string(kind) or pa.types.is_large_string(kind) for kind in types):
        return pa.field(name, pa.string())
    return pa.field(name, pa.string(), metadata=JSON_TEXT)


def _cast(column: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    if pa.types.is_timestamp(target) and pa.types.is_timestamp(column.type) and column.type.tz is None:
        column = column.cast(pa.timestamp(column.type.unit, tz="UTC"))
    # A start time finer than microseconds (a hand-made file's nanoseconds) is cut to them.
    return column.cast(target, safe=not pa.types.is_timestamp(target))


def _json_text(values: list) -> list[str | None]:
    return [None if value is None else json.dumps(value, default=str) for value in values]
