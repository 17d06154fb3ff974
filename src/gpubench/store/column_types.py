"""Column types of data we do not control: one typed column where the values agree, JSON text where not.

A parameter's values may mix types (``parametrize("indent", [None, 2, "\\t"])``), and so may one
column across run files written by different suites or versions. Parquet needs one type per
column, and a reader needs one type per column across every file it reads, so:

* within a run (``typed_values``): values of one kind keep it (``None`` is missing, not a kind;
  ints and floats agree as numbers while the ints stay exact in a float); lists and dicts are their
  JSON text; a mix of kinds becomes the JSON text of each value (``2`` -> ``"2"``, ``"a"`` ->
  ``"\\"a\\""``), so that no two values read alike;
* across runs (``unify_column_types``): a column whose kind differs between frames becomes the
  JSON text of its values in every frame.

A run file names the columns it holds as JSON text in ``frame.attrs[JSON_COLUMNS]`` (pandas keeps
``attrs`` in the parquet file). docs/SCHEMA.md says the same for users.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

JSON_COLUMNS = "gpubench_json_columns"
_EXACT_IN_FLOAT = 2**53


def value_kind(value: Any) -> str | None:
    """``bool``, ``int``, ``float``, ``str`` or ``json`` (lists, dicts, anything else); None when missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "float"
    if isinstance(value, str):
        return "str"
    return "json"


def json_text(value: Any) -> str | None:
    """A value as compact JSON text (None stays None: missing is not a value).

    Lossless: a NaN or an infinity inside a list is written as Python's ``json`` writes it
    (``NaN``, ``Infinity``), which ``json.loads`` reads back; the text is a string either way.
    """
    if value_kind(value) is None:
        return None
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def typed_values(values: Sequence[Any]) -> tuple[list[Any], bool]:
    """The values of one column of one run, and whether they became JSON text (see the module doc)."""
    kinds = {value_kind(value) for value in values} - {None}
    if kinds == {"int", "float"} and all(
        abs(value) <= _EXACT_IN_FLOAT for value in values if value_kind(value) == "int"
    ):
        kinds = {"float"}
    if len(kinds) <= 1 and kinds != {"json"}:
        return list(values), False
    return [json_text(value) for value in values], True


def json_columns(frame: pd.DataFrame) -> set[str]:
    """The columns of ``frame`` (one run file) that hold JSON text."""
    return set(frame.attrs.get(JSON_COLUMNS) or ())


def mark_json_columns(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    frame.attrs[JSON_COLUMNS] = sorted(set(columns) & set(frame.columns))
    return frame


def column_kind(series: pd.Series, is_json: bool = False) -> str | None:
    """What a stored column holds: ``json``, ``bool``, ``number``, ``datetime``, ``str``, ``list``; None if empty."""
    if is_json:
        return "json"
    if series.isna().all():
        return None
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    kinds = {value_kind(value) for value in series} - {None}
    if kinds == {"str"}:
        return "str"
    if kinds <= {"json"} and all(isinstance(v, (list, np.ndarray)) for v in series.dropna()):
        return "list"
    return "mixed"


def unify_column_types(frames: Sequence[pd.DataFrame]) -> list[pd.DataFrame]:
    """Frames (one per run file) whose shared columns agree in kind, ready for ``pd.concat``.

    A column whose kind differs between frames (``str`` in one run, ``number`` in another; JSON
    text in one, typed in another), or that mixes kinds inside one frame (a file no ingest of
    ours wrote), becomes the JSON text of its values in every frame and is named in the result's
    ``attrs[JSON_COLUMNS]``. Integer and float columns agree (as numbers). Frames are not modified.
    """
    kinds: dict[str, set[str]] = {}
    for frame in frames:
        marked = json_columns(frame)
        for column in frame.columns:
            kind = column_kind(frame[column], column in marked)
            if kind is not None:
                kinds.setdefault(column, set()).add(kind)
    to_json = {column for column, seen in kinds.items() if len(seen) > 1 or seen == {"mixed"}}
    out = []
    for frame in frames:
        marked = json_columns(frame)
        frame = frame.copy(deep=False)
        for column in frame.columns:
            if column in to_json and column not in marked:
                frame[column] = pd.Series(
                    [json_text(value) for value in frame[column]], index=frame.index, dtype=object
                )
        out.append(mark_json_columns(frame, marked | (to_json & set(frame.columns))))
    return out
