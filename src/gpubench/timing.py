"""Clocks that tell the truth about a device: CUDA events on a GPU, a monotonic clock on the host.

GPU work is asynchronous, so a host clock read after enqueueing measures the enqueue, not the
work. On CUDA a Timer records events around a loop of operations on the current stream and reads
them after synchronising. Like nvbandwidth, it first enqueues a spin kernel that keeps the stream
busy while the host enqueues the loop, so enqueue cost lands before the start event, not inside
the timed span.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from gpubench.devices import synchronize
from gpubench.stats import Measurement

# The clock names a Measurement carries (the ``clock`` column of the store).
CUDA_EVENT_CLOCK = "cuda-event"
HOST_CLOCK = "host-perf_counter"

# An upper bound on GPU clock rates (cycles/s): the spin kernel is told to spin long enough to
# cover the enqueue even on the fastest clock; a slower clock just spins a bit longer.
_SPIN_CYCLES_PER_SECOND = 2.5e9
_MAX_SPIN_SECONDS = 0.05


@dataclass
class Timer:
    """Times ``fn`` (one operation) on ``device`` and returns per-operation samples.

    ``warmup`` untimed calls come first. Each of ``samples`` samples times a loop of
    ``ops_per_sample`` calls; when that is None it is calibrated so one sample lasts at least
    ``min_sample_s``, which keeps event and clock resolution out of the figure.
    """

    fn: Callable[[], object]
    device: torch.device | str = "cpu"
    warmup: int = 3
    samples: int = 15
    ops_per_sample: int | None = None
    min_sample_s: float = 2e-3
    max_ops_per_sample: int = 1000
    spin: bool = True
    # Ranks of a collective must hold their streams equally long, or the rank whose spin ends
    # first waits for the others inside its timed span: given the local spin (s), return the
    # length every rank uses (e.g. the maximum across ranks). Every rank must call measure().
    agree_spin: Callable[[float], float] | None = None

    def __post_init__(self) -> None:
        self.device = torch.device(self.device)
        if self.samples < 1 or self.warmup < 0:
            raise ValueError("Timer needs samples >= 1 and warmup >= 0")

    @property
    def on_cuda(self) -> bool:
        return self.device.type == "cuda"

    def measure(self) -> Measurement:
        for _ in range(self.warmup):
            self.fn()
        synchronize(self.device)
        ops = self.ops_per_sample or self._calibrate()
        spin_s = self._enqueue_seconds(ops) if (self.on_cuda and self.spin) else 0.0
        if spin_s and self.agree_spin is not None:
            spin_s = self.agree_spin(spin_s)
        samples = [self._time_loop(ops, spin_s) for _ in range(self.samples)]
        clock = CUDA_EVENT_CLOCK if self.on_cuda else HOST_CLOCK
        return Measurement(tuple(samples), ops_per_sample=ops, clock=clock)

    def _calibrate(self) -> int:
        one_op = self._time_loop(1, 0.0)
        if one_op <= 0:
            return self.max_ops_per_sample
        return max(1, min(self.max_ops_per_sample, math.ceil(self.min_sample_s / one_op)))

    def _enqueue_seconds(self, ops: int) -> float:
        """Host time to enqueue ``ops`` calls: how long the spin kernel must hold the stream."""
        start = time.perf_counter()
        for _ in range(ops):
            self.fn()
        elapsed = time.perf_counter() - start
        synchronize(self.device)
        return min(_MAX_SPIN_SECONDS, 2 * elapsed)

    def _time_loop(self, ops: int, spin_s: float) -> float:
        if self.on_cuda:
            return self._time_loop_cuda(ops, spin_s)
        start = time.perf_counter()
        for _ in range(ops):
            self.fn()
        return (time.perf_counter() - start) / ops

    def _time_loop_cuda(self, ops: int, spin_s: float) -> float:
        with torch.cuda.device(self.device):
            begin = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            if spin_s > 0:
                torch.cuda._sleep(int(spin_s * _SPIN_CYCLES_PER_SECOND))
            begin.record()
            for _ in range(ops):
                self.fn()
            end.record()
            end.synchronize()
            return begin.elapsed_time(end) / 1e3 / ops
