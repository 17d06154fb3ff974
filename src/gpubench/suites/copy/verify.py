"""Copies at 256 MiB: the copy suite's ``measure`` against a plain timing of the same ``copy_``.

On CUDA (pinned and pageable, H2D and D2H) the reference is a plain loop of ``copy_`` between two
CUDA events on the current stream, with no spin kernel, as bandwidthTest times pinned copies; the
host buffers it allocates must report ``is_pinned()`` (pinned) or not (pageable). Without CUDA,
the host copy (the suite's ``h2h`` baseline, one thread) against ``torch.utils.benchmark.Timer``
on ``dst.copy_(src)`` with the same thread count. gpubench's side builds its buffers once per
pair (``copy_case.prepare``) and times them every round.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.utils.benchmark as torch_benchmark

from gpubench.machine.fingerprint import cuda_unavailable_reason
from gpubench.measure.agreement import Pair, Skip
from gpubench.measure.result import VerificationError
from gpubench.suites.copy import case as copy_case

SUITE = "copy"
NBYTES = 256 << 20
CUDA_COPIES = (("h2d", "pinned"), ("d2h", "pinned"), ("h2d", "pageable"), ("d2h", "pageable"))
GPUBENCH_SAMPLES = 9
REFERENCE_SAMPLES = 9
REFERENCE_COPIES_PER_SAMPLE = 4  # 256 MiB at ~55 GB/s: ~5 ms a copy, ~20 ms a sample
TORCH_TIMER_MIN_RUN_S = 1.0


def pairs(nbytes: int = NBYTES) -> list[Pair | Skip]:
    reason = cuda_unavailable_reason()
    if reason is None:
        return [_cuda_pair(direction, memory, nbytes) for direction, memory in CUDA_COPIES]
    return [_host_pair(nbytes)]


def _ours(config: copy_case.CopyConfig) -> Callable[[], float]:
    """gpubench's side of a pair: the case's buffers built (and pinned) once, on its first round, then
    reused every round (rebuilding 256 MiB of random data each round cost seconds of serial fill)."""
    prepared: list[copy_case.Prepared] = []

    def ours() -> float:
        if not prepared:
            prepared.append(copy_case.prepare(config))
        return prepared[0].measure().measurement.median

    return ours


def _host_pair(nbytes: int) -> Pair:
    config = copy_case.CopyConfig("h2h", nbytes, "pageable", samples=GPUBENCH_SAMPLES)
    src = torch.randint(0, 256, (nbytes,), dtype=torch.uint8)
    dst = torch.empty_like(src)
    threads = copy_case.HOST_BASELINE_THREADS
    timer = torch_benchmark.Timer("dst.copy_(src)", globals={"src": src, "dst": dst}, num_threads=threads)

    def reference() -> float:
        return timer.blocked_autorange(min_run_time=TORCH_TIMER_MIN_RUN_S).median

    return Pair(
        SUITE,
        f"h2h pageable {_size(nbytes)}",
        ours=_ours(config),
        reference=reference,
        ours_method=f"copy suite measure (h2h, {threads} thread, host clock, median of {GPUBENCH_SAMPLES} samples)",
        reference_method=f"torch.utils.benchmark.Timer dst.copy_(src), {threads} thread, blocked_autorange median",
        params=config.params(),
        info={"host_threads": threads},
    )


def _cuda_pair(direction: str, memory: str, nbytes: int) -> Pair:
    config = copy_case.CopyConfig(direction, nbytes, memory, samples=GPUBENCH_SAMPLES)
    device = torch.device("cuda", config.device_index)
    host = torch.randint(0, 256, (nbytes,), dtype=torch.uint8)
    if memory == "pinned":
        host = host.pin_memory()
    if host.is_pinned() != (memory == "pinned"):
        raise VerificationError(f"a {memory} host buffer reports is_pinned() = {host.is_pinned()}")
    on_device = torch.empty(nbytes, dtype=torch.uint8, device=device)
    on_device.copy_(host)  # never time zeros
    src, dst = (host, on_device) if direction == "h2d" else (on_device, host)
    non_blocking = memory == "pinned"
    spinning = copy_case.uses_spin(config)

    def reference() -> float:
        return plain_event_loop(lambda: dst.copy_(src, non_blocking=non_blocking), device)

    return Pair(
        SUITE,
        f"{direction} {memory} {_size(nbytes)}",
        ours=_ours(config),
        reference=reference,
        ours_method=f"copy suite measure (CUDA events, {'behind the spin kernel' if spinning else 'no spin'})",
        reference_method=(
            f"plain loop of {REFERENCE_COPIES_PER_SAMPLE} copy_ between CUDA events, no spin, "
            f"median of {REFERENCE_SAMPLES} samples"
        ),
        params=config.params(),
        info={"host_is_pinned": bool(host.is_pinned())},
    )


def plain_event_loop(op, device: torch.device, ops: int = REFERENCE_COPIES_PER_SAMPLE) -> float:
    """Median seconds per ``op`` over samples of ``ops`` calls between two events; nothing else."""
    with torch.cuda.device(device):
        op()  # warm-up
        torch.cuda.synchronize(device)
        per_op = []
        for _ in range(REFERENCE_SAMPLES):
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            for _ in range(ops):
                op()
            end.record()
            end.synchronize()
            per_op.append(begin.elapsed_time(end) / 1e3 / ops)
    per_op.sort()
    return per_op[len(per_op) // 2]


def _size(nbytes: int) -> str:
    return f"{nbytes >> 20} MiB" if nbytes % (1 << 20) == 0 else f"{nbytes} B"
