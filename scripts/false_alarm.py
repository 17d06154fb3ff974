#!/usr/bin/env python
"""How often does the nightly cry wolf here, and does it still catch a real slowdown?

Runs the suites N times back to back into a scratch store, then judges each run against the
other runs as its baseline (the nightly's rules: ``compare.judge``, at least 3 baseline runs,
confirmation by a rerun) and counts, over every case of every run:

* wrongly slower: nothing changed between the runs, so every ``slower`` is a false alarm
  (counted before and after the confirmation rerun, which is what the nightly acts on);
* noisy: the case's history cannot resolve the threshold here (with the smallest change it
  could detect);
* injections caught: the same run with every case's samples and median x1.3 (a case's verdict
  depends on that case only, so this is one injection per case): ``slower``, and still slower
  when the rerun, x1.3 as well, is judged (a regression persists).

The rerun is one fresh run of the suites per judged run, made only when a confirmation is
needed, and shared by all thresholds. Usage (the lead reruns it with all suites later):

    PYTHONPATH=src python scripts/false_alarm.py --runs 6 --suite copy --store /tmp/false-alarm
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

from gpubench.compare import ALPHA, NOISE_FACTOR, compare_frames, parse_threshold
from gpubench.compare_format import format_detectable
from gpubench.nightly import MIN_BASELINE_RUNS
from gpubench.pipeline import run_suites
from gpubench.store import read_results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6, help="back-to-back runs to make (default: 6)")
    parser.add_argument("--suite", nargs="+", help="suites (default: every suite in benchmarks/)")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--store", type=Path, default=Path("/tmp/gpubench-false-alarm"), help="scratch store")
    parser.add_argument("--threshold", nargs="+", default=["5%"], help="one or more thresholds (default: 5%%)")
    parser.add_argument("--inject", type=float, default=1.3, help="slowdown factor to inject (default: 1.3)")
    parser.add_argument("--min-runs", type=int, default=MIN_BASELINE_RUNS)
    parser.add_argument("--no-confirm", action="store_true", help="judge without confirmation reruns")
    parser.add_argument("--reuse", action="store_true", help="judge the runs already in --store, make none")
    args = parser.parse_args(argv)

    log = args.store / "false_alarm.log"
    args.store.mkdir(parents=True, exist_ok=True)
    if not args.reuse:
        for number in range(1, args.runs + 1):
            start = time.monotonic()
            with quiet(log):
                run_id = run_suites(args.profile, args.suite, args.store).run_id
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
                new = run_suites(args.profile, suites, args.store / "confirm").run_id
            reruns[run_id] = read_results(args.store / "confirm", new)
        return reruns[run_id]

    figures = []
    for text in args.threshold:
        threshold = parse_threshold(text)
        totals = judge_all(store, runs, threshold, args, rerun)
        figures.append(totals)
        report(totals)
    (args.store / "false_alarm.json").write_text(json.dumps(figures, indent=2, default=float))
    print(f"figures: {args.store / 'false_alarm.json'}")
    return 0


def judge_all(store: pd.DataFrame, runs: list[str], threshold: float, args, rerun) -> dict:
    totals = {
        "threshold": threshold,
        "alpha": ALPHA,
        "noise_factor": NOISE_FACTOR,
        "runs": len(runs),
        "baseline_runs": len(runs) - 1,
        "min_runs": args.min_runs,
        "inject": args.inject,
        "confirm": not args.no_confirm,
        "judged": 0,
        "wrongly_slower_first_pass": 0,
        "wrongly_slower": 0,
        "faster": 0,
        "noisy": 0,
        "same": 0,
        "injections": 0,
        "caught_first_pass": 0,
        "caught": 0,
        "injections_noisy": 0,
        "detectable": {},
        "false_alarms": [],
    }
    for run_id in runs:
        candidate = store[store["run_id"] == run_id]
        baseline = store[store["run_id"] != run_id]
        real = compare_frames(baseline, candidate, threshold, min_runs=args.min_runs)
        injected = compare_frames(baseline, inject(candidate, args.inject), threshold, min_runs=args.min_runs)
        counts = real.counts()
        totals["judged"] += len(real.cases)
        for verdict in ("faster", "noisy", "same"):
            totals[verdict] += counts[verdict]
        totals["injections"] += len(injected.cases)
        totals["injections_noisy"] += injected.counts()["noisy"]
        for case in real.cases:
            totals["detectable"].setdefault(case.case, []).append(case.judgement.detectable)
        wrong = {case.case for case in real.slower}
        caught = {case.case for case in injected.slower}
        totals["wrongly_slower_first_pass"] += len(wrong)
        totals["caught_first_pass"] += len(caught)
        if args.no_confirm:
            confirmed_wrong, confirmed_caught = wrong, caught
        else:
            confirmed_wrong = caught_again(baseline, rerun(run_id), wrong, threshold, args, 1.0) if wrong else set()
            confirmed_caught = (
                caught_again(baseline, rerun(run_id), caught, threshold, args, args.inject) if caught else set()
            )
        totals["wrongly_slower"] += len(confirmed_wrong)
        totals["caught"] += len(confirmed_caught)
        totals["false_alarms"] += [
            {"run": run_id, "case": case.case, "ratio": case.judgement.ratio, "confirmed": case.case in confirmed_wrong}
            for case in real.slower
        ]
        print(
            f"  {threshold:.0%} {run_id}: {counts['slower']} slower ({len(confirmed_wrong)} confirmed), "
            f"{counts['noisy']} noisy, {counts['same']} same, {counts['faster']} faster; "
            f"x{args.inject} caught {len(caught)}/{len(injected.cases)} ({len(confirmed_caught)} confirmed)",
            flush=True,
        )
    totals["detectable"] = {case: float(np.median(values)) for case, values in totals["detectable"].items()}
    return totals


def caught_again(baseline, rerun_frame, cases, threshold, args, factor) -> set[str]:
    """Which of ``cases`` the rerun (scaled by ``factor``) finds slower too."""
    rows = rerun_frame[rerun_frame["case"].isin(cases)]
    if rows.empty:
        return set()
    again = compare_frames(baseline, inject(rows, factor), threshold, min_runs=args.min_runs)
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
        f"{t['runs']} runs, each judged against the other {t['baseline_runs']} "
        f"(confirmation rerun: {'yes' if t['confirm'] else 'no'}):"
    )
    print(f"  case verdicts judged:        {t['judged']}")
    print(f"  wrongly called slower:       {t['wrongly_slower']} (before the confirmation rerun: "
          f"{t['wrongly_slower_first_pass']})")  # fmt: skip
    print(f"  noisy / same / faster:       {t['noisy']} / {t['same']} / {t['faster']}")
    print(f"  x{t['inject']} injections caught:     {t['caught']} of {t['injections']} (before the rerun: "
          f"{t['caught_first_pass']}); noisy: {t['injections_noisy']}")  # fmt: skip
    print("  smallest detectable slowdown per case (median over runs):")
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
