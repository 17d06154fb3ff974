#!/usr/bin/env python
"""What asv's Mann-Whitney U test would change in compare's verdicts, measured on recorded runs.

compare pins scipy's asymptotic test (normal approximation, tie and continuity corrections) at
every sample size. asv's ``statistics.mann_whitney_u`` differs in three ways: the exact null
distribution up to 20 samples a side (normal, no corrections, above), ties broken
conservatively (the least significant U the ties allow), and a ``p_min`` guard (no test when
1 / C(m + n, min(m, n)) is not below the level). This script judges the same comparisons both
ways (``compare.compare_frames``, its ``mann_whitney`` swapped for asv's) and prints every
verdict that differs, and the p-values of each method side by side:

* the five recorded copy runs (tests/data/copy_runs, 15 samples a case): every ordered pair as
  one baseline run against one candidate (15 against 15: asv goes exact), every three runs
  against a fourth (45 pooled against 15: asv goes normal), and the same with each case x1.3;
* a foreign pytest-benchmark suite, sampled (tests/compare_support.foreign_run: thousands of
  rounds a case), two runs of four suites, unchanged and x1.3.

Usage: ``PYTHONPATH=src:tests python scripts/mann_whitney_methods.py``
"""

from __future__ import annotations

import itertools
import math
import sys
import tempfile
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests")]

from compare_support import bench_case, foreign_run, inject, load, write_json  # noqa: E402

from gpubench.analysis import compare  # noqa: E402
from gpubench.analysis.rules import ALPHA  # noqa: E402
from gpubench.analysis.significance import MannWhitney, mann_whitney  # noqa: E402
from gpubench.store import ingest, read_results  # noqa: E402

EXACT_UP_TO = 20  # asv: exact up to this many samples a side


def u_counts(m: int, n: int) -> list[int]:
    """Orderings of m + n distinct values per U (0..m*n): the Gaussian binomial's coefficients."""
    size = m * n + 1
    counts = [1] + [0] * (size - 1)
    for i in range(1, m + 1):
        step = counts[:]
        for k in range(size - 1, n + i - 1, -1):  # x (1 - q^(n+i))
            step[k] -= counts[k - n - i]
        for k in range(i, size):  # / (1 - q^i)
            step[k] += step[k - i]
        counts = step
    return counts


def asv_mann_whitney(first, second) -> MannWhitney:
    """asv's mann_whitney_u(x, y, method="auto"), with scipy's U (ties counting one half) reported."""
    x, y = np.asarray(first, dtype=float), np.sort(np.asarray(second, dtype=float))
    m, n = len(x), len(y)
    below = np.searchsorted(y, x, side="left")  # per x, the y values it exceeds
    u, tied = int(below.sum()), int((np.searchsorted(y, x, side="right") - below).sum())
    ties, half = tied, m * n // 2
    if u <= half <= u + ties:  # conservative tie breaking: the least significant U the ties allow
        ties = half - u
    ux = max(min(u, m * n - u), min(u + ties, m * n - u - ties))
    if max(m, n) <= EXACT_UP_TO:
        counts = u_counts(m, n)
        total = math.comb(m + n, m)
        p = (sum(counts[: ux + 1]) + total - sum(counts[: m * n - ux + 1])) / total
    else:
        z = (ux - m * n / 2) / math.sqrt(m * n * (m + n + 1) / 12)
        p = 2 * NormalDist().cdf(z)
    return MannWhitney(u + tied / 2, min(1.0, p))


def p_min(m: int, n: int) -> float:
    return 1 / math.comb(m + n, min(m, n))


def verdicts(baseline, candidate, method) -> dict[str, tuple[str, float]]:
    compare.mann_whitney = method
    try:
        result = compare.compare_frames(baseline, candidate)
    finally:
        compare.mann_whitney = mann_whitney
    return {case.case: (case.verdict, case.judgement.p_value) for case in result.cases}


def judged(label: str, baseline, candidate, tally: dict) -> None:
    pinned = verdicts(baseline, candidate, mann_whitney)
    asv = verdicts(baseline, candidate, asv_mann_whitney)
    for case in pinned:
        tally["cases"] += 1
        tally["p_ratio"].append(asv[case][1] / pinned[case][1] if pinned[case][1] > 0 else math.nan)
        if pinned[case][0] != asv[case][0]:
            tally["changed"] += 1
            print(f"  {label}: {case}: pinned {pinned[case][0]} (p {pinned[case][1]:.3g}) -> "
                  f"asv {asv[case][0]} (p {asv[case][1]:.3g})")  # fmt: skip


def report(name: str, tally: dict) -> None:
    ratios = np.array([r for r in tally["p_ratio"] if math.isfinite(r)])
    spread = f"median {np.median(ratios):.3g}, range {ratios.min():.3g}-{ratios.max():.3g}" if len(ratios) else "-"
    print(f"{name}: {tally['changed']} of {tally['cases']} verdicts change; asv p / pinned p: {spread}")


def main() -> None:
    store = Path(tempfile.mkdtemp(prefix="mw-methods-"))
    print(f"p_min at 15 against 15: {p_min(15, 15):.2g}; at 5 against 5: {p_min(5, 5):.2g} (level {ALPHA})")
    runs = sorted((REPO / "tests" / "data" / "copy_runs").glob("run*.json"))
    ids = [ingest(path, store / "copy").run_id for path in runs]
    frames = {run_id: read_results(store / "copy", run_id) for run_id in ids}
    slowed = {}
    for index, path in enumerate(runs):
        data = load(path)
        for bench in data["benchmarks"]:
            data = inject(data, bench_case(bench), 1.3)
        data["gpubench"]["run_id"] = f"slowed-{index}"
        stored = ingest(write_json(data, store / f"slowed-{index}.json"), store / "slowed").run_id
        slowed[ids[index]] = read_results(store / "slowed", stored)
    for factor, candidates in (("unchanged", frames), ("x1.3", slowed)):
        one, three = {"cases": 0, "changed": 0, "p_ratio": []}, {"cases": 0, "changed": 0, "p_ratio": []}
        for base, cand in itertools.permutations(ids, 2):
            judged(f"{factor} 1 run", frames[base], candidates[cand], one)
        for cand in ids:
            for bases in itertools.combinations([i for i in ids if i != cand], 3):
                pooled = pd.concat([frames[b] for b in bases], ignore_index=True)
                judged(f"{factor} 3 runs", pooled, candidates[cand], three)
        report(f"copy runs, {factor}, one baseline run (15 vs 15)", one)
        report(f"copy runs, {factor}, three baseline runs (45 vs 15)", three)
    for factor in (1.0, 1.3):
        tally = {"cases": 0, "changed": 0, "p_ratio": []}
        for seed in range(4):
            sides = []
            for run in (0, 1):
                data = foreign_run(seed, run=run)
                if run and factor != 1.0:
                    for bench in data["benchmarks"]:
                        data = inject(data, bench["name"], factor)
                folder = store / f"foreign-{seed}-{factor}"
                stored = ingest(write_json(data, folder.with_suffix(f".{run}.json")), folder).run_id
                sides.append(read_results(folder, stored))
            judged(f"foreign x{factor} seed {seed}", sides[0], sides[1], tally)
        report(f"foreign suite (thousands of rounds), x{factor}", tally)


if __name__ == "__main__":
    main()
