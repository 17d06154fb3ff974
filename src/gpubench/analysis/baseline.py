"""Baselines from history: per case, the last N good runs of the same machine.

A machine is its GPU model and host name (``compare.machine_key``): figures from another GPU or
host say nothing about this one. A run is good material for a case when the case was measured
there (status ok) and no nightly judged it slower in that run: a regression, confirmed or
transient, must not become the norm the next night is judged against. Runs are picked per case,
so one bad case does not discard a run's other cases.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc

from gpubench.analysis.rules import DEFAULT_BASELINE_RUNS
from gpubench.files import strict_json
from gpubench.files.jsonfile import read_json
from gpubench.files.safe import read_regular, safe_folder, write_file
from gpubench.files.terminal import printable
from gpubench.store.index import run_index
from gpubench.store.location import Location, locate
from gpubench.store.machine import machine_key
from gpubench.store.read import read_files, select_runs
from gpubench.store.run_id import validate_run_id
from gpubench.store.schema import StoreError

NIGHTLY_DIR = "nightly"
VERDICTS_FILE = "verdicts.json"
ACCEPTED_FILE = "accepted.json"
MARKS_CACHE = ("cache", "night_marks.json")
MARKS_CACHE_VERSION = 1
VERDICTS_LIMIT = 64 << 20  # a verdicts file of 100,000 cases is ~20 MB


def flagged_cases(results_dir: str | os.PathLike, runs: Iterable[str] | None = None) -> set[tuple[str, str]]:
    """(run id, case) pairs a nightly judged slower, from ``<results>/nightly/*/verdicts.json``
    (only ``runs``' verdicts when given); a night whose slowdowns were accepted flags nothing."""
    return {key for key, mark in night_marks(results_dir, runs).items() if mark != "accepted"}


def night_marks(results_dir: str | os.PathLike, runs: Iterable[str] | None = None) -> dict[tuple[str, str], str]:
    """What the nightly made of each (run id, case) it judged slower (only ``runs``' nights when
    given): ``"regression"`` (slower again in the confirmation rerun, or not rerun), ``"transient"``
    (not slower in the rerun) or ``"accepted"`` (the night was accepted as the new normal).

    A year of nights is a thousand verdicts files of every case; what each one marks is kept in
    ``<results>/cache/night_marks.json`` by the file's stamp (and whether the night was accepted),
    so only new or changed files are read.
    """
    location = locate(results_dir)
    if not location.is_local:
        return remote_night_marks(location, runs)
    nightly = Path(location.root) / NIGHTLY_DIR
    if runs is None:
        paths = sorted(nightly.glob(f"*/{VERDICTS_FILE}"))
    else:
        paths = [path for run in sorted(set(runs)) if (path := nightly / run / VERDICTS_FILE).is_file()]
    cached = _cached_marks(location)
    entries = {}
    for path in paths:
        try:
            stamp = _night_stamp(path)
        except OSError:  # gone since the listing, or not ours to read
            continue
        entry = cached.get(path.parent.name)
        if entry and entry[0] == stamp:
            entries[path.parent.name] = entry
        elif (marks := _read_marks(path)) is not None:
            entries[path.parent.name] = [stamp, marks]
    if any(cached.get(night) != entry for night, entry in entries.items()):
        document = {"version": MARKS_CACHE_VERSION, "nights": {**cached, **entries}}
        location.write_cache(MARKS_CACHE, json.dumps(document).encode("utf-8"))  # None: read again next time
    return {(run, case): mark for _, marks in entries.values() for run, case, mark in marks}


def remote_night_marks(location: Location, runs: Iterable[str] | None = None) -> dict[tuple[str, str], str]:
    """``night_marks`` of a store at a URL: the verdicts files read through its filesystem (no cache);
    a file that is not a verdicts file costs its own night's marks, said in one line."""
    folder = location.join(NIGHTLY_DIR)
    if runs is None:
        nights = [path.rsplit("/", 1)[-1] for path in _night_folders(location, folder)]
    else:
        nights = sorted(set(runs))
    marks: dict[tuple[str, str], str] = {}
    for night in nights:
        path = f"{folder}/{night}/{VERDICTS_FILE}"
        try:
            content = location.read_bytes(path)
        except FileNotFoundError:
            continue
        accepted = location.exists(f"{folder}/{night}/{ACCEPTED_FILE}")
        try:
            data = json.loads(content)
            for case in data["cases"]:
                if case["verdict"] == "slower":
                    mark = "accepted" if accepted else "transient" if case.get("confirmed") is False else "regression"
                    marks[(validate_run_id(data["run_id"]), str(case["case"]))] = mark
        except (ValueError, RecursionError, KeyError, TypeError, AttributeError):
            _skip_verdicts(Path(path), "not a nightly verdicts file (run_id, cases with case and verdict)")
    return marks


def _night_folders(location: Location, folder: str) -> list[str]:
    try:
        return sorted(str(path).rstrip("/") for path in location.fs.ls(folder, detail=False))
    except FileNotFoundError:
        return []


def _read_marks(path: Path) -> list[list[str]] | None:
    """What one verdicts file marks; None (said in one line naming it) when it is not one: a
    bad file costs its own night's marks, never the whole history or the nightly."""
    accepted = (path.parent / ACCEPTED_FILE).exists()
    try:
        data = json.loads(read_regular(path, VERDICTS_LIMIT))
        marks = []
        for case in data["cases"]:
            if case["verdict"] == "slower":
                mark = "accepted" if accepted else "transient" if case.get("confirmed") is False else "regression"
                marks.append([validate_run_id(data["run_id"]), str(case["case"]), mark])
    except (OSError, ValueError, RecursionError) as error:  # ValueError: not JSON, not UTF-8, a bad run id
        _skip_verdicts(path, " ".join(str(error).split())[:120])
        return None
    except (KeyError, TypeError, AttributeError):
        _skip_verdicts(path, "not a nightly verdicts file (run_id, cases with case and verdict)")
        return None
    return marks


def _skip_verdicts(path: Path, why: str) -> None:
    print(f"gpubench: warning: skipped {printable(path)}: {printable(why)}", file=sys.stderr)


def _night_stamp(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}:{int((path.parent / ACCEPTED_FILE).exists())}"


def _cached_marks(location: Location) -> dict[str, list]:
    """The marks cache, entries that are not ``[stamp, [[run, case, mark], ...]]`` left out (rebuilt)."""
    data = location.read_cache(*MARKS_CACHE)
    try:
        document = json.loads(data) if data is not None else None
    except (ValueError, RecursionError):
        document = None
    ok = isinstance(document, dict) and document.get("version") == MARKS_CACHE_VERSION
    nights = document["nights"] if ok and isinstance(document.get("nights"), dict) else {}
    return {night: entry for night, entry in nights.items() if _is_entry(entry)}


def _is_entry(entry: object) -> bool:
    return (
        isinstance(entry, list)
        and len(entry) == 2
        and isinstance(entry[0], str)
        and isinstance(entry[1], list)
        and all(
            isinstance(mark, list) and len(mark) == 3 and all(isinstance(x, str) for x in mark) for mark in entry[1]
        )
    )


def accept_night(results_dir: str | os.PathLike, run_id: str) -> list[str]:
    """Accept night ``run_id``'s slowdowns as the new normal: its slower cases (and its rerun's)
    serve as baseline from now on. Adds an ``accepted.json`` beside the verdicts; returns the runs."""
    nightly = Path(results_dir) / NIGHTLY_DIR
    verdicts = nightly / validate_run_id(run_id) / VERDICTS_FILE
    if not verdicts.is_file():
        raise StoreError(f"no nightly verdicts for run {run_id} in {results_dir}")
    document = read_json(verdicts, StoreError)
    rerun = document.get("rerun_id") if isinstance(document, dict) else None
    accepted = [run_id] + ([validate_run_id(rerun)] if rerun else [])
    stamp = datetime.now(timezone.utc).isoformat()
    for run in accepted:
        write_file(safe_folder(nightly, run), ACCEPTED_FILE, strict_json.dumps({"run_id": run, "accepted_at": stamp}))
    return accepted


def select_baseline(
    store: pd.DataFrame,
    candidate_run: str,
    n_runs: int = DEFAULT_BASELINE_RUNS,
    flagged: set[tuple[str, str]] | frozenset = frozenset(),
    before_only: bool = True,
) -> pd.DataFrame:
    """Rows of the baseline for every case of ``candidate_run``: its last ``n_runs`` good runs.

    ``before_only`` keeps runs that started before the candidate (the nightly); without it every
    other run of the machine may serve (judging one run of a series against all the others).
    """
    if n_runs < 1:
        raise ValueError(f"--baseline-runs must be at least 1, got {n_runs}")
    candidate = store[store["run_id"].astype(str) == candidate_run]
    if candidate.empty:
        raise StoreError(f"run {candidate_run} is not in the store")
    machines = machine_key(store)
    pool = store[
        (store["run_id"].astype(str) != candidate_run)
        & (store["status"] == "ok")
        & (machines == machine_key(candidate).iloc[0])
        & store["case"].isin(set(candidate["case"]))
    ]
    if before_only:
        pool = pool[pool["started_at"] < candidate["started_at"].iloc[0]]
    if flagged:
        keep = [(str(run), str(case)) not in flagged for run, case in zip(pool["run_id"], pool["case"], strict=True)]
        pool = pool[keep]
    pool = pool.sort_values(["started_at", "run_id"], kind="stable")
    return pool.groupby(["suite", "case"], sort=False).tail(n_runs).reset_index(drop=True)


def load_baseline(
    results_dir: str | os.PathLike,
    candidate_run: str,
    n_runs: int = DEFAULT_BASELINE_RUNS,
    before_only: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(candidate rows, baseline rows): ``select_baseline`` over the store, reading only what it needs.

    The runs index knows each run's machine and the cases it measured: walking the machine's
    runs newest first, each case of the candidate takes runs until it has ``n_runs``. Only the
    chosen runs' nightly verdicts are read (a flagged case takes the next run instead), then
    only the chosen runs' rows, which ``select_baseline`` gets: it picks from them exactly what
    it would pick from the whole store.
    """
    if n_runs < 1:
        raise ValueError(f"--baseline-runs must be at least 1, got {n_runs}")
    index = run_index(results_dir, warn=False)
    own = select_runs(index, [validate_run_id(candidate_run)])
    candidate = read_files(index, own, strict=True)
    entry = own.iloc[0]
    runs = select_runs(index)
    runs = runs[(runs["machine"] == entry["machine"]) & (runs["run_id"] != candidate_run)]
    if before_only:
        runs = runs[runs["started_at"] < entry["started_at"]]
    wanted = set(zip(candidate["suite"].astype(object), candidate["case"].astype(object), strict=True))
    needed = dict.fromkeys(wanted, n_runs)
    chosen: list[str] = []
    flagged: set[tuple[str, str]] = set()
    night_flags: dict[str, set[tuple[str, str]]] = {}
    for run, case in flagged_cases(results_dir, runs["run_id"]):  # the machine's nights, read once
        night_flags.setdefault(run, set()).add((run, case))
    for run_id, measured_id in zip(runs["run_id"][::-1], runs["measured_id"][::-1], strict=True):
        keys = [key for key in index.measured[measured_id] if needed.get(key)]
        if not keys:
            continue
        run_flags = night_flags.get(run_id, set())
        usable = [key for key in keys if (run_id, key[1]) not in run_flags]
        flagged |= run_flags
        for key in usable:
            needed[key] -= 1
        if usable:
            chosen.append(run_id)
        if not any(needed.values()):
            break
    cases = sorted({case for _, case in wanted})
    rows = (pc.field("status") == "ok") & pc.field("case").isin(cases)
    pool = read_files(index, runs[runs["run_id"].isin(set(chosen))], None, rows)
    store = pd.concat([frame for frame in (pool, candidate) if len(frame)], ignore_index=True)
    return candidate, select_baseline(store, candidate_run, n_runs, flagged, before_only)


def baseline_depth(baseline: pd.DataFrame) -> tuple[int, int]:
    """The fewest and the most baseline runs any case has (0, 0 for no baseline)."""
    if baseline.empty:
        return 0, 0
    runs = baseline.groupby(["suite", "case"])["run_id"].nunique()
    return int(runs.min()), int(runs.max())
