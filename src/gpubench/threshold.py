"""The threshold a change must clear to get a verdict: ``5%`` or ``0.05``, never ambiguous.

A bare ``5`` could mean 5% or 500%: a bare number of 1 or more is refused, with the ``%`` form
suggested. Accepted: more than 0 and less than 1000%.
"""

from __future__ import annotations

import math

MAX_THRESHOLD = 10.0


def parse_threshold(text: str | float) -> float:
    """``"5%"`` or ``0.05`` (or ``"0.05"``) -> 0.05; ``ValueError`` (one line) for anything else."""
    raw = str(text).strip()
    percent = raw.endswith("%")
    try:
        value = float(raw.removesuffix("%").strip())
    except ValueError:
        raise ValueError(f"threshold {text!r} is not a percentage like 5% or a fraction like 0.05") from None
    if not percent and value >= 1:
        raise ValueError(f"threshold {text!r} is ambiguous: write {raw}% for {raw} percent, or a fraction below 1")
    fraction = value / 100 if percent else value
    if not math.isfinite(fraction) or not 0 < fraction < MAX_THRESHOLD:
        raise ValueError(f"threshold {text!r} must be more than 0% and less than {MAX_THRESHOLD:.0%}")
    return fraction
