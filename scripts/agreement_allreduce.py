#!/usr/bin/env python
"""Does gpubench's Gloo busbw agree with a plain ``dist.all_reduce`` loop timed the same way?

Both sides: 2 Gloo ranks on 127.0.0.1, float32 in place, 16 MiB by default; 5 warm-up
collectives, a barrier, then timed loops of the same number of collectives (the number gpubench
chose), each loop timed with perf_counter, the slowest rank's time per loop kept, the median of
the loops taken; busbw = bytes / median / 1e9 x 2(n-1)/n. The plain side uses nothing of
gpubench. Rounds alternate (gpubench then plain, plain then gpubench, ...) so that load from
other processes falls on both and neither always runs first. Prints each round, the ratio of the
medians (gpubench / plain; 1.0 is perfect agreement) and the median of the per-round ratios.
Run from the checkout:

    PYTHONPATH=src python scripts/agreement_allreduce.py [--bytes 16M] [--rounds 5] [--samples 10]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as tmp

from gpubench.allreduce.launch import launch
from gpubench.allreduce.spec import Sweep, busbw_gbps, parse_size

WORLD_SIZE = 2


def plain_rank(rank: int, port: int, nbytes: int, iters: int, samples: int, out) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"  # as gpubench's local ranks (and torchrun) run
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD_SIZE)
    x = torch.rand(nbytes // 4) + 1
    for _ in range(5):
        dist.all_reduce(x)
    dist.all_reduce(x)  # the untimed one
    dist.barrier()
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        for _ in range(iters):
            dist.all_reduce(x)
        times.append((time.perf_counter() - start) / iters)
    slowest = torch.tensor(times, dtype=torch.float64)
    dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
    if rank == 0:
        out.put(slowest.tolist())
    dist.destroy_process_group()


def plain_busbw(nbytes: int, iters: int, samples: int) -> float:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    queue = tmp.get_context("spawn").SimpleQueue()
    tmp.spawn(plain_rank, args=(port, nbytes, iters, samples, queue), nprocs=WORLD_SIZE, join=True)
    seconds = statistics.median(queue.get())
    return nbytes / seconds / 1e9 * 2 * (WORLD_SIZE - 1) / WORLD_SIZE  # written out: no gpubench on this side


def gpubench_busbw(nbytes: int, samples: int) -> tuple[float, int]:
    sweep = Sweep("gloo", "cpu", WORLD_SIZE, (nbytes,), samples=samples)
    (outcome,) = launch([sweep])
    (result,) = outcome.results
    return busbw_gbps(nbytes, statistics.median(result.samples), WORLD_SIZE), result.iters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--bytes", default="16M")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=10)
    args = parser.parse_args()
    nbytes = parse_size(args.bytes)
    ours, plain = [], []
    iters = gpubench_busbw(nbytes, args.samples)[1]  # the loop length gpubench picks; not counted
    for round_index in range(args.rounds):
        # Alternate which side goes first, so neither always follows the other's start-up or exit.
        if round_index % 2:
            plain.append(plain_busbw(nbytes, iters, args.samples))
            ours.append(gpubench_busbw(nbytes, args.samples)[0])
        else:
            busbw, iters = gpubench_busbw(nbytes, args.samples)
            ours.append(busbw)
            plain.append(plain_busbw(nbytes, iters, args.samples))
        print(
            f"round {round_index + 1}: gpubench {ours[-1]:.3f} GB/s, plain loop {plain[-1]:.3f} GB/s "
            f"({iters} collectives per loop), ratio {ours[-1] / plain[-1]:.3f}",
            flush=True,
        )
    ratio = statistics.median(ours) / statistics.median(plain)
    paired = statistics.median(a / b for a, b in zip(ours, plain, strict=True))
    print(
        f"Gloo busbw at {nbytes} B, {WORLD_SIZE} ranks, median of {args.rounds} rounds: "
        f"gpubench {statistics.median(ours):.3f} GB/s, plain loop {statistics.median(plain):.3f} GB/s, "
        f"ratio of medians {ratio:.3f} ({'within' if abs(ratio - 1) <= 0.10 else 'NOT within'} 10%), "
        f"median of the per-round ratios {paired:.3f}"
    )


if __name__ == "__main__":
    main()
