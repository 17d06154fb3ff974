"""A Measurement: raw per-operation samples and the statistics drawn from them."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field


def quantile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default), on already sorted values."""
    if not sorted_values:
        raise ValueError("quantile of no values")
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


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
        return statistics.median(self.samples)

    @property
    def q1(self) -> float:
        return quantile(list(self.sorted_samples), 0.25)

    @property
    def q3(self) -> float:
        return quantile(list(self.sorted_samples), 0.75)

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

    @property
    def relative_iqr(self) -> float:
        """IQR / median; torch.utils.benchmark warns from 10% on."""
        return self.iqr / self.median if self.median > 0 else math.inf

    def summary(self) -> dict[str, float | int | str]:
        return {
            "median_s": self.median,
            "iqr_s": self.iqr,
            "q1_s": self.q1,
            "q3_s": self.q3,
            "min_s": self.min,
            "max_s": self.max,
            "mean_s": self.mean,
            "stddev_s": self.stddev,
            "rounds": self.n,
            "ops_per_sample": self.ops_per_sample,
            "clock": self.clock,
        }
