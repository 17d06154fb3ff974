"""Ingest: a pytest-benchmark JSON document (gpubench's or any other suite's) -> rows -> a run file.

Every document is checked first (``validate.validate_document``): it is either stored so that
every reader works on it, or refused with one line naming the file and the field. Columns whose
values mix types are stored as JSON text (``column_types``); a case name that two benchmarks of
one run share is told apart by their fullnames, and said so.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gpubench.files.jsonfile import read_json
from gpubench.measure.quartiles import SOURCE_COLUMN, quartile_columns
from gpubench.store.column_types import mark_json_columns, typed_values
from gpubench.store.schema import (
    CASE_COLUMNS,
    KNOWN_TYPES,
    RESERVED,
    RUN_COLUMNS,
    SCHEMA_VERSION,
    STAT_COLUMNS,
    StoreError,
)
from gpubench.store.validate import DocumentError, validate_document, validate_run_frame
from gpubench.store.write import write_run

# Columns ingest writes itself besides the schema's: the quartiles' mark.
OWN_COLUMNS = frozenset({SOURCE_COLUMN})


@dataclass(frozen=True)
class IngestedRun:
    run_id: str
    path: Path | str  # a local path, or the URL of a run in an object store
    measured: int
    skipped: int
    notes: tuple[str, ...] = ()  # what ingest changed and why (case names told apart), one line each


def load_json(path: str | os.PathLike) -> dict[str, Any]:
    """Read a pytest-benchmark JSON file, refusing anything that is not one."""
    data = read_json(path, StoreError)
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise StoreError(f"{path}: not pytest-benchmark output (no 'benchmarks' list)")
    validate_document(data, path)
    return data


def frame_from_json(data: dict[str, Any], source: str = "") -> pd.DataFrame:
    """One row per case of a pytest-benchmark JSON document, gpubench's or any other suite's."""
    return _frame_and_notes(data, source)[0]


def _frame_and_notes(data: dict[str, Any], source: str) -> tuple[pd.DataFrame, list[str]]:
    validate_document(data, source or "the document")
    block = data.get("gpubench") or {}
    run = {
        "schema_version": SCHEMA_VERSION,
        "run_id": block.get("run_id") or _derived_run_id(data),
        "started_at": _timestamp(block.get("started_at") or data.get("datetime")),
        "profile": block.get("profile"),
        "source": source,
    }
    env = _env_columns(data.get("machine_info") or {}, data.get("commit_info") or {})
    taken = RESERVED | OWN_COLUMNS | set(env)  # what a param, metric or info key must not overwrite
    rows = [_measured_row(bench, taken) for bench in data["benchmarks"]]
    rows += [_skipped_row(skip, taken) for skip in block.get("skipped") or []]
    notes = _tell_cases_apart(rows, source or "the document")
    rows = [{**run, **row, **env} for row in rows]
    if not rows:
        return pd.DataFrame(columns=list(RUN_COLUMNS) + list(CASE_COLUMNS)), notes
    columns, as_json = _typed_columns(rows)
    frame = pd.DataFrame(columns).convert_dtypes(dtype_backend="numpy_nullable")
    frame = frame.astype({column: kind for column, kind in KNOWN_TYPES.items() if column in frame})
    # Microseconds: what every reader and cache holds (a nanosecond start time is cut, not refused).
    frame["started_at"] = frame["started_at"].dt.floor("us").dt.as_unit("ns")
    return mark_json_columns(frame, as_json), notes


def ingest(json_path: str | os.PathLike, results_dir: str | os.PathLike) -> IngestedRun:
    """Add the run in ``json_path`` to the store; refuse a run id already there."""
    data = load_json(json_path)
    frame, notes = _frame_and_notes(data, source=Path(json_path).name)
    if frame.empty:
        raise StoreError(f"{json_path}: holds no benchmark and no skipped case")
    run_id = str(frame["run_id"].iloc[0])
    validate_run_frame(frame, f"{json_path} (as run {run_id})")
    path = write_run(frame, results_dir)
    skipped = int((frame["status"] == "skipped").sum())
    return IngestedRun(run_id, path, measured=len(frame) - skipped, skipped=skipped, notes=tuple(notes))


def _typed_columns(rows: list[dict[str, Any]]) -> tuple[dict[str, list[Any]], set[str]]:
    """Column -> values (None where a row lacks it); columns of mixed types as JSON text."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    columns, as_json = {}, set()
    for name in names:
        values = [row.get(name) for row in rows]
        if name in RESERVED or name in KNOWN_TYPES:
            columns[name] = values
            continue
        columns[name], is_json = typed_values(values)
        if is_json:
            as_json.add(name)
    return columns, as_json


def _tell_cases_apart(rows: list[dict[str, Any]], source: str) -> list[str]:
    """A case name two rows share becomes each row's fullname; rows no name tells apart are refused."""
    seen: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for row in rows:
        seen.setdefault((row["suite"], row["case"]), []).append(row)
    notes = []
    for (suite, case), group in seen.items():
        if len(group) == 1:
            continue
        fullnames = [row.get("fullname") for row in group]
        if None in fullnames or len(set(fullnames)) < len(fullnames):
            raise DocumentError(
                f"{source}: benchmarks: case {case!r} of suite {suite!r} appears {len(group)} times with the same "
                "name and fullname; one run cannot hold a case twice (rename one, or store them as two runs)"
            )
        for row in group:
            row["case"] = row["fullname"]
        notes.append(f"case {case!r} of suite {suite!r} appears {len(group)} times: stored under each fullname")
    return notes


def _measured_row(bench: dict[str, Any], taken: set[str]) -> dict[str, Any]:
    stats = bench["stats"]
    info = bench.get("extra_info") or {}
    ours = info.get("gpubench") if isinstance(info.get("gpubench"), dict) else None
    params = ours["params"] if ours else (bench.get("params") or {})
    row = {
        "suite": ours["suite"] if ours else _foreign_suite(bench),
        "case": ours["case"] if ours else bench.get("name"),
        "name": bench.get("name"),
        "fullname": bench.get("fullname"),
        "group": bench.get("group"),
        "status": "ok",
        "skip_reason": None,
        "ops_per_sample": ours.get("ops_per_sample") if ours else bench.get("stats", {}).get("iterations"),
        "clock": ours.get("clock") if ours else _text((bench.get("options") or {}).get("timer")),
        "samples_s": [float(value) for value in stats.get("data", []) if _is_number(value)] or None,
    }
    row.update({column: _number(stats.get(key)) for key, column in STAT_COLUMNS.items()})
    row.update(quartile_columns(row["samples_s"]))  # one definition whatever wrote stats (docs/SCHEMA.md)
    row.update(_columns(params, taken))
    if ours:
        row.update(_columns(ours.get("metrics") or {}, taken))
        row.update(_columns(ours.get("info") or {}, taken))
    else:
        row.update(_columns({key: value for key, value in info.items() if _is_scalar(value)}, taken))
    return row


def _skipped_row(skip: dict[str, Any], taken: set[str]) -> dict[str, Any]:
    row = {
        "suite": skip.get("suite"),
        "case": skip.get("case"),
        "name": skip.get("name"),
        "fullname": skip.get("fullname"),
        "group": skip.get("suite"),
        "status": "skipped",
        "skip_reason": skip.get("reason"),
    }
    row.update(_columns(skip.get("params") or {}, taken))
    return row


def _foreign_suite(bench: dict[str, Any]) -> str:
    if bench.get("group"):
        return str(bench["group"])
    fullname = str(bench.get("fullname") or bench.get("name") or "")
    return Path(fullname.split("::")[0]).stem or "benchmarks"


def _columns(values: dict[str, Any], taken: set[str]) -> dict[str, Any]:
    """Parameters, metrics and info as typed columns; a name the store uses itself (``taken``:
    its columns, the quartiles it computes, the run's environment) gets ``param_``, as often as
    it takes to be free."""
    out = {}
    for key, value in values.items():
        column = str(key)
        while column in taken or (column != key and column in values):
            column = f"param_{column}"
        out[column] = value  # lists, dicts and mixed types become JSON text in _typed_columns
    return out


def _env_columns(machine_info: dict[str, Any], commit_info: dict[str, Any]) -> dict[str, Any]:
    env = machine_info.get("gpubench")
    if isinstance(env, dict):
        columns = {key: value for key, value in env.items() if _is_scalar(value) or value is None}
    else:  # another suite: what pytest-benchmark itself records
        columns = {
            "hostname": machine_info.get("node"),
            "python_version": machine_info.get("python_version"),
            "cpu_model": (machine_info.get("cpu") or {}).get("brand_raw"),
            "git_commit": commit_info.get("id"),
        }
    columns.pop("profile", None)
    return {f"param_{key}" if key in RESERVED else key: value for key, value in columns.items()}


def _derived_run_id(data: dict[str, Any]) -> str:
    # Another suite's JSON has no run id: derive one from its time and content, so ingesting
    # the same file twice is recognised rather than stored twice.
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:8]
    stamp = _timestamp(data.get("datetime"))
    return f"{stamp.strftime('%Y%m%dT%H%M%SZ')}-{digest}"


def _timestamp(value: Any) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value) if value else pd.Timestamp.now(tz="UTC")
    except (ValueError, TypeError):
        raise StoreError(f"unreadable datetime {value!r}") from None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (bool, int, float, str))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(value: Any) -> float | None:
    return float(value) if _is_number(value) else None
