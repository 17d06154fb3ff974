"""The default numbers of the rules that judge runs: compare's threshold, the nightly's baseline,
the fleet's outlier rule.

They sit apart from the rules (``compare``, ``baseline``, ``nightly``, ``fleet``, which need
pandas) so that the command line can show them in its help without importing pandas. What each
number means and why it is what it is: docs/compare.md.
"""

from __future__ import annotations

# compare: the smallest change worth a verdict.
DEFAULT_THRESHOLD = 0.05
# compare: the between-run noise assumed for a case that one baseline run cannot measure and the
# store has no history of: a run median 5% off its level (x NOISE_FACTOR: detectable ~16% at 5%).
DEFAULT_BETWEEN_RUN_NOISE = 0.05
# nightly: the last N good runs of the machine form the baseline; a case needs at least
# MIN_BASELINE_RUNS of them before it can fail a night.
DEFAULT_BASELINE_RUNS = 7
MIN_BASELINE_RUNS = 3
# fleet: a machine is set against at least MIN_PEERS peers; an outlier is MAD_FACTOR robust
# deviations and at least MIN_GAP away from the peers' median.
MIN_PEERS = 3
MAD_FACTOR = 3.5
MIN_GAP = 0.05
