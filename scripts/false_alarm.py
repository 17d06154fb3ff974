#!/usr/bin/env python
"""How often does the nightly cry wolf here, and does it still catch a real slowdown?

Runs the suites N times back to back into a scratch store, then judges each run against the
other runs as its baseline (the nightly's rules: ``compare.judge``, at least 3 baseline runs,
confirmation by a rerun) and counts, over every case of every run:

* wrongly slower: nothing changed between the runs, so every ``slower`` is a false alarm
  (counted before and after the confirmation rerun, which is what the nightly acts on);
* noisy: changes past the threshold that stayed inside the case's noise band;
* injections caught, per factor (``--inject 1.1 1.3``): the same run with every case's samples
  and median x factor (a case's verdict depends on that case only, so this is one injection per
  case): ``slower``, and still slower when the rerun, x factor as well, is judged (a regression
  persists). Reported over all cases and over the cases that could see it: those whose own
  ``detectable`` figure (in that comparison) is below the injected change (x1.3: under 30%,
  x1.1: under 10%); the goal there is all of them.

``--baseline-runs 1`` judges each run against the one run before it (compare with one baseline:
between-run noise from the other runs' history, else the 5% default). The rerun is one fresh
run of the suites per judged run, made only when a confirmation is needed, and shared by all
thresholds and factors. Usage (the lead reruns it with all suites on a quiet machine):

    PYTHONPATH=src python scripts/false_alarm.py --runs 10 --store /tmp/false-alarm
    PYTHONPATH=src python scripts/false_alarm.py --runs 4 --suite copy --store /tmp/false-alarm-copy
    PYTHONPATH=src python scripts/false_alarm.py --reuse --store /tmp/false-alarm --threshold 5% 10%
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gpubench.analysis.compare import compare_frames
from gpubench.analysis.noise import noise_priors
from gpubench.analysis.rules import ALPHA, MIN_BASELINE_RUNS, NOISE_FACTOR, parse_threshold
from gpubench.pipeline import RunRequest, run_suites
from gpubench.store import read_results
from gpubench.views.compare import format_detectable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="back-to-back runs to make (default: 10)")
    parser.add_argument("--suite", nargs="+", help="suites (default: every suite in benchmarks/)")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--store", type=Path, default=Path("/tmp/gpubench-false-alarm"), help="scratch store")
    parser.add_argument("--threshold", nargs="+", default=["5%"], help="one or more thresholds (default: 5%%)")
    parser.add_argument(
        "--inject", type=float, nargs="+", default=[1.1, 1.3], help="slowdown factors (default: 1.1 1.3)"
    )
    parser.add_argument("--min-runs", type=int, default=MIN_BASELINE_RUNS)
    parser.add_argument("--baseline-runs", type=int, help="judge against the N runs before (default: every other run)")
    parser.add_argument("--no-confirm", action="store_true", help="judge without confirmation reruns")
    parser.add_argument("--reuse", action="store_true", help="judge the runs already in --store, make none")
    args = parser.parse_args(argv)
    if args.baseline_runs is not None and args.baseline_runs < args.min_runs:
        args.min_runs = args.baseline_runs  # else every case would be noisy for want of runs

    log = args.store / "false_alarm.log"
    args.store.mkdir(parents=True, exist_ok=True)
    if not args.reuse:
        for number in range(1, args.runs + 1):
            start = time.monotonic()
            with quiet(log):
                run_id = run_suites(RunRequest(args.profile, tuple(args.suite or ()) or None), args.store).run_id
            print(f"run {number}/{args.runs}: {run_id} ({time.monotonic() - start:.0f} s)", flush=True)
    store = read_results(args.store)
    runs = list(dict.fromkeys(store["run_id"].astype(str)))
    if len(runs) < 2:
        print(f"need at least 2 runs in {args.store}, found {len(runs)}", file=sys.stderr)
        return 2
    suites = sorted(set(store.loc[store["status"] == "ok", "suite"].astype(str)))
    print(f"{len(runs)} runs in {args.store}; measured suites: {', '.join(suites)}; log of pytest output: {log}")

    reruns: dict[str, pd.DataFrame] = {}

    def rerun(run_id: str) -> pd.DataFrame:
        if run_id not in reruns:
            with quiet(log):
                new = run_suites(RunRequest(args.profile, tuple(suites)), args.store / "confirm").run_id
            reruns[run_id] = read_results(args.store / "confirm", new)
        return reruns[run_id]

    figures = []
    for text in args.threshold:
        totals = judge_all(store, runs, parse_threshold(text), args, rerun)
        figures.append(totals)
        report(totals)
    (args.store / "false_alarm.json").write_text(json.dumps(figures, indent=2, default=float, allow_nan=False))
    print(f"figures: {args.store / 'false_alarm.json'}")
    return 0


def judge_all(store: pd.DataFrame, runs: list[str], threshold: float, args, rerun) -> dict:
    totals = {
        "threshold": threshold,
        "alpha": ALPHA,
        "noise_factor": NOISE_FACTOR,
        "runs": len(runs),
        "baseline_runs": args.baseline_runs or len(runs) - 1,
        "min_runs": args.min_runs,
        "confirm": not args.no_confirm,
        "judged": 0,
        "wrongly_slower_first_pass": 0,
        "wrongly_slower": 0,
        "faster": 0,
        "noisy": 0,
        "same": 0,
        "injections": {
            str(factor): {**dict.fromkeys(INJECTION_COUNTS, 0), "visible_missed": []} for factor in args.inject
        },
        "detectable": {},
        "false_alarms": [],
    }
    judged_runs = runs[args.baseline_runs :] if args.baseline_runs else runs
    for run_id in judged_runs:
        candidate = store[store["run_id"] == run_id]
        baseline, priors = baseline_of(store, runs, run_id, args.baseline_runs)
        real = compare_frames(baseline, candidate, threshold, min_runs=args.min_runs, priors=priors)
        counts = real.counts()
        totals["judged"] += len(real.cases)
        for verdict in ("faster", "noisy", "same"):
            totals[verdict] += counts[verdict]
        detectable = {case.case: case.judgement.detectable for case in real.cases}
        for case, value in detectable.items():
            totals["detectable"].setdefault(case, []).append(value)
        wrong = {case.case for case in real.slower}
        confirmed_wrong = confirm(baseline, priors, rerun, run_id, wrong, threshold, args, 1.0)
        totals["wrongly_slower_first_pass"] += len(wrong)
        totals["wrongly_slower"] += len(confirmed_wrong)
        totals["false_alarms"] += [
            {"run": run_id, "case": case.case, "ratio": case.judgement.ratio, "confirmed": case.case in confirmed_wrong}
            for case in real.slower
        ]
        line = [f"  {threshold:.0%} {run_id}: {counts['slower']} slower ({len(confirmed_wrong)} confirmed), "
                f"{counts['noisy']} noisy, {counts['same']} same, {counts['faster']} faster"]  # fmt: skip
        for factor in args.inject:
            injected = compare_frames(
                baseline, inject(candidate, factor), threshold, min_runs=args.min_runs, priors=priors
            )
            caught = {case.case for case in injected.slower}
            confirmed = confirm(baseline, priors, rerun, run_id, caught, threshold, args, factor)
            visible = {case for case, value in detectable.items() if value < factor - 1}
            tally = totals["injections"][str(factor)]
            tally["cases"] += len(injected.cases)
            tally["noisy"] += injected.counts()["noisy"]
            tally["caught_first_pass"] += len(caught)
            tally["caught"] += len(confirmed)
            tally["visible"] += len(visible)
            tally["visible_caught_first_pass"] += len(caught & visible)
            tally["visible_caught"] += len(confirmed & visible)
            tally["visible_missed"] += [missed(real, run_id, case, caught) for case in sorted(visible - confirmed)]
            line.append(f"x{factor} caught {len(caught & visible)}/{len(visible)} detectable under {factor - 1:.0%}, "
                        f"{len(caught)}/{len(injected.cases)} in all ({len(confirmed)} confirmed)")  # fmt: skip
        print("; ".join(line), flush=True)
    totals["detectable"] = {case: float(np.median(values)) for case, values in totals["detectable"].items()}
    return totals


INJECTION_COUNTS = (
    "cases", "noisy", "caught_first_pass", "caught", "visible", "visible_caught_first_pass", "visible_caught",
)  # fmt: skip


def missed(real, run_id: str, case: str, caught: set[str]) -> dict:
    """A visible injection that was not caught, with what the run itself looked like before it."""
    judged = next(item for item in real.cases if item.case == case).judgement
    ratio, verdict, detectable = judged.ratio, judged.verdict, judged.detectable
    return {"run": run_id, "case": case, "detectable": detectable, "ratio": ratio, "verdict": verdict,
            "caught_first_pass": case in caught}  # fmt: skip


def baseline_of(store: pd.DataFrame, runs: list[str], run_id: str, n_runs: int | None):
    """Every other run, or the ``n_runs`` before ``run_id`` (with history priors for one run)."""
    if not n_runs:
        return store[store["run_id"] != run_id], None
    before = runs[max(runs.index(run_id) - n_runs, 0) : runs.index(run_id)]
    baseline = store[store["run_id"].isin(before)]
    candidate = store[store["run_id"] == run_id]
    history = store[store["run_id"].isin(set(runs) - {run_id})]  # what a store of these runs would hold
    return baseline, noise_priors(history, candidate) if n_runs == 1 else None


def confirm(baseline, priors, rerun, run_id, cases, threshold, args, factor) -> set[str]:
    """Which of ``cases`` the rerun (scaled by ``factor``) finds slower too (all without reruns)."""
    if args.no_confirm or not cases:
        return set(cases)
    rows = rerun(run_id)
    rows = rows[rows["case"].isin(cases)]
    if rows.empty:
        return set()
    again = compare_frames(baseline, inject(rows, factor), threshold, min_runs=args.min_runs, priors=priors)
    return {case.case for case in again.slower}


def inject(frame: pd.DataFrame, factor: float) -> pd.DataFrame:
    """Every measured case ``factor`` times slower: raw samples, time statistics, rates."""
    out = frame.copy()
    if factor == 1.0:
        return out
    measured = out["status"] == "ok"
    out.loc[measured, "samples_s"] = out.loc[measured, "samples_s"].map(lambda s: [v * factor for v in s])
    for column in ("median_s", "min_s", "max_s", "mean_s", "q1_s", "q3_s", "iqr_s", "stddev_s"):
        if column in out:
            out.loc[measured, column] = out.loc[measured, column] * factor
    for column in out.columns:
        if column.endswith(("gbps", "tflops")):
            out.loc[measured, column] = out.loc[measured, column] / factor
    return out


def report(totals: dict) -> None:
    t = totals
    print(
        f"\nthreshold {t['threshold']:.0%}, Mann-Whitney p < {t['alpha']}, noise factor {t['noise_factor']:g}, "
        f"{t['runs']} runs, each judged against {t['baseline_runs']} other(s) "
        f"(confirmation rerun: {'yes' if t['confirm'] else 'no'}):"
    )
    print(f"  case verdicts judged:        {t['judged']}")
    print(f"  wrongly called slower:       {t['wrongly_slower']} (before the confirmation rerun: "
          f"{t['wrongly_slower_first_pass']})")  # fmt: skip
    print(f"  noisy / same / faster:       {t['noisy']} / {t['same']} / {t['faster']}")
    for factor, n in t["injections"].items():
        limit = float(factor) - 1
        print(f"  x{factor} injections:  caught {n['visible_caught']} of {n['visible']} whose detectable figure is "
              f"under {limit:.0%} (before the rerun: {n['visible_caught_first_pass']}); in all {n['caught']} of "
              f"{n['cases']} (before the rerun: {n['caught_first_pass']}), {n['noisy']} noisy")  # fmt: skip
        for miss in n["visible_missed"]:
            print(f"    missed: {miss['case']} in {miss['run']}: detectable {miss['detectable']:.1%}; before the "
                  f"injection the run was x{miss['ratio']:.3f} ({miss['verdict']})")  # fmt: skip
    values = sorted(t["detectable"].values())
    if values:
        quartiles = np.quantile(values, [0.25, 0.5, 0.75])
        print("  detectable slowdown per case (median over runs), quartiles over cases: "
              + " / ".join(format_detectable(value) for value in quartiles))  # fmt: skip
    for case, value in t["detectable"].items():
        print(f"    {format_detectable(value):>8}  {case}")


@contextlib.contextmanager
def quiet(log: Path):
    """Send this process's and its children's stdout/stderr to ``log`` (pytest is chatty)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "a") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


if __name__ == "__main__":
    sys.exit(main())
