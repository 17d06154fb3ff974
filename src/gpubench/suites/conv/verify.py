"""Convolution at a ResNet-50 3x3 shape: the conv suite against ``torch.utils.benchmark.Timer``.

Each round is one fresh worker process of the case's flag combination, as the suite runs it: the
suite's own path (priming, then ``conv.measure`` under the case's flags) and
``torch.utils.benchmark.Timer`` (which synchronises CUDA around its blocks) on the same
``F.conv2d`` under the same flags and thread count, in alternating order. Sharing the process
means both sides run cuDNN's same cached plan, so the ratio compares timing methods, not two
autotuning draws. The case: 64->64 3x3 at 56x56, float32 NCHW forward, PyTorch's default flags,
on CUDA where there is one, else on the CPU as the suite measures it there (one thread).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.benchmark import Timer as TorchTimer

from gpubench.machine.fingerprint import cuda_unavailable_reason
from gpubench.measure.agreement import Pair, Skip
from gpubench.measure.devices import cpu_threads
from gpubench.measure.workers import run_in_worker
from gpubench.suites.conv import case as conv
from gpubench.suites.conv.case import ConvConfig
from gpubench.suites.conv.shapes import ConvShape, shape_set

SUITE = "conv"
SHAPE = "resnet50_64to64_3x3_56"
TORCH_TIMER_MIN_RUN_S = 1.0
WORKER_TIMEOUT_S = 300.0


def headline_config(device: str, shape: ConvShape | None = None) -> ConvConfig:
    shapes = {shape.name: shape for shape in shape_set("quick", device)}
    threads = conv.CPU_THREADS if device == "cpu" else None
    return ConvConfig(shape or shapes[SHAPE], device, "float32", "nchw", "forward", conv.DEFAULT_FLAGS, threads=threads)


def pairs(shape: ConvShape | None = None, min_run_s: float = TORCH_TIMER_MIN_RUN_S) -> list[Pair | Skip]:
    """The check at ``SHAPE`` (``shape``: another, e.g. a tiny one for the tests), each side of the
    reference timed for ``min_run_s`` a round."""
    device = "cuda" if cuda_unavailable_reason() is None else "cpu"
    config = headline_config(device, shape)

    def both(reference_first: bool) -> tuple[float, float]:
        label = f"verify conv worker {config.flags.label}"
        return run_in_worker(one_round, config, reference_first, min_run_s, timeout=WORKER_TIMEOUT_S, label=label)

    return [
        Pair(
            SUITE,
            f"{config.shape.name} n{config.batch} {config.device} fp32 forward {config.flags.label}",
            ours_method="conv suite in a fresh worker (prime, measure: Timer, CUDA events or host clock)",
            reference_method=(
                f"torch.utils.benchmark.Timer F.conv2d, same flags and threads, blocked_autorange "
                f"({min_run_s:g} s) median, same worker"
            ),
            both=both,
            params=config.params(),
        )
    ]


def one_round(
    config: ConvConfig, reference_first: bool, min_run_s: float = TORCH_TIMER_MIN_RUN_S
) -> tuple[float, float]:
    """Worker entry point: (the suite's median, torch.utils.benchmark's median), in the given order."""
    if config.device == "cpu":
        conv.settle_host_allocator()  # the state the suite's worker is in, whichever side goes first
    figures: dict[str, float] = {}
    for side in ("reference", "ours") if reference_first else ("ours", "reference"):
        figures[side] = _reference(config, min_run_s) if side == "reference" else _ours(config)
    return figures["ours"], figures["reference"]


def _ours(config: ConvConfig) -> float:
    # What the suite's worker (conv.worker.serve) does, less recording kernel names: the profiler
    # must not run before the reference is timed.
    with conv.applied_flags(config.flags, allow_tf32=True):
        conv.prime(config.device, [(config.dtype, config.layout)])
    return conv.measure(config).measurement.median


def _reference(config: ConvConfig, min_run_s: float) -> float:
    device = torch.device("cuda", 0) if config.device == "cuda" else torch.device("cpu")
    shape = config.shape
    with conv.applied_flags(config.flags, config.allow_tf32), cpu_threads(config.threads):
        inputs = conv.conv_inputs(shape, config.dtype, config.layout, device)
        timer = TorchTimer(
            "F.conv2d(x, w, None, stride, padding, 1, groups)",
            globals={"F": F, "x": inputs.x, "w": inputs.w, "stride": shape.stride, "padding": shape.padding,
                     "groups": shape.groups},
            num_threads=torch.get_num_threads(),  # torch.utils.benchmark defaults to one thread
        )  # fmt: skip
        return timer.blocked_autorange(min_run_time=min_run_s).median
