"""A Measurement: raw per-operation samples and the statistics drawn from them."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from gpubench.measure.quartiles import quantiles


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile by linear interpolation (numpy's default; ``gpubench.measure.quartiles``)."""
    return quantiles(values, (q,))[0]


@dataclass(frozen=True)
class Measurement:
    """Seconds per operation, one sample per timed loop.

    ``ops_per_sample`` operations were timed together for each sample and the
    loop time divided by it, so every sample is already a per-operation figure.
    """

    samples: tuple[float, ...]
    ops_per_sample: int = 1
    clock: str = "host"
    sorted_samples: tuple[float, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.samples:
            raise ValueError("a Measurement needs at least one sample")
        if any(not math.isfinite(s) or s < 0 for s in self.samples):
            raise ValueError(f"samples must be finite and non-negative: {self.samples!r}")
        object.__setattr__(self, "samples", tuple(float(s) for s in self.samples))
        object.__setattr__(self, "sorted_samples", tuple(sorted(self.samples)))

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float:
        return quantile(self.samples, 0.5)

    @property
    def q1(self) -> float:
        return quantile(self.samples, 0.25)

    @property
    def q3(self) -> float:
        return quantile(self.samples, 0.75)

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1

    @property
    def min(self) -> float:
        return self.sorted_samples[0]

    @property
    def max(self) -> float:
        return self.sorted_samples[-1]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples)

    @property
    def stddev(self) -> float:
        return statistics.stdev(self.samples) if self.n > 1 else 0.0
