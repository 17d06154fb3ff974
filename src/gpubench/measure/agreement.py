"""One verify check: gpubench's method and a plain reference, timed in interleaved rounds, and judged.

A ``Pair`` holds the two methods of one headline case; each call of a method measures the case
once and returns seconds per operation (or ``both`` measures the two sides in one go, when they
must share a process). ``interleave`` runs them in alternating order (ours, reference; reference,
ours; ...) so that load from other processes falls on both. A ``Check``
is the outcome: the medians over rounds, the median of the per-round ratios (gpubench / reference),
the spread of both,
and the verdict (docs/verify.md):

- ``stable``: the reference's own IQR over its median, across rounds, is under half the tolerance;
- ``within``: the ratio is within the tolerance of 1 (or on the side the pair's rule asks for);
- a check fails the command only when it is stable and not within; an unstable reference is
  reported with that reason and fails nothing.

Nothing here imports torch: the methods do.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gpubench.measure.stats import quantile

Method = Callable[[], float]  # measures the case once; seconds per operation
MIN_ROUNDS = 5
# How a ratio (gpubench / reference) is judged against the tolerance.
RULES = {
    "equal": "|ratio - 1| <= tolerance",
    "at-most": "ratio <= 1 + tolerance",  # gpubench's figure must not exceed the reference's
    "below": "ratio <= 1 - tolerance",  # gpubench's figure must be clearly under the reference's
}


@dataclass
class Pair:
    """The two methods of one headline case: ``ours`` and ``reference``, or ``both`` (given
    ``reference_first``, one round of the two, in that order, returning (ours, reference)).
    ``info`` collects what the methods report on the way."""

    suite: str
    case: str
    ours_method: str
    reference_method: str
    ours: Method | None = None
    reference: Method | None = None
    both: Callable[[bool], tuple[float, float]] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    rule: str = "equal"
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown rule {self.rule!r}; expected one of {', '.join(RULES)}")
        if (self.both is None) == (self.ours is None or self.reference is None):
            raise ValueError(f"{self.suite} {self.case}: give ours and reference, or both")

    def round(self, reference_first: bool) -> tuple[float, float]:
        """One round: (gpubench's seconds per operation, the reference's)."""
        if self.both is not None:
            ours, reference = self.both(reference_first)
        elif reference_first:
            reference = self.reference()
            ours = self.ours()
        else:
            ours = self.ours()
            reference = self.reference()
        return float(ours), float(reference)


@dataclass(frozen=True)
class Skip:
    """A headline case that was not checked, and why: it cannot run here, or (``error``) it failed."""

    suite: str
    case: str
    reason: str
    params: dict[str, Any] = field(default_factory=dict)
    error: bool = False

    @property
    def status(self) -> str:
        return "error" if self.error else "skipped"


@dataclass
class Check:
    """The interleaved rounds of one pair and what they say."""

    suite: str
    case: str
    ours: tuple[float, ...]
    reference: tuple[float, ...]
    tolerance: float
    ours_method: str = ""
    reference_method: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    rule: str = "equal"
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.ours) != len(self.reference) or not self.ours:
            raise ValueError("a check needs the same number (at least one) of rounds on both sides")

    @property
    def rounds(self) -> int:
        return len(self.ours)

    @property
    def gpubench_s(self) -> float:
        return statistics.median(self.ours)

    @property
    def reference_s(self) -> float:
        return statistics.median(self.reference)

    @property
    def round_ratios(self) -> list[float]:
        return [a / b if b > 0 else math.inf for a, b in zip(self.ours, self.reference, strict=True)]

    @property
    def ratio(self) -> float:
        """The median of the per-round ratios: each round's two figures were taken seconds apart,
        under the same load, so pairing them cancels what drifts between rounds."""
        return statistics.median(self.round_ratios)

    @property
    def ratio_of_medians(self) -> float:
        return self.gpubench_s / self.reference_s if self.reference_s > 0 else math.inf

    @property
    def reference_spread(self) -> float:
        """IQR / median of the reference's round figures: how far the reference itself can be trusted."""
        return relative_iqr(self.reference)

    @property
    def ours_spread(self) -> float:
        return relative_iqr(self.ours)

    @property
    def ratio_spread(self) -> float:
        """IQR / median of the per-round ratios (each round's two figures were taken seconds apart)."""
        return relative_iqr(self.round_ratios)

    @property
    def stable(self) -> bool:
        return self.reference_spread < self.tolerance / 2

    @property
    def within(self) -> bool:
        ratio, tolerance = self.ratio, self.tolerance
        if self.rule == "at-most":
            return ratio <= 1 + tolerance
        if self.rule == "below":
            return ratio <= 1 - tolerance
        return abs(ratio - 1) <= tolerance

    @property
    def fails(self) -> bool:
        return self.stable and not self.within

    @property
    def status(self) -> str:
        if not self.stable:
            return "unstable"
        return "ok" if self.within else "OUTSIDE"

    @property
    def reason(self) -> str:
        rule = RULES[self.rule].replace("tolerance", f"{self.tolerance:.0%}")
        if not self.stable:
            return (
                f"reference unstable: its IQR/median over {self.rounds} rounds is {self.reference_spread:.1%}, "
                f"not under half the tolerance ({self.tolerance / 2:.1%}); judged nothing"
            )
        verdict = "holds" if self.within else "does not hold"
        return f"ratio {self.ratio:.3f}: {rule} {verdict}"


def interleave(pair: Pair, rounds: int, tolerance: float, progress: Callable[[str], None] | None = None) -> Check:
    """Run both methods ``rounds`` times, alternating which goes first, and judge them."""
    if rounds < MIN_ROUNDS:
        raise ValueError(f"verify needs at least {MIN_ROUNDS} rounds, got {rounds}")
    ours: list[float] = []
    reference: list[float] = []
    for index in range(rounds):
        mine, theirs = pair.round(reference_first=index % 2 == 1)
        ours.append(mine)
        reference.append(theirs)
        if progress:
            progress(
                f"{pair.suite} {pair.case}: round {index + 1}/{rounds}: gpubench {mine * 1e6:.1f} us, "
                f"reference {theirs * 1e6:.1f} us, ratio {mine / theirs if theirs > 0 else math.inf:.3f}"
            )
    return Check(
        pair.suite,
        pair.case,
        tuple(ours),
        tuple(reference),
        tolerance,
        pair.ours_method,
        pair.reference_method,
        dict(pair.params),
        pair.rule,
        dict(pair.info),
    )


def biased(pair: Pair, factor: float) -> Pair:
    """The same pair with a reference that reports ``factor`` x its time: a deliberately wrong method,
    for showing that verify catches one (``gpubench verify --reference-bias``)."""
    honest = pair.round

    def round_with_bias(reference_first: bool) -> tuple[float, float]:
        ours, reference = honest(reference_first)
        return ours, reference * factor

    pair.round = round_with_bias  # type: ignore[method-assign]
    pair.reference_method += f" (deliberately biased x{factor:g})"
    pair.info["reference_bias"] = factor
    return pair


def relative_iqr(values: list[float] | tuple[float, ...]) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.inf
    middle = statistics.median(ordered)
    spread = quantile(ordered, 0.75) - quantile(ordered, 0.25)
    return spread / middle if middle > 0 else math.inf
