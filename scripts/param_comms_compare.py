#!/usr/bin/env python
"""gpubench's collective timing against Meta's PARAM comms, Gloo on CPU tensors, 2 ranks, interleaved.

PARAM (facebookresearch/param, ``train/comms/pt/comms.py``) is not a package on PyPI and this
machine reaches no other source, so its timing loop is re-implemented here from its source, as
read (``commsCollBench.runColl`` in blocking mode, the default ``--z 1``; ``comms_utils.getAlgBW``;
``reportBenchTimeColl``):

- buffer: ``torch.rand(count) / count**2`` (``alloc_random`` with ``scaleFactor = numElements**2``),
  all_reduce in place on that one buffer, no data check (``--c 0``, the default);
- ``--w`` (5) warm-up then ``--n`` (5) timed iterations; each iteration is a barrier
  (``sync_barrier``: ``dist.barrier`` then wait), then ``time.monotonic()`` around one blocking
  collective; the iteration times are summed;
- ``avgIterNS = elapsed / n``, ``algBW = bytes / avgIterNS`` (GB/s), ``busBW = algBW x 2(n-1)/n``,
  each rank from its own time; the printed algBW/busBW are rank 0's, the latency p50/p75/p95 are
  percentiles of the ranks' ``avgIterNS``.

gpubench's side is its own code: ``harness._run_size`` on a Gloo CPU sweep of one size, in the
same process group (warm-up 5, one untimed collective, a barrier, 10 loops of ``iters``
collectives back to back; headline = median over loops of the slowest rank's loop time).

To find where a gap comes from, every round also runs, on the same buffer sizes:

- ``param_n50``: PARAM's loop with as many timed collectives as gpubench's 10 loops hold
  (loop length);
- ``back_to_back``: one barrier, then the same number of collectives back to back, one host-clock
  span per rank (barrier placement: nccl-tests' and gpubench's structure, PARAM's averaging);

and reads, from PARAM's own samples, the slowest rank instead of rank 0 (rank combination).
Methods rotate order every round, so load from other processes falls on all of them. Run:

    PYTHONPATH=src torchrun --standalone --nproc-per-node 2 scripts/param_comms_compare.py \
        --sizes 16M,64M --rounds 5 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch
import torch.distributed as dist

from gpubench.suites.collectives import all_reduce
from gpubench.suites.collectives.harness import RankEnv, _run_size
from gpubench.suites.collectives.progress import Progress
from gpubench.suites.collectives.spec import Sweep, parse_sizes

WORLD_SIZE = 2
FACTOR = 2 * (WORLD_SIZE - 1) / WORLD_SIZE  # all_reduce's bus factor, written out


def param_loop(nbytes: int, warmup: int, iters: int) -> list[float]:
    """PARAM's runColl (blocking): this rank's per-iteration seconds of ``iters`` timed collectives."""
    count = nbytes // 4
    x = torch.rand(count) / (count * count)  # alloc_random with scaleFactor = numElements ** 2
    dist.barrier()  # runColl_begin
    times = []
    for index in range(warmup + iters):
        dist.barrier()  # sync_barrier before every blocking collective
        start = time.monotonic()
        dist.all_reduce(x)  # blocking: returns when done
        elapsed = time.monotonic() - start
        if index >= warmup:
            times.append(elapsed)
    _ = x[-1].item()  # ensureTensorFlush
    dist.barrier()  # runColl_end
    return times


def back_to_back(nbytes: int, warmup: int, iters: int) -> float:
    """One barrier, then ``iters`` collectives back to back: this rank's seconds per collective."""
    count = nbytes // 4
    x = torch.rand(count) / (count * count)
    for _ in range(warmup):
        dist.all_reduce(x)
    dist.barrier()
    start = time.perf_counter()
    for _ in range(iters):
        dist.all_reduce(x)
    return (time.perf_counter() - start) / iters


def gpubench_size(env: RankEnv, nbytes: int) -> tuple[float, float, int]:
    """gpubench's harness on one size: (median slowest-rank s, median mean-rank s, collectives per loop)."""
    sweep = Sweep("gloo", "cpu", WORLD_SIZE, (nbytes,))
    progress = Progress(env.rank, env.world_size, [sweep])
    found = _run_size(
        sweep, all_reduce, env, torch.device("cpu"), None, True, (0, "float32", nbytes, 0), progress, all_reduce.run
    )
    return statistics.median(found.samples), statistics.median(found.mean_samples), found.iters


def gathered(value: float) -> list[float]:
    values: list = [None] * WORLD_SIZE
    dist.all_gather_object(values, value)
    return values


def busbw(nbytes: int, seconds: float) -> float:
    return nbytes / seconds / 1e9 * FACTOR


def one_round(env: RankEnv, nbytes: int, order: list[str], warmup: int, param_iters: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    gpubench_collectives = 50
    for method in order:
        if method == "gpubench":
            slowest, mean, iters = gpubench_size(env, nbytes)
            gpubench_collectives = 10 * iters
            figures["gpubench_busbw"] = busbw(nbytes, slowest)
            figures["gpubench_mean_rank_busbw"] = busbw(nbytes, mean)
            figures["gpubench_iters"] = iters
        elif method == "param":
            averages = gathered(statistics.fmean(param_loop(nbytes, warmup, param_iters)))
            figures["param_busbw"] = busbw(nbytes, averages[0])  # what PARAM prints: rank 0's own
            figures["param_slowest_rank_busbw"] = busbw(nbytes, max(averages))
            figures["param_p50_us"] = statistics.median(averages) * 1e6
        elif method == "param_n50":
            times = param_loop(nbytes, warmup, gpubench_collectives)
            averages = gathered(statistics.fmean(times))
            medians = gathered(statistics.median(times))
            figures["param_n50_busbw"] = busbw(nbytes, averages[0])
            figures["param_n50_median_busbw"] = busbw(nbytes, medians[0])
        elif method == "back_to_back":
            per_rank = gathered(back_to_back(nbytes, warmup, gpubench_collectives))
            figures["back_to_back_busbw"] = busbw(nbytes, per_rank[0])
            figures["back_to_back_slowest_rank_busbw"] = busbw(nbytes, max(per_rank))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="16M,64M")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=5, help="PARAM's --w")
    parser.add_argument("--param-iters", type=int, default=5, help="PARAM's --n")
    parser.add_argument("--json", help="write every round's figures here (rank 0)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    env = RankEnv.from_environ()
    if env.world_size != WORLD_SIZE:
        raise SystemExit(f"run with --nproc-per-node {WORLD_SIZE}")
    dist.init_process_group("gloo")
    methods = ["gpubench", "param", "param_n50", "back_to_back"]
    rounds = []
    for round_index in range(args.rounds):
        for nbytes in parse_sizes(args.sizes):
            shift = round_index % len(methods)
            order = methods[shift:] + methods[:shift]
            figures = one_round(env, nbytes, order, args.warmup, args.param_iters)
            figures.update(round=round_index + 1, bytes=nbytes, order=",".join(order))
            rounds.append(figures)
            if env.rank == 0:
                shown = ", ".join(f"{k} {v:.3f}" for k, v in figures.items() if k.endswith("busbw"))
                print(f"round {round_index + 1} {nbytes >> 20} MiB: {shown}", flush=True)
    if env.rank == 0:
        report(rounds)
        if args.json:
            with open(args.json, "w") as out:
                json.dump(rounds, out, indent=1)
    dist.destroy_process_group()


RATIOS = (
    ("gpubench / PARAM (headline: slowest rank, median of loops)", "gpubench_busbw", "param_busbw"),
    ("gpubench mean rank / PARAM", "gpubench_mean_rank_busbw", "param_busbw"),
    ("rank combination: PARAM slowest rank / PARAM rank 0", "param_slowest_rank_busbw", "param_busbw"),
    ("loop length: PARAM n=gpubench's count / PARAM n=5", "param_n50_busbw", "param_busbw"),
    ("statistic: PARAM n=50 median / mean", "param_n50_median_busbw", "param_n50_busbw"),
    ("barrier placement: back to back / barrier before each (n=50)", "back_to_back_busbw", "param_n50_busbw"),
    ("gpubench / back to back (n=50, rank 0)", "gpubench_busbw", "back_to_back_busbw"),
    ("gpubench / back to back slowest rank", "gpubench_busbw", "back_to_back_slowest_rank_busbw"),
)


def report(rounds: list[dict]) -> None:
    for nbytes in sorted({r["bytes"] for r in rounds}):
        mine = [r for r in rounds if r["bytes"] == nbytes]
        print(f"== {nbytes >> 20} MiB, {len(mine)} rounds: median (range) over rounds")
        for label, top, bottom in RATIOS:
            values = [r[top] / r[bottom] for r in mine]
            print(f"  {label}: {statistics.median(values):.3f} ({min(values):.2f}-{max(values):.2f})")
        for key in ("gpubench_busbw", "param_busbw", "gpubench_iters"):
            print(f"  {key}: median {statistics.median(r[key] for r in mine):.3f}")


if __name__ == "__main__":
    main()
