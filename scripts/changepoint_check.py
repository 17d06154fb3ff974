#!/usr/bin/env python
"""Are change points found where they are, attributed to what changed, and absent otherwise?

Builds a history of ``--length`` nights from the real runs in ``--store`` that measured the
chosen case (in their order; when there are fewer runs than nights they are reused in turn:
each night is one real run's measurements), changes a fingerprint column (``--key``, e.g. the
driver) from night ``--at`` on, and makes one case (``--case``, default: the steadiest)
``--step`` times slower from the same night on. It then runs
``gpubench.analysis.changepoints.change_points`` on that history and on the same history without the
step, and reports:

* stepped history: was the step found at night ``--at`` (or within one night), with which
  ratio and confidence, attributed to ``--key``; change points in other cases (real level
  shifts of the machine, or false ones);
* flat history: change points in the chosen case (goal: none) and in all cases.

    PYTHONPATH=src python scripts/changepoint_check.py --store /tmp/false-alarm
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from gpubench.analysis.changepoints import change_points
from gpubench.analysis.changepoints.detect import noise
from gpubench.store import read_results
from gpubench.views.changepoints import describe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="a store of real runs (e.g. false_alarm.py's)")
    parser.add_argument("--length", type=int, default=20, help="nights in the history (default: 20)")
    parser.add_argument("--at", type=int, help="night of the step and of the change (default: length / 2)")
    parser.add_argument("--step", type=float, default=1.15, help="slowdown factor (default: 1.15)")
    parser.add_argument("--key", default="driver_version", help="fingerprint column that changes (driver_version)")
    parser.add_argument("--case", help="case to step (default: the one whose run medians vary least)")
    args = parser.parse_args(argv)
    at = args.at if args.at is not None else args.length // 2

    store = read_results(args.store)
    store = store[store["status"] == "ok"]
    runs = list(dict.fromkeys(store["run_id"].astype(str)))
    if not runs:
        print(f"no measured run in {args.store}", file=sys.stderr)
        return 2
    case = args.case or steadiest_case(store)
    runs = [run for run in runs if (store.loc[store["run_id"] == run, "case"] == case).any()]  # nights measure it
    flat = build_history(store, runs, args.length, at, args.key, case, 1.0)
    stepped = build_history(store, runs, args.length, at, args.key, case, args.step)
    medians = store.loc[store["case"] == case].set_index("run_id").loc[runs, "median_s"].to_numpy(dtype=float)
    sigma = math.expm1(noise(np.log(medians)))
    print(f"{args.length} nights from {len(runs)} real runs in {args.store}; {case} x{args.step} and "
          f"{args.key} changed from night {at} on; the case's run medians scatter by {sigma:.1%} "
          "(robust sigma of consecutive changes)")  # fmt: skip

    figures = {"runs": len(runs), "length": args.length, "at": at, "step": args.step, "key": args.key, "case": case}
    figures["case_noise"] = sigma
    for name, history in (("stepped", stepped), ("flat", flat)):
        points = change_points(history)
        mine = [point for point in points if point.case == case]
        figures[name] = {
            "case_change_points": [point.as_dict() for point in mine],
            "other_change_points": len(points) - len(mine),
            "cases": int(history["case"].nunique()),
        }
        print(f"\n{name} history: {len(mine)} change point(s) in {case}, {len(points) - len(mine)} in the other "
              f"{history['case'].nunique() - 1} cases")  # fmt: skip
        for point in points:
            print(f"  {describe(point)}")
    stepped_points = figures["stepped"]["case_change_points"]
    found = [p for p in stepped_points if abs(int(p["run_id"].removeprefix("night-")) - at) <= 1]
    figures["found"] = bool(found)
    figures["found_at_the_night"] = any(p["run_id"] == f"night-{at:02d}" for p in found)
    figures["attributed"] = any(c["key"] == args.key for p in found for c in p["environment_changes"])
    figures["flat_case_change_points"] = len(figures["flat"]["case_change_points"])
    print(
        f"\nstep found: {figures['found']} (at night {at} exactly: {figures['found_at_the_night']}); "
        f"attributed to {args.key}: {figures['attributed']}; change points in the flat history's case: "
        f"{figures['flat_case_change_points']}"
    )
    out = args.store / "changepoint_check.json"
    out.write_text(json.dumps(figures, indent=2, allow_nan=False))
    print(f"figures: {out}")
    return 0 if figures["found"] and figures["attributed"] and not figures["flat_case_change_points"] else 1


def steadiest_case(store: pd.DataFrame) -> str:
    """Of the cases measured in the most runs, the one whose run medians vary least (max / min)."""
    medians = store.groupby("case")["median_s"]
    table = pd.DataFrame({"runs": store.groupby("case")["run_id"].nunique(), "spread": medians.max() / medians.min()})
    table = table[table["runs"] == table["runs"].max()]
    return str(table["spread"].idxmin())


def build_history(
    store: pd.DataFrame, runs: list[str], length: int, at: int, key: str, case: str, step: float
) -> pd.DataFrame:
    """``length`` nights, night i being real run ``runs[i % len(runs)]``, renamed and re-dated."""
    start = pd.Timestamp("2026-01-01", tz="UTC")
    nights = []
    for night in range(length):
        rows = store[store["run_id"] == runs[night % len(runs)]].copy()
        rows["run_id"] = f"night-{night:02d}"
        rows["started_at"] = start + pd.Timedelta(days=night)
        rows[key] = "after" if night >= at else "before"
        if night >= at and step != 1.0:
            stepped = rows["case"] == case
            rows.loc[stepped, "median_s"] = rows.loc[stepped, "median_s"] * step
            rows.loc[stepped, "samples_s"] = rows.loc[stepped, "samples_s"].map(lambda s: np.asarray(s) * step)
        nights.append(rows)
    return pd.concat(nights, ignore_index=True)


if __name__ == "__main__":
    sys.exit(main())
