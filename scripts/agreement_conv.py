"""Does gpubench's CPU conv median agree with torch.utils.benchmark.Timer on the same F.conv2d?

Both sides run in fresh worker processes, as the suite does, with the same thread count, and the
rounds alternate (ours, theirs, ours, ...) so a burst of load on a shared machine hits both.
Prints each round, the ratio of the medians of the per-round medians (gpubench / torch) and the
median of the per-round ratios (each round's two runs are seconds apart, so it pairs like loads).
A fresh process that has not yet freed a large block pays page faults on every conv output
(glibc's mmap threshold: 2.1 instead of 1.5 ms here), so both sides first settle the allocator as
the suite's workers do (conv.settle_host_allocator); still judge the median over many rounds.

    PYTHONPATH=src python scripts/agreement_conv.py [--shape resnet50_64to64_3x3_56] [--rounds 9] [--threads N]

The suite measures CPU cases with one thread (conv.CPU_THREADS); ``--threads 0`` uses all cores.
"""

from __future__ import annotations

import argparse
import statistics

import torch
import torch.nn.functional as F
from torch.utils.benchmark import Timer as TorchTimer

from gpubench.suites.conv import case as conv
from gpubench.suites.conv.shapes import shape_set
from gpubench.workers import run_in_worker


def ours(config: conv.ConvConfig) -> tuple[float, int]:
    conv.prime("cpu", [(config.dtype, config.layout)])  # as the suite's worker does first
    result = conv.measure(config)  # sets config.threads for the case, as the suite does
    return result.measurement.median, int(result.info["threads"])


def theirs(config: conv.ConvConfig, min_run_time: float) -> tuple[float, int]:
    if config.threads:
        torch.set_num_threads(config.threads)
    conv.settle_host_allocator()  # the same process state as the suite's workers (see conv.py)
    shape = config.shape
    inputs = conv.conv_inputs(shape, config.dtype, config.layout, torch.device("cpu"))
    threads = torch.get_num_threads()
    timer = TorchTimer(
        "F.conv2d(x, w, None, stride, padding, 1, groups)",
        globals={"F": F, "x": inputs.x, "w": inputs.w, "stride": shape.stride, "padding": shape.padding,
                 "groups": shape.groups},
        num_threads=threads,  # torch.utils.benchmark defaults to 1 thread; match the suite's
    )  # fmt: skip
    return timer.blocked_autorange(min_run_time=min_run_time).median, threads


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="resnet50_64to64_3x3_56", help="a quick-profile shape name")
    parser.add_argument("--rounds", type=int, default=9, help="worker pairs (default 9: single processes vary)")
    parser.add_argument(
        "--threads",
        type=int,
        default=conv.CPU_THREADS,
        help="threads on both sides (default: the suite's; 0: all cores)",
    )
    parser.add_argument("--min-run-time", type=float, default=1.0, help="torch Timer's blocked_autorange budget (s)")
    args = parser.parse_args()
    shapes = {shape.name: shape for shape in shape_set("quick", "cpu")}
    if args.shape not in shapes:
        parser.error(f"unknown shape {args.shape!r}; quick shapes: {', '.join(shapes)}")
    shape, flags = shapes[args.shape], conv.DEFAULT_FLAGS
    config = conv.ConvConfig(shape, "cpu", "float32", "nchw", "forward", flags, threads=args.threads or None)
    print(f"{config.id}: F.conv2d forward, float32, NCHW, batch {config.shape.batch}")
    mine, reference = [], []
    for round_index in range(args.rounds):
        median, threads = run_in_worker(ours, config, timeout=300, label="gpubench")
        their_median, their_threads = run_in_worker(theirs, config, args.min_run_time, timeout=300, label="torch")
        mine.append(median)
        reference.append(their_median)
        print(
            f"round {round_index + 1}: gpubench {median * 1e6:9.1f} us ({threads} threads)   "
            f"torch.utils.benchmark {their_median * 1e6:9.1f} us ({their_threads} threads)   "
            f"ratio {median / their_median:.3f}"
        )
    ratio = statistics.median(mine) / statistics.median(reference)
    paired = statistics.median(m / r for m, r in zip(mine, reference, strict=True))
    print(
        f"median over {args.rounds} rounds: gpubench {statistics.median(mine) * 1e6:.1f} us, "
        f"torch.utils.benchmark {statistics.median(reference) * 1e6:.1f} us, ratio {ratio:.3f} "
        f"({'within' if abs(ratio - 1) <= 0.10 else 'OUTSIDE'} 10%); median of per-round ratios {paired:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
