"""Clocks that tell the truth about a device: CUDA events on a GPU, a monotonic clock on the host.

``Timer`` owns warm-up, calibrated loops and per-operation samples; on CUDA it records events
around a loop enqueued behind a spin kernel, caps loops at ``QUEUE_SAFE_OPS`` and counts samples
whose stream reached the start event early. The device side sits behind ``DeviceClock`` so that
the ordering is tested on a simulated stream (tests/simulated_stream.py). Method: docs/method.md.
An operation that issues several stream commands says how many (``commands_per_op``): a
calibrated loop holds at most ``QUEUE_SAFE_COMMANDS`` of them.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from gpubench.measure.stats import Measurement

# The clock names a Measurement carries (the ``clock`` column of the store).
CUDA_EVENT_CLOCK = "cuda-event"
HOST_CLOCK = "host-perf_counter"

# An upper bound on GPU clock rates (cycles/s): the spin kernel is told to spin long enough to
# cover the enqueue even on the fastest clock; a slower clock just spins a bit longer.
SPIN_CYCLES_PER_SECOND = 2.5e9
MAX_SPIN_SECONDS = 0.05
# CUDA's launch queue holds about a thousand entries and one torch operation may take several (a
# pinned non_blocking copy_ is a copy and an event record): longer calibrated loops risk filling it.
QUEUE_SAFE_COMMANDS = 1024
COMMANDS_PER_OP = 4  # what a plain operation is assumed to issue
QUEUE_SAFE_OPS = QUEUE_SAFE_COMMANDS // COMMANDS_PER_OP
CALIBRATION_ROUNDS = 4


def spin_cycles(seconds: float) -> int:
    """Cycles to ask ``torch.cuda._sleep`` for, so the spin lasts at least ``seconds`` on any clock."""
    return int(seconds * SPIN_CYCLES_PER_SECOND)


class DeviceEvent(Protocol):
    def record(self) -> None: ...
    def query(self) -> bool: ...
    def synchronize(self) -> None: ...
    def elapsed_time(self, end: Any) -> float: ...  # milliseconds, as torch.cuda.Event


class DeviceClock(Protocol):
    """What the Timer needs of a device: host time, events on its stream, a spin, a synchronise."""

    def now(self) -> float: ...
    def event(self) -> DeviceEvent: ...
    def spin(self, seconds: float) -> None: ...
    def synchronize(self) -> None: ...
    def scope(self) -> contextlib.AbstractContextManager[Any]: ...


class CudaClock:
    """The real device: torch.cuda events and ``torch.cuda._sleep`` on the current stream of ``device``."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def now(self) -> float:
        return time.perf_counter()

    def event(self) -> DeviceEvent:
        return torch.cuda.Event(enable_timing=True)

    def spin(self, seconds: float) -> None:
        torch.cuda._sleep(spin_cycles(seconds))

    def synchronize(self) -> None:
        torch.cuda.synchronize(self.device)

    def scope(self) -> contextlib.AbstractContextManager[Any]:
        return torch.cuda.device(self.device)


@dataclass(frozen=True)
class TimingReport:
    """How the samples were taken: loop length, spin length, samples whose enqueue outlasted the spin."""

    ops_per_sample: int
    spin_s: float
    samples: int
    late_samples: int = 0

    def note(self) -> str:
        if not self.late_samples:
            return ""
        return (
            f"in {self.late_samples} of {self.samples} samples the stream reached the start event before the host "
            f"had enqueued the loop of {self.ops_per_sample} (spin of {self.spin_s * 1e3:.2f} ms too short, or the "
            "launch queue full): enqueue time is inside those samples"
        )

    def info(self) -> dict[str, float | int | str]:
        """What a case records about its timing (``timing_note`` only when a sample was late)."""
        out: dict[str, float | int | str] = {"spin_s": self.spin_s, "late_enqueue_samples": self.late_samples}
        if self.late_samples:
            out["timing_note"] = self.note()
        return out


@dataclass
class Timer:
    """Times ``fn`` (one operation) on ``device`` and returns per-operation samples.

    ``warmup`` untimed calls come first. Each of ``samples`` samples times a loop of
    ``ops_per_sample`` calls; when that is None it is calibrated, timed exactly as the samples
    are (behind the spin on CUDA, so launch latency does not count), until one sample lasts at
    least ``min_sample_s`` or the loop reaches its cap. After ``measure``, ``report`` says how.
    """

    fn: Callable[[], object]
    device: torch.device | str = "cpu"
    warmup: int = 3
    samples: int = 15
    ops_per_sample: int | None = None
    min_sample_s: float = 2e-3
    max_ops_per_sample: int = 1000
    spin: bool = True
    # Stream commands one call of ``fn`` issues (kernels, copies, event records, stream waits): the
    # calibrated loop holds at most QUEUE_SAFE_COMMANDS of them.
    commands_per_op: int = COMMANDS_PER_OP
    # Ranks of a collective must hold their streams equally long, or the rank whose spin ends
    # first waits for the others inside its timed span: given the local spin (s), return the
    # length every rank uses (e.g. the maximum across ranks). Every rank must call measure(), with
    # the same ops_per_sample (a calibration per rank would disagree).
    agree_spin: Callable[[float], float] | None = None
    # The device's clock; None: CUDA events on a CUDA device, the host clock otherwise.
    clock: DeviceClock | None = None
    report: TimingReport | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.device = torch.device(self.device)
        if self.samples < 1 or self.warmup < 0 or self.commands_per_op < 1:
            raise ValueError("Timer needs samples >= 1, warmup >= 0 and commands_per_op >= 1")
        if self.agree_spin is not None and self.ops_per_sample is None:
            raise ValueError("ranks that agree on a spin must also agree on ops_per_sample; pass it")
        if self.clock is None and self.device.type == "cuda":
            self.clock = CudaClock(self.device)

    @property
    def on_device(self) -> bool:
        return self.clock is not None

    @property
    def spins(self) -> bool:
        return self.on_device and self.spin

    def measure(self) -> Measurement:
        for _ in range(self.warmup):
            self.fn()
        self._synchronize()
        ops = self.ops_per_sample or self._calibrate()
        spin_s = self._spin_seconds(ops)
        if spin_s and self.agree_spin is not None:
            spin_s = self.agree_spin(spin_s)
        timed = [self._time_loop(ops, spin_s) for _ in range(self.samples)]
        late = sum(1 for _, was_late in timed if was_late)
        self.report = TimingReport(ops, spin_s, self.samples, late)
        clock = CUDA_EVENT_CLOCK if self.on_device else HOST_CLOCK
        return Measurement(tuple(seconds for seconds, _ in timed), ops_per_sample=ops, clock=clock)

    def _synchronize(self) -> None:
        if self.clock is not None:
            self.clock.synchronize()

    def _max_ops(self) -> int:
        if not self.spins:
            return self.max_ops_per_sample
        return min(self.max_ops_per_sample, max(1, QUEUE_SAFE_COMMANDS // self.commands_per_op))

    def _calibrate(self) -> int:
        """The loop length whose sample lasts ``min_sample_s``, from loops timed as the samples are."""
        cap = self._max_ops()
        ops = 1
        for _ in range(CALIBRATION_ROUNDS):
            per_op, _ = self._time_loop(ops, self._spin_seconds(ops))
            if per_op <= 0:
                return cap
            wanted = max(1, min(cap, math.ceil(self.min_sample_s / per_op)))
            if wanted <= ops:
                return ops
            ops = wanted
        return ops

    def _spin_seconds(self, ops: int) -> float:
        """How long the spin must hold the stream: twice the host time to enqueue ``ops`` calls."""
        if not self.spins:
            return 0.0
        start = self.clock.now()
        for _ in range(ops):
            self.fn()
        elapsed = self.clock.now() - start
        self.clock.synchronize()
        return min(MAX_SPIN_SECONDS, 2 * elapsed)

    def _time_loop(self, ops: int, spin_s: float) -> tuple[float, bool]:
        """Seconds per operation over one loop, and whether enqueue may be inside it (late)."""
        if self.clock is None:
            start = time.perf_counter()
            for _ in range(ops):
                self.fn()
            return (time.perf_counter() - start) / ops, False
        with self.clock.scope():
            begin, end = self.clock.event(), self.clock.event()
            if spin_s > 0:
                self.clock.spin(spin_s)
            begin.record()
            for _ in range(ops):
                self.fn()
            # Still spinning now, the stream has not reached `begin`: the whole loop waits behind it.
            late = spin_s > 0 and begin.query()
            end.record()
            end.synchronize()
            return begin.elapsed_time(end) / 1e3 / ops, late
