"""The spin kernel the Timer hides enqueue behind: does it last as long as asked, does enqueue leave the span?

- ``length``: ``torch.cuda._sleep`` asked to spin ``SPIN_S`` (``timing.spin_cycles`` assumes the
  fastest clock) timed with CUDA events. gpubench's figure is the length it relies on, the
  reference the measured one; rule ``at-most``: the spin must last at least as long as assumed.
  ``info`` has the clock rate it implies.
- ``enqueue``: a tiny kernel (``add_`` on one element) whose launch costs the host more than the
  kernel costs the device. gpubench's Timer behind the spin against the host's own enqueue time
  per kernel (perf_counter around the launches, no synchronise); rule ``below``: the span per
  kernel must be clearly under the enqueue cost, or enqueue is inside it. ``info`` has a plain
  event loop without the spin, which carries the enqueue cost.

GPU only: without CUDA both are skipped with the reason.
"""

from __future__ import annotations

import statistics
import time

import torch

from gpubench.machine.fingerprint import cuda_unavailable_reason
from gpubench.measure.agreement import Pair, Skip
from gpubench.measure.timing import SPIN_CYCLES_PER_SECOND, Timer, spin_cycles

SUITE = "spin"
SPIN_S = 0.01
TINY_LOOP = 200
SAMPLES = 9
LENGTH_CASE = f"length {SPIN_S * 1e3:g} ms"
ENQUEUE_CASE = f"enqueue {TINY_LOOP} tiny kernels"


def pairs() -> list[Pair | Skip]:
    reason = cuda_unavailable_reason()
    if reason is not None:
        why = f"the spin kernel needs a GPU: {reason}"
        return [Skip(SUITE, LENGTH_CASE, why), Skip(SUITE, ENQUEUE_CASE, why)]
    device = torch.device("cuda", 0)
    return [_length_pair(device), _enqueue_pair(device)]


def _events_seconds(fn, device: torch.device) -> float:
    with torch.cuda.device(device):
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize(device)
        begin.record()
        fn()
        end.record()
        end.synchronize()
        return begin.elapsed_time(end) / 1e3


def _length_pair(device: torch.device) -> Pair:
    cycles = spin_cycles(SPIN_S)
    info: dict = {"cycles": cycles, "assumed_cycles_per_s": SPIN_CYCLES_PER_SECOND}

    def measured() -> float:
        seconds = statistics.median(
            [_events_seconds(lambda: torch.cuda._sleep(cycles), device) for _ in range(SAMPLES)]
        )
        info["implied_clock_ghz"] = cycles / seconds / 1e9
        return seconds

    return Pair(
        SUITE,
        LENGTH_CASE,
        ours_method=f"the length gpubench assumes: {cycles} cycles at {SPIN_CYCLES_PER_SECOND / 1e9:g} GHz",
        reference_method=f"torch.cuda._sleep({cycles}) between CUDA events, median of {SAMPLES}",
        ours=lambda: SPIN_S,
        reference=measured,
        rule="at-most",
        info=info,
    )


def _enqueue_pair(device: torch.device) -> Pair:
    x = torch.ones(1, device=device)
    info: dict = {"loop": TINY_LOOP}

    def tiny() -> None:
        x.add_(1e-6)

    def ours() -> float:
        timer = Timer(tiny, device=device, warmup=10, samples=SAMPLES, ops_per_sample=TINY_LOOP)
        seconds = timer.measure().median
        info["late_enqueue_samples"] = timer.report.late_samples
        info["spin_s"] = timer.report.spin_s
        return seconds

    def loop() -> None:
        for _ in range(TINY_LOOP):
            tiny()

    def enqueue_seconds() -> float:
        figures, plain = [], []
        for _ in range(SAMPLES):
            torch.cuda.synchronize(device)
            torch.cuda._sleep(spin_cycles(0.02))  # the launches must not wait for the device
            start = time.perf_counter()
            loop()
            figures.append((time.perf_counter() - start) / TINY_LOOP)
            plain.append(_events_seconds(loop, device) / TINY_LOOP)
        info["plain_loop_no_spin_s"] = statistics.median(plain)
        return statistics.median(figures)

    return Pair(
        SUITE,
        ENQUEUE_CASE,
        ours_method=f"gpubench Timer behind the spin, {TINY_LOOP} add_ on one element per sample",
        reference_method="host enqueue time per kernel (perf_counter around the launches)",
        ours=ours,
        reference=enqueue_seconds,
        rule="below",
        info=info,
    )
