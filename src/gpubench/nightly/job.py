"""The nightly job: run the suites, judge the run against its machine's history, confirm, report.

1. ``run_suites`` measures and stores the run (exactly ``gpubench run``).
2. Every case is judged against the last N good runs of the same machine (``baseline.py``) with
   the rules of ``compare.py``; a case needs ``min_runs`` baseline runs before it can fail a night.
3. Confirmation: cases judged slower are measured once more, at once, in a fresh pytest process,
   and the rerun is judged against the same baseline. Only a case slower both times is a
   regression: a load burst or a cold cache lasts one measurement, a regression lasts.
4. ``<results>/nightly/<run id>/``: ``report.html`` (self-contained), ``report.md``, PNGs and
   ``verdicts.json``; cases judged slower there (confirmed or not) never serve as baseline.
   The report lists the change points of this machine's history (``changepoints``), newest first.
"""

from __future__ import annotations

import math
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from gpubench.analysis.baseline import (
    DEFAULT_BASELINE_RUNS,
    NIGHTLY_DIR,
    VERDICTS_FILE,
    baseline_depth,
    load_baseline,
    night_marks,
)
from gpubench.analysis.changepoints import ChangePoint, ChangePointsUnavailable, change_points
from gpubench.analysis.compare import CaseComparison, Comparison, compare_frames
from gpubench.analysis.history import case_history
from gpubench.analysis.rules import DEFAULT_THRESHOLD, MIN_BASELINE_RUNS
from gpubench.files import strict_json
from gpubench.files.safe import safe_folder, write_file
from gpubench.pipeline import Outcome, RunRequest, publish_run, run_suites
from gpubench.store.figures import read_figures
from gpubench.store.location import locate
from gpubench.store.machine import machine_key
from gpubench.store.publish import StoreUnreachable, publish_folder, scratch_folder, unreachable
from gpubench.store.read import read_results
from gpubench.suites import unjudged_suites
from gpubench.views.changepoints import describe
from gpubench.views.compare import format_value
from gpubench.views.figures.history import plot_history
from gpubench.views.report import Report, plot_verdicts, verdict_table
from gpubench.views.tables import summary

REPORTED_CHANGE_POINTS = 50  # the newest; `gpubench history` lists them all


@dataclass
class Night:
    run_id: str
    machine: str
    status: str
    exit_code: int
    comparison: Comparison | None = None
    confirmation: Comparison | None = None
    rerun_id: str | None = None
    regressions: list[CaseComparison] = field(default_factory=list)
    transients: list[CaseComparison] = field(default_factory=list)
    report_dir: Path | None = None
    report_at: str = ""  # where report.html is in the store (a URL for an object store)
    lines: list[str] = field(default_factory=list)
    change_points: list[ChangePoint] | None = None  # None: not computed (see change_points_note)
    change_points_note: str = ""


def nightly(
    results: str | os.PathLike,
    request: RunRequest,
    baseline_runs: int = DEFAULT_BASELINE_RUNS,
    threshold: float = DEFAULT_THRESHOLD,
    min_runs: int = MIN_BASELINE_RUNS,
    confirm: bool = True,
) -> Night:
    """Run ``request``, judge it against this machine's last good runs, confirm, report.

    A store at a URL (a shared object store): measured into a local scratch folder, the run
    published to the store, judged against this machine's history there, and ``nightly/<run>/``
    published (``verdicts.json`` first); the scratch folder is removed once the store holds it
    all, kept and named (``StoreUnreachable``) when the store cannot take it.
    """
    location = locate(results)
    local = Path(location.root) if location.is_local else scratch_folder()
    outcome = run_suites(request, local)  # a local folder: measured there
    print(outcome.report, flush=True)
    if location.is_local and outcome.stopped:  # a time limit, Ctrl-C: judge nothing, rerun nothing
        return _stopped(outcome)
    if location.is_local:
        return _judge(results, local, outcome, request, baseline_runs, threshold, min_runs, confirm)
    try:
        publish_run(local, outcome.run_id, results)
        if outcome.stopped:
            night = _stopped(outcome)
        else:
            night = _judge(results, local, outcome, request, baseline_runs, threshold, min_runs, confirm)
            for run_id in filter(None, (night.run_id, night.rerun_id)):
                publish_folder(local / NIGHTLY_DIR / run_id, results, NIGHTLY_DIR, run_id, first=VERDICTS_FILE)
            night.report_at = location.fs.unstrip_protocol(location.join(NIGHTLY_DIR, night.run_id, "report.html"))
    except StoreUnreachable:
        raise
    except Exception as error:  # the store went away, refused a write, lost the credentials: local run kept
        raise unreachable(results, local, error, f"night {outcome.run_id}") from None
    shutil.rmtree(local, ignore_errors=True)
    return night


def _stopped(outcome: Outcome) -> Night:
    """A night stopped during its run (a time limit, Ctrl-C): its run is stored, nothing judged or rerun."""
    line = f"stopped by {outcome.stopped}: the run is stored, the night judged nothing and wrote no verdicts"
    return Night(outcome.run_id, "", "stopped", outcome.exit_code, lines=[line])


def _judge(
    results: str | os.PathLike,
    local: Path,
    outcome: Outcome,
    request: RunRequest,
    baseline_runs: int,
    threshold: float,
    min_runs: int,
    confirm: bool,
) -> Night:
    """Judge the stored run ``outcome`` against the store ``results``; the report goes to ``local``."""
    candidate, baseline = load_baseline(results, outcome.run_id, baseline_runs)
    judged = ~candidate["suite"].astype(str).isin(unjudged_suites())  # e.g. verify's rows: never judged
    candidate = candidate[judged]
    baseline = baseline[~baseline["suite"].astype(str).isin(unjudged_suites())]
    machine = str(machine_key(candidate).iloc[0])
    night = Night(outcome.run_id, machine, "pass", 0)
    if not baseline.empty:
        night.comparison = compare_frames(baseline, candidate, threshold, min_runs=min_runs)
        if night.comparison.slower and confirm:
            night.rerun_id = rerun_cases(night.comparison.slower, candidate, request, local, results)
            rerun = read_results(results, night.rerun_id)
            night.confirmation = compare_frames(baseline, rerun, threshold, min_runs=min_runs)
        night.regressions, night.transients = split_confirmed(night.comparison, night.confirmation, confirm)
    night.status, night.exit_code, night.lines = _status(night, baseline, min_runs, outcome)
    night.report_dir = safe_folder(local, NIGHTLY_DIR, outcome.run_id)  # no planted link is followed
    night.report_at = str(night.report_dir / "report.html")
    write_verdicts(night.report_dir, night.run_id, night, night.comparison)
    if night.rerun_id and night.confirmation is not None:
        rerun_dir = safe_folder(local, NIGHTLY_DIR, night.rerun_id)
        write_verdicts(rerun_dir, night.rerun_id, night, night.confirmation, confirmation_of=night.run_id)
    measured = set(candidate.loc[candidate["status"] == "ok", "case"].astype(str))
    store = read_figures(results, machine=machine, cases=measured)  # the report's history
    night.change_points, night.change_points_note = machine_change_points(store, candidate, night.machine, results)
    write_night_report(night, store, candidate, outcome, baseline_runs, threshold, min_runs)
    return night


def machine_change_points(
    store: pd.DataFrame, candidate: pd.DataFrame, machine: str, results: str | os.PathLike
) -> tuple[list[ChangePoint] | None, str]:
    """Change points of this run's cases in the machine's history; (None, why) without ruptures."""
    measured = set(candidate.loc[candidate["status"] == "ok", "case"])
    rows = store[(machine_key(store) == machine) & store["case"].isin(measured)]
    try:
        cache = results if locate(results).is_local else None  # a shared object store: not cached
        return change_points(rows, night_marks(results), cache), ""
    except ChangePointsUnavailable as error:
        print(f"gpubench: {error}", flush=True)
        return None, str(error)


def rerun_cases(
    cases: list[CaseComparison],
    candidate: pd.DataFrame,
    request: RunRequest,
    local: Path,
    results: str | os.PathLike | None = None,
) -> str:
    """Measure ``cases`` again in a fresh pytest process, with the first run's request, into the
    local store ``local`` (and published to ``results`` when that is another store); the new run's id."""
    wanted = {case.case for case in cases}
    rows = candidate[candidate["case"].isin(wanted)]
    names = [str(name) for name in rows["name"]]
    suites = sorted(set(rows["suite"].astype(str)))
    print(f"confirming {len(wanted)} slower case(s) with a rerun: {', '.join(sorted(wanted))}", flush=True)
    run_id = run_suites(request.narrowed(suites, names), local).run_id
    if results is not None and not locate(results).is_local:
        publish_run(local, run_id, results)
    return run_id


def split_confirmed(
    comparison: Comparison, confirmation: Comparison | None, confirm: bool
) -> tuple[list[CaseComparison], list[CaseComparison]]:
    """(regressions, transients): slower cases that the rerun found slower again, and the others."""
    if not confirm:
        return comparison.slower, []
    again = {case.case for case in confirmation.slower} if confirmation else set()
    regressions = [case for case in comparison.slower if case.case in again]
    transients = [case for case in comparison.slower if case.case not in again]
    return regressions, transients


def _status(night: Night, baseline: pd.DataFrame, min_runs: int, outcome: Outcome) -> tuple[str, int, list[str]]:
    lines = []
    fewest, most = baseline_depth(baseline)
    if night.comparison is None:
        status = "first night"
        lines.append(
            f"first night on {night.machine}: no earlier good run of this machine in the store, nothing to compare; "
            f"this run starts the history ({min_runs} runs are needed before a case can fail a night)"
        )
    elif night.regressions:
        status = "regression"
        how = "confirmed by a rerun" if night.rerun_id else "not confirmed (no rerun: --no-confirm)"
        lines.append(f"REGRESSION: {len(night.regressions)} case(s) slower, {how}")
    else:
        status = "pass"
        if most < min_runs:
            lines.append(f"history too short to fail a night: {most} of {min_runs} baseline runs; every case is noisy")
    if night.comparison is not None:
        counts = night.comparison.counts()
        lines.append(
            f"baseline: {fewest}-{most} earlier good run(s) of {night.machine} per case; "
            + ", ".join(f"{count} {verdict}" for verdict, count in counts.items())
        )
    if night.transients:
        lines.append(
            f"{len(night.transients)} case(s) slower once but not in the rerun (transient, not a regression): "
            + ", ".join(case.case for case in night.transients)
        )
    if outcome.exit_code:
        lines.append("some cases FAILED in pytest (see its output above): the night fails")
    exit_code = 1 if (night.regressions or outcome.exit_code) else 0
    return status, exit_code, lines


def write_verdicts(
    out_dir: Path, run_id: str, night: Night, comparison: Comparison | None, confirmation_of: str | None = None
) -> Path:
    """``verdicts.json``: every case's verdict; the slower ones are kept out of later baselines."""
    out_dir.mkdir(parents=True, exist_ok=True)
    confirmed = {case.case for case in night.regressions}
    document = {
        "run_id": run_id,
        "confirmation_of": confirmation_of,
        "rerun_id": night.rerun_id if confirmation_of is None else None,
        "machine": night.machine,
        "status": night.status,
        "baseline_runs": comparison.baseline_runs if comparison else [],
        "threshold": comparison.threshold if comparison else None,
        "cases": [
            {
                "suite": case.suite,
                "case": case.case,
                "verdict": case.verdict,
                "ratio": case.judgement.ratio,
                "p_value": None if math.isnan(case.judgement.p_value) else case.judgement.p_value,
                "detectable": case.judgement.detectable,
                # True/False: what the rerun found; None: not slower, or no rerun (--no-confirm)
                "confirmed": (case.case in confirmed) if case.verdict == "slower" and night.rerun_id else None,
            }
            for case in (comparison.cases if comparison else [])
        ],
    }
    return write_file(out_dir, VERDICTS_FILE, strict_json.dumps(document))


def write_night_report(
    night: Night,
    store: pd.DataFrame,
    candidate: pd.DataFrame,
    outcome: Outcome,
    baseline_runs: int,
    threshold: float,
    min_runs: int,
) -> tuple[Path, Path]:
    out = night.report_dir
    out.mkdir(parents=True, exist_ok=True)
    started = candidate["started_at"].iloc[0]
    report = Report(f"gpubench nightly {night.status.upper()}: run {night.run_id} on {night.machine}")
    report.paragraph(
        f"Run {night.run_id}, started {started}, profile {candidate['profile'].iloc[0]}, suites "
        f"{', '.join(sorted(set(candidate['suite'].astype(str))))}. Judged against the last {baseline_runs} good "
        f"runs of the same machine (GPU model and host), case by case, at a {threshold:.0%} threshold; "
        f"a case needs {min_runs} baseline runs before it can fail a night. Method: docs/compare.md."
    )
    report.bullets(night.lines)
    comparison = night.comparison
    if comparison is not None:
        report.heading("Environment differences (baseline -> this run)")
        if comparison.env:
            report.table(["what", "baseline", "this run"], [[d.key, d.baseline, d.candidate] for d in comparison.env])
        else:
            report.paragraph("None: same versions, GPU, driver and host as the baseline runs.")
        if night.regressions or night.transients:
            report.heading("Slower cases and their confirmation rerun")
            report.table(["case", "first run", "rerun", "outcome"], _confirmation_rows(night))
        report.heading("Verdicts")
        report.paragraph(
            "ratio = this run / baseline of the figure shown (GB/s or TFLOP/s: below 1 is slower; times: above 1 is "
            "slower); CI from the raw samples; runs = baseline runs; spread = slowest / fastest baseline run median "
            "- 1; detect = the smallest slowdown this case could be called slower for (threshold plus noise)."
        )
        report.image(plot_verdicts(comparison, out / "verdicts.png"), "time ratio per case with its interval")
        verdict_table(report, comparison)
    history = case_history(store[machine_key(store) == night.machine])
    history = history[history["case"].isin(set(candidate.loc[candidate["status"] == "ok", "case"]))]
    if not history.empty:
        report.heading(f"History on {night.machine}")
        for path in plot_history(history, out, highlight_run=night.run_id):
            report.image(path, "median per run with IQR bars; this run in red")
    _change_point_section(report, night)
    report.heading("This run")
    for path in outcome.plots:
        report.image(path, path.name)
    report.pre(summary(candidate))
    skipped = candidate[candidate["status"] == "skipped"]
    if not skipped.empty:
        report.heading("Skipped cases")
        reasons = Counter(skipped["skip_reason"].astype(str))
        report.bullets([f"{count} case(s): {reason}" for reason, count in reasons.items()])
    return report.write(out)


def _change_point_section(report: Report, night: Night) -> None:
    report.heading(f"Change points on {night.machine}")
    if night.change_points is None:
        report.paragraph(night.change_points_note)
        return
    newest = sorted(night.change_points, key=lambda point: (point.started_at, point.run_id), reverse=True)
    report.paragraph(
        "Runs where a case's level shifted (e-divisive: size and permutation-test confidence; what changed in the "
        "fingerprint within one run of it; the commit range, not a cause). Newest first"
        + (
            f"; the {REPORTED_CHANGE_POINTS} newest of {len(newest)}, all in `gpubench history`."
            if len(newest) > REPORTED_CHANGE_POINTS
            else "."
        )
    )
    if newest:
        report.bullets([describe(point) for point in newest[:REPORTED_CHANGE_POINTS]])
    else:
        report.paragraph("None: every case of this run held its level over this machine's history.")


def _confirmation_rows(night: Night) -> list[list[str]]:
    rerun = {case.case: case for case in (night.confirmation.cases if night.confirmation else [])}
    rows = []
    for case in night.regressions + night.transients:
        again = rerun.get(case.case)
        first = f"x{case.metric_ratio[0]:.3f} ({format_value(case.metric, case.candidate_value)})"
        second = f"x{again.metric_ratio[0]:.3f} ({again.verdict})" if again else "not rerun"
        rows.append([case.case, first, second, "REGRESSION" if case in night.regressions else "transient"])
    return rows
