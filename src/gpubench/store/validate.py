"""The store's one validation layer: documents when they are ingested, run files when they are read.

Rule: a document is either ingested so that every reader then works on it, or refused with one
line naming the file and the field (``validate_document``). Readers defend themselves as well
(``validate_run_frame``): a run file written by another node, an older gpubench or by hand never
went through this ingest, so a reader checks each run file, skips one that fails, names it in one
line on stderr (``warn_skipped``) and carries on; ``gpubench store check`` lists such files and
moves them aside. What is checked, and why, is in docs/SCHEMA.md ("Validation").
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gpubench.store.run_id import validate_run_id
from gpubench.store.schema import KNOWN_TYPES, SCHEMA_VERSION, STAT_COLUMNS, StoreError

INT64 = 2**63
# Figures that are times (seconds): positive; spreads of times: zero or more.
POSITIVE_STATS = ("median", "min", "max", "mean", "q1", "q3")
NON_NEGATIVE_STATS = ("iqr", "stddev")
# Order statistics of one set of samples: a reader draws q1..q3 around the median (history's bars).
ORDERED_STATS = (("min", "median"), ("median", "max"), ("q1", "median"), ("median", "q3"))
REQUIRED_COLUMNS = ("schema_version", "run_id", "started_at", "suite", "case", "status")
STATUSES = frozenset({"ok", "skipped"})
EARLIEST = pd.Timestamp("1970-01-01", tz="UTC")
LATEST = pd.Timestamp.max.tz_localize("UTC")
# Times in seconds a reader can divide, invert and exponentiate without overflow: a picosecond to
# about four months (no benchmark sample is outside; 1e308 s makes compare's statistics overflow).
MIN_TIME_S, MAX_TIME_S = 1e-12, 1e7
# Headline rates (GB/s, TFLOP/s): positive and at most this; other metrics: finite, at most this in size.
MAX_RATE = 1e15
MAX_METRIC = 1e18
# Columns every reader takes as text: the machine key and the setup; a number there renames machines.
TEXT_COLUMNS = frozenset({"hostname", "gpu_name", "platform", "cpu_model", "torch_version", "python_version"})
_ISO_8601 = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?", re.ASCII)


class DocumentError(StoreError):
    """A document that cannot be ingested: one line naming the file and the field."""


class InvalidRunFile(StoreError):
    """A run file a reader skips (and ``gpubench store check`` lists): one line naming it and the field."""


class NewerSchemaError(StoreError):
    """A run file written by a newer gpubench: refused, never skipped or quarantined."""


# --- documents, at ingest --------------------------------------------------------------------


def validate_document(data: Any, source: str | os.PathLike) -> None:
    """Refuse (``DocumentError``) a pytest-benchmark document any part of which the store cannot hold."""
    check = _Checker(str(source))
    root = check.mapping(data, "the document", required=True)
    check.encodable(root)
    if not isinstance(root.get("benchmarks"), list):
        check.fail("benchmarks", "not pytest-benchmark output (no 'benchmarks' list)")
    check.timestamp(root.get("datetime"), "datetime")
    machine = check.mapping(root.get("machine_info"), "machine_info")
    for key in ("node", "python_version"):
        check.text(machine.get(key), f"machine_info.{key}")
    check.text(check.mapping(machine.get("cpu"), "machine_info.cpu").get("brand_raw"), "machine_info.cpu.brand_raw")
    env = check.mapping(machine.get("gpubench"), "machine_info.gpubench")
    check.column_values(env, "machine_info.gpubench", environment=True)
    check.text(check.mapping(root.get("commit_info"), "commit_info").get("id"), "commit_info.id")
    block = check.mapping(root.get("gpubench"), "gpubench")
    if block.get("run_id") is not None:
        check.run_id(block["run_id"], "gpubench.run_id")
    check.timestamp(block.get("started_at"), "gpubench.started_at")
    check.text(block.get("profile"), "gpubench.profile")
    skipped = block.get("skipped")
    if skipped is not None and not isinstance(skipped, list):
        check.fail("gpubench.skipped", f"expected a list, got {_kind(skipped)}")
    for index, bench in enumerate(root["benchmarks"]):
        check.benchmark(bench, f"benchmarks[{index}]")
    for index, skip in enumerate(skipped or []):
        where = f"gpubench.skipped[{index}]"
        item = check.mapping(skip, where, required=True)
        for key in ("suite", "case"):
            check.text(item.get(key), f"{where}.{key}", required=True)
        for key in ("name", "fullname", "reason"):
            check.text(item.get(key), f"{where}.{key}")
        check.column_values(check.mapping(item.get("params"), f"{where}.params"), f"{where}.params")


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field: str, problem: str) -> None:
        raise DocumentError(f"{self.source}: {field}: {problem}")

    def mapping(self, value: Any, field: str, required: bool = False) -> Mapping[str, Any]:
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.fail(field, f"expected an object, got {_kind(value)}")
        return value

    def text(self, value: Any, field: str, required: bool = False) -> None:
        if value is None and not required:
            return
        if not isinstance(value, str):
            self.fail(field, f"expected {'a non-empty' if required else 'a'} text, got {_kind(value)}")
        if required and not value.strip():
            self.fail(field, f"expected a non-empty text, got {'an empty text' if not value else 'only spaces'}")

    def integer(self, value: Any, field: str, minimum: int) -> None:
        if value is None:
            return
        if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value < INT64:
            self.fail(field, f"expected a whole number from {minimum} to 2**63-1, got {_short(value)}")

    def time(self, value: Any, field: str, positive: bool) -> None:
        if value is None:
            return
        number = _finite(value)
        low = MIN_TIME_S if positive else 0.0
        if number is None or not ((number == 0.0 and not positive) or low <= number <= MAX_TIME_S):
            bound = "a positive" if positive else "a non-negative"
            self.fail(
                field, f"expected {bound} time in seconds from {MIN_TIME_S:g} to {MAX_TIME_S:g}, got {_short(value)}"
            )

    def timestamp(self, value: Any, field: str) -> None:
        if value is None or value == "":
            return
        if not isinstance(value, str):
            self.fail(field, f"expected an ISO 8601 date and time, got {_kind(value)}")
        problem = timestamp_problem(value)
        if problem:
            self.fail(field, problem)

    def run_id(self, value: Any, field: str) -> None:
        try:
            validate_run_id(value)
        except StoreError as error:
            self.fail(field, str(error))

    def encodable(self, root: Any) -> None:
        """Every text of the document (keys too) is UTF-8 text: a lone surrogate (``"\\ud800"``,
        which JSON allows and no file can hold) is refused, naming where it is."""
        stack: list[tuple[Any, str]] = [(root, "")]
        while stack:
            value, where = stack.pop()
            if isinstance(value, str):
                if not _utf8(value):
                    self.fail(where or "the document", f"text {_short(value)} is not valid UTF-8 (a lone surrogate)")
            elif isinstance(value, dict):
                for key, item in value.items():
                    name = f"{where}.{key}" if where else str(key)
                    if isinstance(key, str) and not _utf8(key):
                        self.fail(where or "the document", f"key {_short(key)} is not valid UTF-8 (a lone surrogate)")
                    stack.append((item, name))
            elif isinstance(value, list):
                stack.extend((item, f"{where}[{index}]") for index, item in enumerate(value))

    def column_values(self, values: Mapping[str, Any], field: str, environment: bool = False) -> None:
        """Values that become columns: whole numbers must fit in 64 bits; known columns keep their
        type; a headline rate is a positive finite number (``MAX_RATE`` at most); the run's
        ``environment`` keeps its texts texts (a number as host name would rename machines)."""
        for key, value in values.items():
            if value is not None and key in _headlines():
                number = _finite(value)
                if number is None or not 0 < number <= MAX_RATE:
                    self.fail(f"{field}.{key}", f"expected a positive rate up to {MAX_RATE:g}, got {_short(value)}")
            textual = (environment and key in TEXT_COLUMNS) or KNOWN_TYPES.get(key) == "string"
            if value is not None and textual and not isinstance(value, str):
                self.fail(f"{field}.{key}", f"expected a text, got {_kind(value)}")
            if isinstance(value, int) and not isinstance(value, bool) and not -INT64 <= value < INT64:
                self.fail(f"{field}.{key}", f"whole number {_short(value)} does not fit in 64 bits")
            if (
                KNOWN_TYPES.get(key) == "Int64"
                and value is not None
                and (not isinstance(value, int) or isinstance(value, bool))
            ):
                self.fail(f"{field}.{key}", f"expected a whole number, got {_short(value)}")

    def benchmark(self, bench: Any, where: str) -> None:
        bench = self.mapping(bench, where, required=True)
        self.text(bench.get("name"), f"{where}.name", required=True)
        where = f"{where} ({_short(bench['name'])})"
        for key in ("fullname", "group"):
            self.text(bench.get(key), f"{where}.{key}")
        self.column_values(self.mapping(bench.get("params"), f"{where}.params"), f"{where}.params")
        options = self.mapping(bench.get("options"), f"{where}.options")
        if options.get("timer") is not None and not isinstance(options["timer"], (str, int, float)):
            self.fail(f"{where}.options.timer", f"expected a text, got {_kind(options['timer'])}")
        info = self.mapping(bench.get("extra_info"), f"{where}.extra_info")
        if "gpubench" in info:
            self.case_block(info["gpubench"], f"{where}.extra_info.gpubench")
        else:
            self.column_values(info, f"{where}.extra_info")
        stats = self.mapping(bench.get("stats"), f"{where}.stats", required=True)
        if stats.get("median") is None:
            self.fail(f"{where}.stats.median", "missing: no numeric stats.median")
        for key in POSITIVE_STATS:
            self.time(stats.get(key), f"{where}.stats.{key}", positive=True)
        for key in NON_NEGATIVE_STATS:
            self.time(stats.get(key), f"{where}.stats.{key}", positive=False)
        for low, high in ORDERED_STATS:
            if _is_time(stats.get(low)) and _is_time(stats.get(high)) and stats[low] > stats[high] * (1 + 1e-9):
                self.fail(f"{where}.stats", f"{low} {stats[low]!r} exceeds {high} {stats[high]!r}")
        self.integer(stats.get("rounds"), f"{where}.stats.rounds", minimum=0)
        self.integer(stats.get("iterations"), f"{where}.stats.iterations", minimum=1)
        samples = stats.get("data")
        if samples is not None:
            if not isinstance(samples, list):
                self.fail(f"{where}.stats.data", f"expected a list of times, got {_kind(samples)}")
            for index, value in enumerate(samples):
                self.time(value, f"{where}.stats.data[{index}]", positive=True)

    def case_block(self, block: Any, where: str) -> None:
        block = self.mapping(block, where, required=True)
        for key in ("suite", "case"):
            self.text(block.get(key), f"{where}.{key}", required=True)
        self.text(block.get("clock"), f"{where}.clock")
        if not isinstance(block.get("params"), dict):
            self.fail(f"{where}.params", f"expected an object, got {_kind(block.get('params'))}")
        self.integer(block.get("ops_per_sample"), f"{where}.ops_per_sample", minimum=1)
        for key in ("params", "metrics", "info"):
            self.column_values(self.mapping(block.get(key), f"{where}.{key}"), f"{where}.{key}")
        for key, value in self.mapping(block.get("metrics"), f"{where}.metrics").items():
            number = _finite(value)
            if value is not None and (number is None or abs(number) > MAX_METRIC):
                self.fail(
                    f"{where}.metrics.{key}", f"expected a finite number up to {MAX_METRIC:g}, got {_short(value)}"
                )


def timestamp_problem(value: Any) -> str | None:
    """Why ``value`` is no usable UTC time for the store (None when it is one): ISO 8601 only
    (``"now"`` and ``"today"`` parse, and mean a different time at every read)."""
    if not isinstance(value, str) or not _ISO_8601.fullmatch(value.strip()):
        return f"expected an ISO 8601 date and time (2026-11-27T00:30:00Z), got {_short(value)}"
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return f"unreadable date and time {_short(value)}"
    if stamp is pd.NaT:
        return f"unreadable date and time {_short(value)}"
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    if not EARLIEST <= stamp <= LATEST:
        return f"date and time {_short(value)} is out of range ({EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d})"
    return None


# --- run files, when read ----------------------------------------------------------------------


def read_run_file(path: str | os.PathLike) -> pd.DataFrame:
    """One run file's rows, read and checked (``validate_run_frame``); ``InvalidRunFile`` if unusable."""
    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises many kinds for a damaged or foreign file
        raise InvalidRunFile(f"{path}: unreadable parquet ({' '.join(str(error).split())})") from None
    return validate_run_frame(frame, path)


def validate_run_frame(frame: pd.DataFrame, path: str | os.PathLike) -> pd.DataFrame:
    """One run file's rows, checked and normalised for every reader; ``InvalidRunFile`` if unusable.

    Raises ``NewerSchemaError`` for a file a newer gpubench wrote (refused, never skipped). Returns
    the frame with ``started_at`` as nanosecond UTC timestamps, whatever the file stored.
    """
    name = str(path)

    def fail(field: str, problem: str) -> None:
        raise InvalidRunFile(f"{name}: {field}: {problem}")

    missing = [column for column in REQUIRED_COLUMNS if column not in frame]
    if missing:
        fail(missing[0], "column missing: not a gpubench run file")
    if frame.empty:
        fail("rows", "the file holds no row")
    versions = pd.to_numeric(frame["schema_version"], errors="coerce").astype(float)
    if versions.isna().any():
        fail("schema_version", "not a number")
    if not (np.isfinite(versions) & (versions >= 1) & (versions == np.floor(versions))).all():
        fail("schema_version", f"not a schema version (a whole number from 1), got {float(versions.iloc[0])!r}")
    if versions.max() > SCHEMA_VERSION:
        raise NewerSchemaError(
            f"{name}: schema version {int(versions.max())} is newer than this gpubench ({SCHEMA_VERSION}); upgrade"
        )
    if not all(isinstance(value, str) for value in frame["run_id"]):
        fail("run_id", "not a text column")
    run_ids = frame["run_id"].dropna().astype(str).unique()
    if len(run_ids) != 1 or frame["run_id"].isna().any():
        fail("run_id", f"one run id per file expected, got {len(run_ids)}")
    try:
        validate_run_id(run_ids[0])
    except StoreError as error:
        fail("run_id", str(error))
    if Path(name).suffix == ".parquet" and Path(name).stem != run_ids[0]:
        fail("run_id", f"the file holds run {run_ids[0]!r} but is named after another")
    frame = frame.copy(deep=False)
    frame["started_at"] = _started_at(frame["started_at"], fail)
    for column in ("suite", "case", "status"):
        values = frame[column]
        if values.isna().any() or not all(isinstance(value, str) and value for value in values):
            fail(column, "every row needs a non-empty text")
    statuses = set(frame["status"]) - STATUSES
    if statuses:
        fail("status", f"unknown status {sorted(statuses)[0]!r} (expected ok or skipped)")
    for column in [*STAT_COLUMNS.values(), *(key for key, kind in KNOWN_TYPES.items() if kind == "Int64")]:
        if column in frame and not frame[column].isna().all() and not _numeric(frame[column]):
            fail(column, "not a number column")
    for column in sorted(TEXT_COLUMNS & set(frame.columns)):
        if not all(isinstance(value, str) for value in frame[column].dropna()):
            fail(column, "not a text column: every reader takes it as text")
    for column in sorted(_headlines() & set(frame.columns)):
        values = frame[column]
        if values.isna().all():
            continue
        rates = pd.to_numeric(values, errors="coerce").astype(float) if _numeric(values) else None
        if rates is None or not ((rates.isna() & values.isna()) | ((rates > 0) & (rates <= MAX_RATE))).all():
            fail(column, f"not a rate: every value a positive number up to {MAX_RATE:g}")
    ok = frame["status"] == "ok"
    if ok.any():
        if "median_s" not in frame:
            fail("median_s", "column missing for measured cases")
        medians = pd.to_numeric(frame.loc[ok, "median_s"], errors="coerce").astype(float)
        bad = ~(np.isfinite(medians) & (medians >= MIN_TIME_S) & (medians <= MAX_TIME_S))
        if bad.any():
            fail("median_s", f"case {frame.loc[bad[bad].index[0], 'case']!r}: not a positive finite time")
        for low, high in (("q1_s", "median_s"), ("median_s", "q3_s")):
            if low in frame and high in frame:
                lows, highs = (pd.to_numeric(frame.loc[ok, c], errors="coerce").astype(float) for c in (low, high))
                bad = lows > highs * (1 + 1e-9)
                if bad.any():
                    fail(low, f"case {frame.loc[bad[bad].index[0], 'case']!r}: {low} exceeds {high}")
        if "samples_s" in frame:
            for case, samples in zip(frame.loc[ok, "case"], frame.loc[ok, "samples_s"], strict=True):
                problem = _samples_problem(samples)
                if problem:
                    fail("samples_s", f"case {case!r}: {problem}")
    keys = ["suite", "case"] + (["fullname"] if "fullname" in frame else [])
    twice = frame.duplicated(keys, keep=False)
    if twice.any():
        fail("case", f"case {frame.loc[twice, 'case'].iloc[0]!r} is stored twice: no reader can tell them apart")
    return frame


def _started_at(values: pd.Series, fail) -> pd.Series:
    if not pd.api.types.is_datetime64_any_dtype(values):
        fail("started_at", "not a timestamp column")
    if values.isna().any():
        fail("started_at", "missing on some rows")
    if values.dt.tz is None:
        values = values.dt.tz_localize("UTC")
    first, last = values.min(), values.max()
    if first < EARLIEST or last > LATEST:
        fail("started_at", f"{first if first < EARLIEST else last} is out of range")
    return values.dt.tz_convert("UTC").dt.as_unit("ns")


def _finite(value: Any) -> float | None:
    """``value`` as a finite float, or None: not a number, a boolean, infinite, or too big for a float."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:  # a 400-digit integer
        return None
    return number if math.isfinite(number) else None


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _headlines() -> frozenset[str]:
    from gpubench import suites

    return frozenset(suites.all_headlines()) - {"median_s"}


def _is_time(value: Any) -> bool:
    return _finite(value) is not None


def _numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _samples_problem(samples: Any) -> str | None:
    if samples is None or (isinstance(samples, float) and math.isnan(samples)):
        return None
    if not isinstance(samples, (list, tuple, np.ndarray)):
        return f"expected a list of times, got {_kind(samples)}"
    try:
        values = np.asarray(samples, dtype=float)
    except (TypeError, ValueError):
        return "samples that are not numbers"
    if values.size and not (np.isfinite(values) & (values >= MIN_TIME_S) & (values <= MAX_TIME_S)).all():
        return f"samples that are not times from {MIN_TIME_S:g} to {MAX_TIME_S:g} s"
    return None


def warn_skipped(error: StoreError) -> None:
    """Name a run file a reader skipped, in one line on stderr."""
    print(f"gpubench: warning: skipped {error} (gpubench store check --quarantine moves it aside)", file=sys.stderr)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a text", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
