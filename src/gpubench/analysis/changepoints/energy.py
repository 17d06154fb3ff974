"""The confidence of a shift: e-divisive's energy statistic and its permutation test.

For a window of runs x_0..x_(m-1) split at tau (left: runs before tau, right: tau on), the
statistic of Matteson and James (2014), with exponent 1, is

    Q(tau) = tau (m - tau) / m x [2 mean|L - R| - mean|L - L'| - mean|R - R'|],

the energy distance between the two sides scaled by their sizes: large when the runs after tau
sit at another level than the runs before. The split is the tau that maximises Q; its p-value is
the share of random orderings of the same runs whose best split scores at least as high
(``max`` over tau in each ordering, so that picking the best split is paid for). Hand-written:
ruptures has no e-divisive and no significance test, and scipy's permutation_test would
recompute every split of every ordering in Python. Here all orderings are scored at once from
prefix sums of the pairwise distances: O(permutations x m^2) in numpy, m being a window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PERMUTATIONS = 199  # first batch; a p-value near the level gets ``MORE_PERMUTATIONS`` more
MORE_PERMUTATIONS = 800
SEED = 20140101  # a fixed seed: the same history always gives the same answer (and caches)


@dataclass(frozen=True)
class Split:
    tau: int  # index of the first run after the shift, within the window
    statistic: float
    p_value: float
    permutations: int


def best_split(window: np.ndarray, min_size: int, alpha: float) -> Split:
    """The best split of ``window`` (each side at least ``min_size`` runs) and its p-value."""
    if min_size < 2 or len(window) < 2 * min_size:
        raise ValueError(f"a window of {len(window)} runs has no split with {min_size} runs a side")
    observed = energy(window[None, :], min_size)[0]
    best = int(np.argmax(observed))
    statistic = float(observed[best])
    rng = np.random.default_rng(SEED)
    exceed, done = 0, 0
    for batch in (PERMUTATIONS, MORE_PERMUTATIONS):
        shuffled = rng.permuted(np.broadcast_to(window, (batch, len(window))), axis=1)
        exceed += int((energy(shuffled, min_size).max(axis=1) >= statistic * (1 - 1e-9)).sum())
        done += batch
        p_value = (exceed + 1) / (done + 1)
        if not alpha / 2 < p_value <= 3 * alpha:  # clearly one side of the level: settled
            break
    return Split(best + min_size, statistic, p_value, done)


def energy(windows: np.ndarray, min_size: int) -> np.ndarray:
    """Q(tau) for tau = min_size .. m - min_size, for each row of ``windows`` (B x m)."""
    m = windows.shape[1]
    distances = np.abs(windows[:, :, None] - windows[:, None, :])
    prefix = distances.cumsum(axis=1).cumsum(axis=2)  # prefix[b, i, j] = sum of distances[b, :i+1, :j+1]
    tau = np.arange(min_size, m - min_size + 1)
    left_block = prefix[:, tau - 1, tau - 1]  # ordered pairs within the left side
    left_rows = prefix[:, tau - 1, m - 1]  # left rows against every column
    cross = left_rows - left_block
    right_block = prefix[:, m - 1, m - 1][:, None] - 2 * left_rows + left_block
    left, right = tau.astype(float), (m - tau).astype(float)
    divergence = 2 * cross / (left * right) - left_block / (left * (left - 1)) - right_block / (right * (right - 1))
    return left * right / m * divergence
