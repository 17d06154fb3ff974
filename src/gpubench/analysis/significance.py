"""Two statistics on raw samples: is one run different, and by what factor.

* ``mann_whitney``: the two-sided Mann-Whitney U test with the method pinned to scipy's
  ``"asymptotic"`` (normal approximation, tie and continuity corrections), so that a p-value
  never switches method with the sample sizes (scipy's ``"auto"`` goes exact below 8 samples a
  side without ties). It is scipy's formula (``scipy.stats.mannwhitneyu``, its reference [2])
  in a few lines of numpy, held to scipy to 1e-12 by tests/test_compare_stats.py, because
  importing ``scipy.stats`` costs about a second per command on a small VM: half of what
  ``gpubench compare`` may take at fleet scale (docs/SCHEMA.md). This is not asv's test: asv
  goes exact up to 20 samples a side, breaks ties conservatively and skips the test when no
  ordering could reach the level (``p_min``). On the recorded runs that changes no verdict
  (scripts/mann_whitney_methods.py, docs/compare.md); the level, 0.002, is asv's.
* ``ratio_interval``: hand-written, as scipy has no Hodges-Lehmann interval. A confidence
  interval for ``candidate / baseline``, the Hodges-Lehmann interval of the shift between the
  log samples, which is the interval the same U test inverts: at ``confidence = 1 - alpha`` it
  excludes 1 when (up to ties) the test is significant at ``alpha``. Deterministic: no
  bootstrap, no seed.
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
    p: float  # two-sided p-value


@dataclass(frozen=True)
class RatioInterval:
    estimate: float  # Hodges-Lehmann: exp(median of all pairwise log differences)
    low: float
    high: float
    confidence: float


def mann_whitney(first: Sequence[float], second: Sequence[float]) -> MannWhitney:
    """Two-sided Mann-Whitney U test of ``first`` against ``second``: scipy's asymptotic method."""
    x = _as_samples(first, "first")
    y = _as_samples(second, "second")
    n1, n2 = len(x), len(y)
    n = n1 + n2
    _, inverse, ties = np.unique(np.concatenate([x, y]), return_inverse=True, return_counts=True)
    # Average ranks (1-based): a run of t equal values shares the mean of the ranks it spans.
    ends = np.cumsum(ties)
    ranks = (ends - (ties - 1) / 2)[inverse]
    u1 = float(ranks[:n1].sum()) - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    tie_term = float((ties.astype(float) ** 3 - ties).sum())
    variance = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)))  # n >= 2: neither side is empty
    if variance <= 0:  # every value equal: nothing to tell apart (scipy answers nan)
        return MannWhitney(u1, 1.0)
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(variance)  # continuity corrected
    return MannWhitney(u1, min(1.0, math.erfc(z / math.sqrt(2))))  # 2 * (1 - Phi(z))


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
