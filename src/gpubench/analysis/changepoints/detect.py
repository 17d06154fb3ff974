"""Where one case's level shifted: e-divisive, with ruptures proposing and a permutation test deciding.

The input is a case's run medians in time order (one machine), on a log scale. Steps:

1. Candidates: ruptures' kernel change point detection (linear kernel, penalised, ``MIN_RUNS``
   runs a segment) on the series after a running median of ``SMOOTHING`` runs (a run or two out
   of line is not a level) in units of its noise (the robust scale of consecutive differences).
   The penalty is low on purpose: candidates are cheap, the test below decides.
2. Pruning, as e-divisive stops dividing: each candidate is judged on the runs between its
   neighbours (at most ``WINDOW`` either side): the best split there, its energy statistic and
   permutation p-value (``energy.py``), and the size of the shift, the median after over the
   median before. The weakest candidate goes, smallest shift first while one is below
   ``min_effect``, then highest p-value while one is above ``alpha``; its neighbours are judged
   again on the wider span. A slow drift of small steps thus merges into the shifts it adds up to.
3. Each survivor sits at its best split (the run where the level changed) with its p-value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gpubench.analysis.changepoints.energy import best_split

MIN_RUNS = 3  # runs on each side of a shift, at least
WINDOW = 30  # runs either side of a candidate that its test looks at, at most
SMOOTHING = 5  # running median over this many runs before proposing candidates
PENALTY = 2.0  # x log(runs), in units of the noise's variance
ALPHA = 0.01
MIN_EFFECT = 0.05
NOISE_FLOOR = 1e-3  # log scale: timers do not resolve steadier than this
MISSING_RUPTURES = "change points need the ruptures package: pip install ruptures"


class ChangePointsUnavailable(RuntimeError):
    """Change points cannot be computed here: ruptures is not installed (the GPU image lacks it)."""


@dataclass(frozen=True)
class Shift:
    index: int  # the first run after the shift
    ratio: float  # median after / median before (times: > 1 is slower)
    p_value: float
    runs_before: int  # runs the medians were taken over (up to the neighbouring shifts)
    runs_after: int


def find_shifts(medians: np.ndarray, min_effect: float = MIN_EFFECT, alpha: float = ALPHA) -> list[Shift]:
    """The level shifts of one case's run medians (positive, in time order)."""
    x = np.log(np.asarray(medians, dtype=float))
    if len(x) < 2 * MIN_RUNS or not np.isfinite(x).all():
        return []
    cuts = candidates(x)
    tests: dict[tuple[int, int, int], tuple[int, float]] = {}

    def judged(i: int) -> tuple[float, float]:
        """(|log size|, p-value) of candidate i between its neighbours."""
        start, tau, end = _bounds(cuts, i, len(x))
        size = abs(float(np.median(x[tau:end]) - np.median(x[start:tau])))
        if size < math.log1p(min_effect):
            return size, 1.0  # dropped on size first; no test needed
        if (start, tau, end) not in tests:
            tests[start, tau, end] = _test(x, start, tau, end, alpha)
        return size, tests[start, tau, end][1]

    while cuts:
        scores = [judged(i) for i in range(len(cuts))]
        small = [i for i, (size, _) in enumerate(scores) if size < math.log1p(min_effect)]
        weak = [i for i, (_, p) in enumerate(scores) if p > alpha]
        if small:
            del cuts[min(small, key=lambda i: scores[i][0])]
        elif weak:
            del cuts[max(weak, key=lambda i: scores[i][1])]
        else:
            break
    # Each survivor moves to its best split between its neighbours (ruptures worked on the
    # smoothed series), then is measured there.
    moved = [
        start + tests[start, tau, end][0] for start, tau, end in (_bounds(cuts, i, len(x)) for i in range(len(cuts)))
    ]
    p_values = [tests[_bounds(cuts, i, len(x))][1] for i in range(len(cuts))]
    kept = [(tau, p) for i, (tau, p) in enumerate(zip(moved, p_values, strict=True)) if i == 0 or tau > moved[i - 1]]
    shifts = []
    for i, (tau, p_value) in enumerate(kept):
        start = kept[i - 1][0] if i else 0
        end = kept[i + 1][0] if i + 1 < len(kept) else len(x)
        ratio = math.exp(float(np.median(x[tau:end]) - np.median(x[start:tau])))
        if abs(math.log(ratio)) >= math.log1p(min_effect):
            shifts.append(Shift(tau, ratio, p_value, tau - start, end - tau))
    return shifts


def candidates(x: np.ndarray) -> list[int]:
    """Indices where ruptures proposes a new level (first run after it)."""
    try:
        import ruptures  # lazy: optional at run time, and it takes a moment to import
    except ImportError:
        raise ChangePointsUnavailable(MISSING_RUPTURES) from None

    smooth = running_median(x, SMOOTHING)
    scale = max(noise(x), NOISE_FLOOR)
    algorithm = ruptures.KernelCPD(kernel="linear", min_size=MIN_RUNS).fit((smooth / scale)[:, None])
    return [int(cut) for cut in algorithm.predict(pen=PENALTY * math.log(len(x)))[:-1]]


def noise(x: np.ndarray) -> float:
    """Robust standard deviation of one run's level: from consecutive differences (MAD)."""
    return float(1.4826 * np.median(np.abs(np.diff(x))) / math.sqrt(2)) if len(x) > 1 else 0.0


def running_median(x: np.ndarray, width: int) -> np.ndarray:
    """Centred running median; the ends repeat the first and last value."""
    half = width // 2
    padded = np.concatenate([np.full(half, x[0]), x, np.full(half, x[-1])])
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, width), axis=1)


def _bounds(cuts: list[int], i: int, n: int) -> tuple[int, int, int]:
    return (cuts[i - 1] if i else 0), cuts[i], (cuts[i + 1] if i + 1 < len(cuts) else n)


def _test(x: np.ndarray, start: int, tau: int, end: int, alpha: float) -> tuple[int, float]:
    """(best split as an offset from ``start``, p-value) on the runs around ``tau``."""
    low, high = max(start, tau - WINDOW), min(end, tau + WINDOW)
    split = best_split(x[low:high], MIN_RUNS, alpha)
    return low - start + split.tau, split.p_value
