"""Between-run noise of a case from the store's history, for comparisons that cannot measure it.

With one baseline run, ``compare.judge`` cannot see how far two unchanged runs of a case drift
apart. The store often can: every earlier run of the same case on the same machine (GPU model
and host). The changes between consecutive runs' medians, d = |log(m_i / m_{i-1})|, are exactly
the difference two unchanged runs make. The estimate is their 90th percentile, taken from their
median as if they were normal (median x 1.645 / 0.674): a level shift in the history is one
large difference among many and moves a median, unlike a percentile of a short history, hardly
at all. It needs ``MIN_HISTORY_RUNS`` runs; below that the comparison falls back to
``compare.DEFAULT_PRIOR`` and says so.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd

from gpubench.analysis.compare import NoisePrior, case_keys
from gpubench.store.machine import machine_key

MIN_HISTORY_RUNS = 5
# The 90th percentile of |N(0, s)| over its median.
P90_OVER_MEDIAN = NormalDist().inv_cdf(0.95) / NormalDist().inv_cdf(0.75)


def noise_priors(store: pd.DataFrame, candidate: pd.DataFrame) -> dict[tuple[str, str], NoisePrior]:
    """Per (suite, case) of ``candidate``: its between-run noise from the other runs of the same
    machine in ``store``; cases with fewer than ``MIN_HISTORY_RUNS`` such runs are left out."""
    if store.empty or candidate.empty:
        return {}
    rows = store[
        (store["status"] == "ok")
        & (store["run_id"].astype(str) != str(candidate["run_id"].iloc[0]))
        & (machine_key(store) == machine_key(candidate).iloc[0])
        & store["median_s"].notna()
    ]
    if rows.empty:
        return {}
    rows = rows.sort_values(["started_at", "run_id"], kind="stable")
    wanted = set(case_keys(candidate))
    priors = {}
    for key, group in rows.groupby(case_keys(rows), sort=False):
        between = history_between(group["median_s"].to_numpy(dtype=float)) if key in wanted else None
        if between is not None:
            priors[key] = NoisePrior(between, "store history", len(group))
    return priors


def history_between(medians: np.ndarray) -> float | None:
    """~ the 90th percentile of |log(m_i / m_{i-1})| over a case's run medians in time order."""
    medians = medians[medians > 0]
    if len(medians) < MIN_HISTORY_RUNS:
        return None
    return float(np.median(np.abs(np.diff(np.log(medians)))) * P90_OVER_MEDIAN)
