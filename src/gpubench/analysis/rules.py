"""Every number of the rules that judge runs, and the one parser of the percentages users give them.

compare's threshold and significance level, the noise band's factor, the nightly's baseline, the
fleet's outlier rule, verify's tolerance. They live in one module that imports nothing heavy, so
that the command line can show them in its help without pandas. What each number means and why it
is what it is: docs/compare.md and docs/verify.md.
"""

from __future__ import annotations

import math

# compare: the smallest change worth a verdict.
DEFAULT_THRESHOLD = 0.05
MAX_THRESHOLD = 10.0
# compare: the Mann-Whitney U test's significance level (docs/compare.md).
ALPHA = 0.002
# compare: a candidate must move more than NOISE_FACTOR x the between-run noise to be "slower".
NOISE_FACTOR = 2.0
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
# verify: the largest |gpubench / reference - 1| a stable check may show.
DEFAULT_TOLERANCE = 0.05
MAX_TOLERANCE = 1.0


def parse_percentage(text: str | float, what: str, maximum: float) -> float:
    """``"5%"`` or ``0.05`` (or ``"0.05"``) -> 0.05; ``ValueError`` (one line, naming ``what``) otherwise.

    A bare ``5`` could mean 5% or 500%: a bare number of 1 or more is refused, with the ``%`` form
    suggested. Accepted: more than 0 and less than ``maximum``.
    """
    raw = str(text).strip()
    percent = raw.endswith("%")
    try:
        value = float(raw.removesuffix("%").strip())
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a percentage like 5% or a fraction like 0.05") from None
    if not percent and value >= 1:
        raise ValueError(f"{what} {text!r} is ambiguous: write {raw}% for {raw} percent, or a fraction below 1")
    fraction = value / 100 if percent else value
    if not math.isfinite(fraction) or not 0 < fraction < maximum:
        raise ValueError(f"{what} {text!r} must be more than 0% and less than {maximum:.0%}")
    return fraction


def parse_threshold(text: str | float) -> float:
    """compare's and the fleet's threshold: a percentage, more than 0% and under 1000%."""
    return parse_percentage(text, "threshold", MAX_THRESHOLD)


def parse_tolerance(text: str | float) -> float:
    """verify's tolerance: a percentage, more than 0% and under 100%."""
    return parse_percentage(text, "tolerance", MAX_TOLERANCE)
