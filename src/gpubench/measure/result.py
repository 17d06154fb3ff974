"""What a benchmark case hands back: its measurement, the figures derived from it, or a skip."""

from __future__ import annotations

from dataclasses import dataclass, field

from gpubench.measure.stats import Measurement

Scalar = bool | int | float | str


class CaseSkipped(Exception):
    """The case cannot run here; ``reason`` says why, in one line, for the results store."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class VerificationError(AssertionError):
    """What was timed produced a wrong result (a copy that did not arrive, a wrong sum)."""


@dataclass
class CaseResult:
    """One measured case.

    ``params`` say what was measured (they identify the case across runs), ``metrics`` are
    numbers derived from the measurement with the unit in their name (``gbps``, ``latency_us``),
    ``info`` is context that identifies nothing (kernel names, notes).
    """

    suite: str
    params: dict[str, Scalar]
    measurement: Measurement
    metrics: dict[str, float] = field(default_factory=dict)
    info: dict[str, Scalar] = field(default_factory=dict)

    @property
    def case(self) -> str:
        return case_name(self.suite, self.params)


def case_name(suite: str, params: dict[str, Scalar]) -> str:
    """A stable, readable identifier: ``copy[direction=h2d,host_memory=pinned,bytes=4096]``."""
    inner = ",".join(f"{key}={value}" for key, value in params.items())
    return f"{suite}[{inner}]"
