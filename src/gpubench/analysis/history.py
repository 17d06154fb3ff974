"""Per-case trends over every stored run, one machine (GPU model and host) at a time: the data.

Each case is shown by its headline figure (GB/s, busbw GB/s, TFLOP/s, else the median time; see
``suites.headline_metric``) with the run's interquartile range as an error bar: the spread
between runs is what the nightly's verdicts have to clear.
"""

from __future__ import annotations

import math

import pandas as pd

from gpubench import suites
from gpubench.store.figures import FIGURE_COLUMNS
from gpubench.store.machine import machine_key
from gpubench.store.read import case_pattern_regex, matching

# What history and change points read of each run: the figures, the machine key, and what the
# fingerprint can attribute a shift to (changepoints.attribute.ATTRIBUTABLE) with the commit.
# The figures cache (``store.figures``) holds exactly these; ``read_results(columns=...)`` takes them too.
HISTORY_COLUMNS = FIGURE_COLUMNS


def case_history(frame: pd.DataFrame, pattern: str | None = None) -> pd.DataFrame:
    """One row per measured case and run: machine, case, headline figure with its IQR band."""
    rows = frame[frame["status"] == "ok"] if "status" in frame else frame
    if pattern:
        rows = rows[matching(rows["case"].astype(str).tolist(), case_pattern_regex(pattern))]
    if rows.empty:
        return pd.DataFrame(columns=["machine", "suite", "case", "run_id", "started_at", "metric", "value"])
    out = pd.DataFrame(
        {
            "machine": machine_key(rows),
            "suite": rows["suite"].astype(str),
            "case": rows["case"].astype(str),
            "run_id": rows["run_id"].astype(str),
            "started_at": rows["started_at"],
            "median_s": rows["median_s"].astype(float),
            "q1_s": rows["q1_s"].astype(float) if "q1_s" in rows else math.nan,
            "q3_s": rows["q3_s"].astype(float) if "q3_s" in rows else math.nan,
        }
    )
    # The headline figure: each suite's (suites.headline_candidates), else the median time.
    metric = pd.Series("median_s", index=rows.index, dtype=object)
    value = out["median_s"].astype(float).copy()
    for suite_name, index in rows.groupby("suite", sort=False).groups.items():
        for name in reversed(suites.headline_candidates(str(suite_name))):
            if name in rows:
                has = rows.loc[index, name].notna().to_numpy(dtype=bool)
                chosen = index[has]
                metric[chosen] = name
                value[chosen] = rows.loc[chosen, name].astype(float)
    timed = (metric == "median_s").to_numpy()
    # A rate derived from the time: its band is the time's band, inverted.
    low = (value * out["median_s"] / out["q3_s"]).where(~timed, out["q1_s"])
    high = (value * out["median_s"] / out["q1_s"]).where(~timed, out["q3_s"])
    out["metric"], out["value"], out["low"], out["high"] = metric, value, low, high
    # Cases in the order the suites list them (sizes ascending), not alphabetically.
    out["order"] = out.groupby(["suite", "case"], sort=False).ngroup()
    out = out.sort_values(["machine", "order", "started_at"], kind="stable", ignore_index=True)
    return out.drop(columns="order")


def matches(case: str, pattern: str) -> bool:
    """Does ``pattern`` occur in ``case``: a substring, where ``*`` and ``?`` are wildcards (brackets
    literal); RE2, linear in the name (``store.read.case_pattern_regex``)."""
    return matching([case], case_pattern_regex(pattern))[0]
