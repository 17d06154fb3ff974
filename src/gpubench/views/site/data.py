"""What every page of the site reads, loaded once per build from the store and the analysis layer.

Nothing here is a new analysis: the runs come from the runs index, the figures from the figures
cache (``store.figures``), each case's trend from ``analysis.history.case_history``, the
nightly's marks from ``analysis.baseline.night_marks``, change points from
``analysis.changepoints`` (cached in the store), the fleet from ``analysis.fleet``. What this
module adds is bookkeeping: which run was a machine's last night (a nightly's confirmation rerun
is not a night of its own), what its ``verdicts.json`` said per suite, how long each regression
has been open, and the hardware limit of a case where its rows recorded one.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gpubench.analysis.baseline import NIGHTLY_DIR, VERDICTS_FILE, night_marks
from gpubench.analysis.changepoints import ChangePoint, ChangePointsUnavailable, change_points
from gpubench.analysis.fleet import Fleet, environment_spread, judge_fleet, latest_figures
from gpubench.analysis.history import case_history
from gpubench.analysis.rules import MIN_PEERS
from gpubench.store.figures import read_figures
from gpubench.store.index import RunIndex, run_index
from gpubench.store.location import locate
from gpubench.store.machine import machine_key
from gpubench.store.read import read_files

# Per case, the hardware limit its headline figure is set against: (column with the peak, label).
LIMITS = {"gbps": ("pcie_theoretical_gbps", "PCIe theoretical peak"), "busbw_gbps": ("link_peak_gbps", "link peak")}


@dataclass(frozen=True)
class Regression:
    """A case the machine's latest judged night marked a regression (slower, confirmed by the rerun)."""

    machine: str
    suite: str
    case: str
    run_id: str  # the latest night that marked it
    since_run_id: str  # the first night of the run of nights that marked it
    since: pd.Timestamp
    nights: int


@dataclass
class SiteData:
    results: str
    now: pd.Timestamp
    local: Path | None  # the store's folder, when it is one (nightly reports, raw JSON, plots)
    runs: pd.DataFrame  # the runs index: one row per good run, oldest first
    measured: dict[str, frozenset[tuple[str, str]]]  # measured id -> (suite, case) pairs
    environment: dict[str, dict[str, str | None]]  # run id -> its environment (index JSON)
    history: pd.DataFrame  # analysis.history.case_history of every measured case
    marks: dict[tuple[str, str], str]  # (run id, case) -> regression | transient | accepted
    change_points: list[ChangePoint] | None
    change_points_note: str
    fleet: Fleet
    index: RunIndex | None = None
    nights: dict[str, dict] = field(default_factory=dict)  # run id -> its verdicts.json, for last nights
    reruns: set[str] = field(default_factory=set)
    _columns: dict[str, list] | None = None
    _entries: dict[str, dict] | None = None  # confirmation reruns among the runs looked at
    limits: dict[tuple[str, str, str], tuple[str, float]] = field(default_factory=dict)

    def columns(self) -> dict[str, list]:
        """The history as plain lists, made once: run id, time (ISO, UTC) and the shown figures
        (times in microseconds, rates as they are), so pages build their series without pandas."""
        if self._columns is None:
            history = self.history
            timed = (history["metric"] == "median_s").to_numpy()
            scale = np.where(timed, 1e6, 1.0)
            times = pd.to_datetime(history["started_at"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            self._columns = {"run_id": history["run_id"].astype(str).tolist(), "t": times.tolist()}
            for name in ("value", "low", "high"):
                values = history[name].to_numpy(dtype=float) * scale
                self._columns[name] = [float(v) if math.isfinite(v) else None for v in values.tolist()]
        return self._columns

    def run_entry(self, run_id: str) -> dict:
        """The run's row of the runs index, as a dict (looked up by id, once per build)."""
        if self._entries is None:
            self._entries = {str(entry["run_id"]): entry for entry in self.runs.to_dict("records")}
        return self._entries[run_id]

    def machines(self) -> list[str]:
        return sorted(set(self.runs["machine"].astype(str)))

    def machine_runs(self, machine: str) -> pd.DataFrame:
        return self.runs[self.runs["machine"].astype(str) == machine]

    def last_night(self, machine: str) -> pd.Series | None:
        """The machine's newest run that is not a nightly's confirmation rerun."""
        runs = self.machine_runs(machine)
        for _, row in runs.iloc[::-1].iterrows():
            if str(row["run_id"]) not in self.reruns:
                return row
        return None

    def verdicts(self, run_id: str) -> dict | None:
        """The run's nightly ``verdicts.json`` (None: no nightly judged it), read once."""
        if run_id not in self.nights and self.local is not None:
            self.nights[run_id] = _verdicts(self.local / NIGHTLY_DIR / run_id / VERDICTS_FILE)
        return self.nights.get(run_id)

    def nightly_report(self, run_id: str) -> Path | None:
        if self.local is None:
            return None
        path = self.local / NIGHTLY_DIR / run_id / "report.html"
        return path if path.is_file() else None

    def raw_json(self, run_id: str) -> Path | None:
        if self.local is None:
            return None
        path = self.local / "json" / f"{run_id}.json"
        return path if path.is_file() else None

    def plots(self, run_id: str) -> list[Path]:
        if self.local is None:
            return []
        folder = self.local / "plots" / run_id
        return sorted(folder.glob("*.png")) if folder.is_dir() else []

    def open_regressions(self) -> list[Regression]:
        """Per machine, the cases its latest judged night marked a regression, newest first."""
        found = []
        for machine in self.machines():
            runs = self.machine_runs(machine)
            judged = [str(run) for run in runs["run_id"] if self.nights.get(str(run)) and str(run) not in self.reruns]
            if not judged:
                continue
            latest = judged[-1]
            order = [str(run) for run in runs["run_id"]]
            started = dict(zip(order, runs["started_at"], strict=True))
            for case in sorted(
                {case for (run, case), mark in self.marks.items() if run == latest and mark == "regression"}
            ):
                since, nights = latest, 0
                for run in reversed(order[: order.index(latest) + 1]):
                    mark = self.marks.get((run, case))
                    if mark == "regression":
                        since, nights = run, nights + 1
                    elif run not in self.reruns:
                        break
                suite = _suite_of(self.nights[latest], case)
                found.append(Regression(machine, suite, case, latest, since, started[since], nights))
        return sorted(found, key=lambda r: (r.since, r.machine, r.case), reverse=True)


def load(results: str | os.PathLike, now: pd.Timestamp | None = None) -> SiteData:
    """Everything the pages show, read from the store at ``results`` (a folder or an fsspec URL)."""
    location = locate(results)
    local = Path(location.root) if location.is_local else None
    index = run_index(location)
    runs = index.runs.copy()
    runs["machine"] = runs["machine"].astype(str)
    environment = {
        str(run): json.loads(text or "{}") for run, text in zip(runs["run_id"], runs["environment"], strict=True)
    }
    figures = read_figures(location)
    history = case_history(figures).reset_index(drop=True)
    marks = night_marks(local) if local is not None else {}
    try:
        points, note = change_points(figures, marks, local), ""
    except ChangePointsUnavailable as error:
        points, note = None, str(error)
    latest, latest_runs = latest_figures(location) if len(runs) else (pd.DataFrame(), runs)
    fleet = _fleet(latest, latest_runs)
    data = SiteData(
        results=str(results),
        now=pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now),
        local=local,
        runs=runs,
        measured=index.measured,
        environment=environment,
        history=history,
        marks=marks,
        change_points=points,
        change_points_note=note,
        fleet=fleet,
        index=index,
    )
    _read_nights(data)
    data.limits = _limits(index, latest_runs, latest)
    return data


def _fleet(latest: pd.DataFrame, runs: pd.DataFrame) -> Fleet:
    """``judge_fleet`` on the GPU models that have peers at all: a model with fewer than
    ``min_peers + 1`` machines judges nothing, so its rows are counted as unjudged without the
    per-case loop (most of the time of a one-machine store)."""
    if latest.empty:
        return Fleet()
    gpu = latest["gpu_name"].astype("string").fillna("no GPU")
    machines = latest.groupby(gpu)["machine"].transform("nunique")
    judged = latest[(machines > MIN_PEERS).to_numpy()]
    fleet = judge_fleet(judged, runs) if not judged.empty else Fleet(rule=judge_fleet(judged.iloc[0:0]).rule)
    fleet.unjudged += len(latest) - len(judged)
    fleet.environment = environment_spread(runs)
    return fleet


def _read_nights(data: SiteData) -> None:
    """The verdicts of each machine's newest runs, newest first, until one is not a confirmation rerun."""
    if data.local is None:
        return
    for machine in data.machines():
        runs = data.machine_runs(machine)
        for run in [str(run) for run in runs["run_id"][::-1]]:
            document = _verdicts(data.local / NIGHTLY_DIR / run / VERDICTS_FILE)
            if document is None:
                break  # a plain `gpubench run`: the machine's last night, unjudged
            data.nights[run] = document
            if document.get("confirmation_of"):
                data.reruns.add(run)
                continue
            break


def _verdicts(path: Path) -> dict | None:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(document, dict) and isinstance(document.get("cases"), list)
    if ok:
        document["cases"] = [case for case in document["cases"] if isinstance(case, dict)]
    return document if ok else None


def _limits(index, latest_runs: pd.DataFrame, latest: pd.DataFrame) -> dict[tuple[str, str, str], tuple[str, float]]:
    """Per (machine, suite, case): the peak its latest run recorded for its headline figure."""
    if latest.empty:
        return {}
    columns = sorted({column for column, _ in LIMITS.values()})
    have = {name for schema in index.schemas.values() for name in schema.names}
    if not set(columns) & have:
        return {}
    rows = read_files(index, latest_runs, [*(c for c in columns if c in have), "gpu_name", "hostname"])
    rows = rows[rows["status"] == "ok"]
    if rows.empty:
        return {}
    rows = rows.assign(machine=machine_key(rows))
    out = {}
    wanted = set(
        zip(latest["machine"], latest["suite"].astype(str), latest["case"].astype(str), latest["run_id"], strict=True)
    )
    for metric, (column, label) in LIMITS.items():
        if column not in rows:
            continue
        for _, row in rows[rows[column].notna()].iterrows():
            key = (str(row["machine"]), str(row["suite"]), str(row["case"]))
            if (*key, str(row["run_id"])) in wanted:
                out[key] = (f"{label} ({metric})", float(row[column]))
    return out


def _suite_of(document: dict, case: str) -> str:
    for entry in document.get("cases", []):
        if entry.get("case") == case:
            return str(entry.get("suite", ""))
    return ""
