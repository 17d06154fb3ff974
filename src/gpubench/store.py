"""The results store: pytest-benchmark JSON in, one parquet file per run out, every run read back.

Layout: ``<results>/runs/<run_id>.parquet``, one row per case (measured or skipped). Files are
written to a hidden temporary name and renamed into place, so a reader never sees half a run
and a failed ingest leaves the store as it was. Nothing is ever rewritten: the store is
append-only. See docs/SCHEMA.md for the columns.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from gpubench.jsonfile import read_json

SCHEMA_VERSION = 1
RUNS_DIR = "runs"

STAT_COLUMNS = {
    "median": "median_s",
    "iqr": "iqr_s",
    "q1": "q1_s",
    "q3": "q3_s",
    "min": "min_s",
    "max": "max_s",
    "mean": "mean_s",
    "stddev": "stddev_s",
    "rounds": "rounds",
}
RUN_COLUMNS = ("schema_version", "run_id", "started_at", "profile", "source")
CASE_COLUMNS = (
    "suite",
    "case",
    "name",
    "fullname",
    "group",
    "status",
    "skip_reason",
    "ops_per_sample",
    "clock",
    "samples_s",
)
# Columns whose type must not depend on whether a run happened to have a value for them.
KNOWN_TYPES = {
    "ops_per_sample": "Int64",
    "rounds": "Int64",
    "skip_reason": "string",
    "cuda_version": "string",
    "cudnn_version": "string",
    "nccl_version": "string",
    "driver_version": "string",
    "cuda_driver_version": "string",
    "git_commit": "string",
    "gpu_name": "string",
    "gpu_uuid": "string",
    "nvml_problems": "string",
    "nvml_unavailable_reason": "string",
    "cuda_unavailable_reason": "string",
    "gpu_count": "Int64",
    "gpu_memory_bytes": "Int64",
    "pcie_gen_current": "Int64",
    "pcie_width_current": "Int64",
    "pcie_gen_max": "Int64",
    "pcie_width_max": "Int64",
    "pcie_gen_gpu_max": "Int64",
}
RESERVED = frozenset(RUN_COLUMNS) | frozenset(CASE_COLUMNS) | frozenset(STAT_COLUMNS.values())


class StoreError(ValueError):
    """Bad input or a store that cannot take it; the message is one line, for the user."""


@dataclass(frozen=True)
class IngestedRun:
    run_id: str
    path: Path
    measured: int
    skipped: int


def load_json(path: str | os.PathLike) -> dict[str, Any]:
    """Read a pytest-benchmark JSON file, refusing anything that is not one."""
    data = read_json(path, StoreError)
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise StoreError(f"{path}: not pytest-benchmark output (no 'benchmarks' list)")
    for index, bench in enumerate(data["benchmarks"]):
        stats = bench.get("stats") if isinstance(bench, dict) else None
        if not isinstance(stats, dict) or not _is_number(stats.get("median")):
            raise StoreError(f"{path}: benchmark #{index} has no numeric stats.median")
    return data


def frame_from_json(data: dict[str, Any], source: str = "") -> pd.DataFrame:
    """One row per case of a pytest-benchmark JSON document, gpubench's or any other suite's."""
    block = data.get("gpubench") or {}
    run = {
        "schema_version": SCHEMA_VERSION,
        "run_id": block.get("run_id") or _derived_run_id(data),
        "started_at": _timestamp(block.get("started_at") or data.get("datetime")),
        "profile": block.get("profile"),
        "source": source,
    }
    env = _env_columns(data.get("machine_info") or {}, data.get("commit_info") or {})
    rows = [_measured_row(bench) for bench in data["benchmarks"]]
    rows += [_skipped_row(skip) for skip in block.get("skipped", [])]
    frame = pd.DataFrame([{**run, **row, **env} for row in rows])
    if frame.empty:
        frame = pd.DataFrame(columns=list(RUN_COLUMNS) + list(CASE_COLUMNS))
    frame = frame.convert_dtypes(dtype_backend="numpy_nullable")
    return frame.astype({column: kind for column, kind in KNOWN_TYPES.items() if column in frame})


def ingest(json_path: str | os.PathLike, results_dir: str | os.PathLike) -> IngestedRun:
    """Add the run in ``json_path`` to the store; refuse a run id already there."""
    data = load_json(json_path)
    frame = frame_from_json(data, source=Path(json_path).name)
    if frame.empty:
        raise StoreError(f"{json_path}: holds no benchmark and no skipped case")
    run_id = str(frame["run_id"].iloc[0])
    path = write_run(frame, results_dir)
    skipped = int((frame["status"] == "skipped").sum())
    return IngestedRun(run_id, path, measured=len(frame) - skipped, skipped=skipped)


def write_run(frame: pd.DataFrame, results_dir: str | os.PathLike) -> Path:
    """Write one run's rows as a new parquet file, atomically; never overwrite a stored run."""
    run_ids = frame["run_id"].unique()
    if len(run_ids) != 1:
        raise StoreError(f"one run per file, got {len(run_ids)} run ids")
    run_id = str(run_ids[0])
    if not run_id or "/" in run_id or run_id.startswith("."):
        raise StoreError(f"invalid run id {run_id!r}")
    runs = Path(results_dir) / RUNS_DIR
    runs.mkdir(parents=True, exist_ok=True)
    target = runs / f"{run_id}.parquet"
    if target.exists():
        raise StoreError(f"run {run_id} is already in {results_dir}; nothing written")
    handle, temporary = tempfile.mkstemp(dir=runs, prefix=f".{run_id}.", suffix=".tmp")
    os.close(handle)
    try:
        frame.to_parquet(temporary, index=False)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target


def read_results(results_dir: str | os.PathLike, run_id: str | None = None) -> pd.DataFrame:
    """Every stored run (or just ``run_id``) as one DataFrame, oldest run first."""
    runs = Path(results_dir) / RUNS_DIR
    paths = sorted(runs.glob("[!.]*.parquet")) if runs.is_dir() else []
    if run_id is not None:
        paths = [path for path in paths if path.stem == run_id]
        if not paths:
            raise StoreError(f"run {run_id} is not in {results_dir}")
    frames = [_read_run(path) for path in paths]
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return pd.DataFrame(columns=list(RUN_COLUMNS) + list(CASE_COLUMNS))
    frame = pd.concat(frames, ignore_index=True)
    return frame.sort_values(["started_at", "run_id"], kind="stable", ignore_index=True)


def list_runs(results_dir: str | os.PathLike) -> pd.DataFrame:
    """One row per stored run: id, start time, profile, host, GPU, case counts."""
    frame = read_results(results_dir)
    if frame.empty:
        return pd.DataFrame(columns=["run_id", "started_at", "profile", "hostname", "gpu_name", "cases"])
    keys = [column for column in ("run_id", "started_at", "profile", "hostname", "gpu_name") if column in frame]
    return frame.groupby(keys, dropna=False, sort=False).size().rename("cases").reset_index()


def latest_run_id(results_dir: str | os.PathLike) -> str:
    runs = list_runs(results_dir)
    if runs.empty:
        raise StoreError(f"no run in {results_dir}")
    return str(runs["run_id"].iloc[-1])


def _read_run(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as error:
        raise StoreError(f"{path}: unreadable parquet ({error})") from None
    versions = frame["schema_version"].dropna().unique() if "schema_version" in frame else []
    if any(int(version) > SCHEMA_VERSION for version in versions):
        raise StoreError(f"{path}: schema version {max(versions)} is newer than this gpubench ({SCHEMA_VERSION})")
    return frame


def _measured_row(bench: dict[str, Any]) -> dict[str, Any]:
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
        "clock": ours.get("clock") if ours else str((bench.get("options") or {}).get("timer")),
        "samples_s": [float(value) for value in stats.get("data", []) if _is_number(value)] or None,
    }
    row.update({column: _number(stats.get(key)) for key, column in STAT_COLUMNS.items()})
    row.update(_columns(params))
    if ours:
        row.update(_columns(ours.get("metrics", {})))
        row.update(_columns(ours.get("info", {})))
    else:
        row.update(_columns({key: value for key, value in info.items() if _is_scalar(value)}))
    return row


def _skipped_row(skip: dict[str, Any]) -> dict[str, Any]:
    row = {
        "suite": skip.get("suite"),
        "case": skip.get("case"),
        "name": skip.get("name"),
        "fullname": skip.get("fullname"),
        "group": skip.get("suite"),
        "status": "skipped",
        "skip_reason": skip.get("reason"),
    }
    row.update(_columns(skip.get("params", {})))
    return row


def _foreign_suite(bench: dict[str, Any]) -> str:
    if bench.get("group"):
        return str(bench["group"])
    fullname = str(bench.get("fullname") or bench.get("name") or "")
    return Path(fullname.split("::")[0]).stem or "benchmarks"


def _columns(values: dict[str, Any]) -> dict[str, Any]:
    """Parameters, metrics and info as typed columns; a name we use ourselves gets ``param_``."""
    out = {}
    for key, value in values.items():
        column = f"param_{key}" if key in RESERVED else str(key)
        out[column] = value if _is_scalar(value) else json.dumps(value, sort_keys=True, default=str)
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


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{os.urandom(3).hex()}"


def _timestamp(value: Any) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value) if value else pd.Timestamp.now(tz="UTC")
    except (ValueError, TypeError):
        raise StoreError(f"unreadable datetime {value!r}") from None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (bool, int, float, str))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(value: Any) -> float | None:
    return float(value) if _is_number(value) else None
