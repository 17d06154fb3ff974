"""The overview's cells: per machine and suite, what the last night made of it, and how old it is.

A machine's last night is its newest run that is not a nightly's confirmation rerun. Per suite:

* ``not run``: the suite never ran on the machine, or its newest run is more than ``STALE_AFTER``
  older than the machine's last night (the suite dropped out of the nightly);
* ``failing``: its newest run measured none of its cases (every one skipped or failed);
* ``regression``: the night's verdicts mark a case of the suite slower, confirmed by the rerun
  (``analysis.baseline.night_marks``: ``regression``);
* ``noisy``: no regression, but a case was too noisy to judge, or slower once and not in the
  rerun (transient);
* ``pass``: measured, and nothing above (``judged``: False when no nightly judged that run, a
  plain ``gpubench run``).

A machine whose last run is more than ``STALE_AFTER`` (36 hours) old is stale: a nightly that
silently stopped shows as such, whatever its last statuses were.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from gpubench.views.site.data import SiteData

STALE_AFTER = pd.Timedelta(hours=36)
STATUSES = ("pass", "regression", "noisy", "failing", "not run")


@dataclass(frozen=True)
class Cell:
    machine: str
    suite: str
    status: str
    run_id: str | None  # the suite's newest run on the machine
    started_at: pd.Timestamp | None
    judged: bool
    detail: str


@dataclass(frozen=True)
class MachineRow:
    machine: str
    gpu_name: str
    hostname: str
    last_run_id: str
    last_started_at: pd.Timestamp
    stale: bool
    cells: dict[str, Cell]


def suites_of(data: SiteData) -> list[str]:
    names = {part for text in data.runs["suites"] for part in str(text or "").split(",") if part}
    return sorted(names)


def overview_rows(data: SiteData) -> list[MachineRow]:
    suites = suites_of(data)
    rows = []
    for machine in data.machines():
        night = data.last_night(machine)
        if night is None:
            continue
        runs = data.machine_runs(machine)
        cells = {suite: _cell(data, machine, suite, runs, night) for suite in suites}
        started = pd.Timestamp(night["started_at"])
        rows.append(
            MachineRow(
                machine,
                _text(night["gpu_name"], "no GPU"),
                _text(night["hostname"], "unknown host"),
                str(night["run_id"]),
                started,
                data.now - started > STALE_AFTER,
                cells,
            )
        )
    return rows


def _cell(data: SiteData, machine: str, suite: str, runs: pd.DataFrame, night: pd.Series) -> Cell:
    has = [
        suite in str(text or "").split(",") and str(run) not in data.reruns
        for text, run in zip(runs["suites"], runs["run_id"], strict=True)
    ]
    own = runs[has]
    if own.empty:
        return Cell(machine, suite, "not run", None, None, False, "never ran on this machine")
    last = own.iloc[-1]
    run_id, started = str(last["run_id"]), pd.Timestamp(last["started_at"])
    if pd.Timestamp(night["started_at"]) - started > STALE_AFTER:
        return Cell(machine, suite, "not run", run_id, started, False, "not in the machine's last night")
    measured = sum(1 for s, _ in data.measured.get(str(last["measured_id"]), ()) if s == suite)
    if measured == 0:
        return Cell(machine, suite, "failing", run_id, started, False, "no case measured (all skipped or failed)")
    verdicts = data.verdicts(run_id)
    if verdicts is None:
        return Cell(machine, suite, "pass", run_id, started, False, f"{measured} measured; not judged by a nightly")
    cases = [case for case in verdicts["cases"] if str(case.get("suite")) == suite]
    marks = [data.marks.get((run_id, str(case.get("case")))) for case in cases]
    regressions = marks.count("regression")
    transients = marks.count("transient")
    noisy = sum(1 for case in cases if case.get("verdict") == "noisy")
    if regressions:
        return Cell(machine, suite, "regression", run_id, started, True, f"{regressions} case(s) slower, confirmed")
    if noisy or transients:
        detail = f"{noisy} noisy, {transients} transient of {len(cases)} judged"
        return Cell(machine, suite, "noisy", run_id, started, True, detail)
    return Cell(machine, suite, "pass", run_id, started, True, f"{len(cases)} judged, none slower")


def _text(value, missing: str) -> str:
    return value if isinstance(value, str) and value else missing


def age(now: pd.Timestamp, started: pd.Timestamp | None) -> str:
    """``5 h``, ``3 d``: how long ago ``started`` was."""
    if started is None:
        return "never"
    hours = (now - started).total_seconds() / 3600
    if hours < 0:
        return "in the future"
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.0f} d"
