"""With ``--results``: stored figures against the physical limits that bound them.

Each registered suite may name doctor rules (``Suite.doctor_rules``, ``(frame, run) ->
[Finding]``, in ``suites/<name>/doctor.py``); ``judge_run`` applies them all to one run,
``judge_store`` to the latest run of each suite that has rules (the latest run of a store is often
one suite only, e.g. a torchrun AllReduce after a copy run, and the copies still deserve a verdict).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from gpubench.machine.findings import Finding
from gpubench.suites import SUITES
from gpubench.suites.rows import NOTHING_TO_DO, known


def judge_run(frame: pd.DataFrame) -> list[Finding]:
    """Findings on one stored run (``read_results(dir, run_id)``): every suite's rules on its rows."""
    if frame.empty:
        return [Finding("info", "results", "the run holds no rows to judge", NOTHING_TO_DO)]
    run = _run_label(frame)
    findings = [finding for rules in _rules() for finding in rules(frame, run)]
    if not findings:
        judged = ", ".join(suite.name for suite in SUITES.values() if suite.doctor_rules)
        findings.append(
            Finding(
                "info",
                "results",
                f"{run} has no figures to judge against physical limits (suites judged: {judged})",
                "run the copy or allreduce suite (gpubench run --suite copy)",
            )
        )
    return findings


def judge_store(frame: pd.DataFrame) -> tuple[list[Finding], dict[str, str]]:
    """The latest run of each suite that has rules, judged; and which run each suite's was.

    ``frame`` is a whole store (``read_results(dir)``, oldest run first). When no suite with rules
    was ever measured, the latest run is judged (and says it has nothing to judge).
    """
    if frame.empty:
        return judge_run(frame), {}
    measured = frame[frame["status"] == "ok"] if "status" in frame else frame
    latest = {
        suite.name: str(measured.loc[measured["suite"] == suite.name, "run_id"].iloc[-1])
        for suite in SUITES.values()
        if suite.doctor_rules and (measured["suite"] == suite.name).any()
    }
    runs = list(dict.fromkeys(latest.values())) or [str(frame["run_id"].iloc[-1])]
    findings = []
    for run_id in runs:
        rows = frame[frame["run_id"] == run_id]
        suites_here = [name for name, latest_run in latest.items() if latest_run == run_id]
        findings += judge_run(rows[rows["suite"].isin(suites_here)] if suites_here else rows)
    return findings, latest


def _rules() -> list[Any]:
    return [rules for suite in SUITES.values() if (rules := suite.doctor()) is not None]


def _run_label(frame: pd.DataFrame) -> str:
    first = frame.iloc[0]
    where = [str(first[column]) for column in ("hostname", "gpu_name") if column in frame and known(first[column])]
    return f"run {first.get('run_id')}" + (f" ({', '.join(where)})" if where else "")
