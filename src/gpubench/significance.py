"""Two statistics on raw samples, in plain numpy: is one run different, and by what factor.

* ``mann_whitney``: the Mann-Whitney U test (two-sided), as asv uses it to call a change. The
  p-value comes from the normal approximation with the tie correction and a continuity
  correction (scipy's ``method="asymptotic"``); with the 15 samples a case takes per run the
  approximation is close to the exact distribution, and it is what larger foreign suites
  (thousands of rounds) need anyway.
* ``ratio_interval``: a confidence interval for ``candidate / baseline``, the Hodges-Lehmann
  interval of the shift between the log samples, which is the interval the same U test
  inverts: at ``confidence = 1 - alpha`` it excludes 1 when (up to ties) the test is significant
  at ``alpha``. Deterministic: no bootstrap, no seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

# Above this many samples a side, the interval works on evenly spaced order statistics (the
# pairwise differences grow as n1 * n2). Fewer points give a wider interval: conservative.
MAX_INTERVAL_POINTS = 1000


@dataclass(frozen=True)
class MannWhitney:
    u: float  # U of the first sample: pairs where it is larger, ties counting one half
    z: float  # standardised U, continuity corrected, >= 0
    p: float  # two-sided p-value


@dataclass(frozen=True)
class RatioInterval:
    estimate: float  # Hodges-Lehmann: exp(median of all pairwise log differences)
    low: float
    high: float
    confidence: float


def mann_whitney(first: Sequence[float], second: Sequence[float]) -> MannWhitney:
    """Two-sided Mann-Whitney U test of ``first`` against ``second``."""
    x = _as_samples(first, "first")
    y = _as_samples(second, "second")
    n1, n2 = len(x), len(y)
    combined = np.concatenate([x, y])
    ranks = average_ranks(combined)
    u = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    n = n1 + n2
    _, counts = np.unique(combined, return_counts=True)
    ties = float((counts.astype(float) ** 3 - counts).sum())
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))) if n > 1 else 0.0
    if variance <= 0:  # every value equal: nothing to tell apart
        return MannWhitney(u, 0.0, 1.0)
    z = max(0.0, abs(u - n1 * n2 / 2) - 0.5) / math.sqrt(variance)
    return MannWhitney(u, z, min(1.0, math.erfc(z / math.sqrt(2))))


def ratio_interval(baseline: Sequence[float], candidate: Sequence[float], confidence: float) -> RatioInterval:
    """Interval for the factor ``candidate / baseline`` (times or any positive figure)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    x = np.log(_positive(_thin(_as_samples(baseline, "baseline"))))
    y = np.log(_positive(_thin(_as_samples(candidate, "candidate"))))
    n1, n2 = len(x), len(y)
    differences = np.sort((y[:, None] - x[None, :]).ravel())
    pairs = n1 * n2
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    # How many differences to cut off each end: the lower critical value of U (1-based rank).
    cut = math.floor(pairs / 2 - z * math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12))
    if cut < 1:  # too few samples for this confidence: the interval is everything observed
        low, high = differences[0], differences[-1]
    else:
        low, high = differences[cut - 1], differences[pairs - cut]
    estimate = float(np.median(differences))
    return RatioInterval(math.exp(estimate), math.exp(low), math.exp(high), confidence)


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing the mean of their ranks (scipy's rankdata 'average')."""
    order = np.argsort(values, kind="mergesort")
    inverse = np.empty(len(values), dtype=np.intp)
    inverse[order] = np.arange(len(values))
    ordered = values[order]
    new_value = np.r_[True, ordered[1:] != ordered[:-1]]
    dense = np.cumsum(new_value)[inverse]
    starts = np.r_[np.nonzero(new_value)[0], len(values)]
    return 0.5 * (starts[dense] + starts[dense - 1] + 1)


def _as_samples(values: Sequence[float], what: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0:
        raise ValueError(f"{what}: no samples")
    if not np.isfinite(array).all():
        raise ValueError(f"{what}: samples must be finite")
    return array


def _thin(values: np.ndarray) -> np.ndarray:
    if len(values) <= MAX_INTERVAL_POINTS:
        return values
    return np.quantile(values, np.linspace(0, 1, MAX_INTERVAL_POINTS))


def _positive(values: np.ndarray) -> np.ndarray:
    # A timer can round a very short operation to 0; a ratio needs logs, so floor at the
    # smallest positive sample (or leave the values alone when they are all positive).
    if (values > 0).all():
        return values
    positive = values[values > 0]
    if positive.size == 0:
        raise ValueError("a ratio needs positive samples; every sample is zero or negative")
    return np.maximum(values, positive.min())
