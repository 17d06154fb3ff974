"""AllReduce: the collectives suite's ``measure`` against a raw ``dist.all_reduce`` loop.

Gloo on CPU tensors, 2 ranks, 16 MiB float32; NCCL on CUDA tensors, 64 MiB, one rank per GPU,
where two GPUs or more are visible (NCCL on one rank does no work: skipped with that reason).
The reference spawns its own ranks (``gpubench.measure.workers.run_group``, 127.0.0.1) and uses nothing
else of gpubench: random data in [1, 2), warm-up, one untimed collective, a barrier, then timed
loops of as many collectives as gpubench chose for the same size (perf_counter on CPU; CUDA
events around the loop, no spin, for NCCL), each loop's time / iterations, the slowest rank's per
loop (MAX across ranks, as the suite combines them), the median over loops.
"""

from __future__ import annotations

import os
import socket
import statistics
import time
from datetime import timedelta

import torch
import torch.distributed as dist

# The one place verify reaches the AllReduce suite; measure(fresh=True) launches ranks for each
# round anew rather than returning the sweep's cached outcome.
from gpubench.machine.fingerprint import cuda_unavailable_reason
from gpubench.measure.agreement import Pair, Skip
from gpubench.measure.workers import run_group
from gpubench.suites.collectives import case as suite
from gpubench.suites.collectives.spec import Sweep

SUITE = "allreduce"
GLOO_BYTES = 16 << 20
NCCL_BYTES = 64 << 20
SAMPLES = 10
WARMUP = 5
TIMEOUT_S = 300.0


def pairs() -> list[Pair | Skip]:
    found: list[Pair | Skip] = [_pair("gloo", "cpu", 2, GLOO_BYTES)]
    gpus = torch.cuda.device_count() if cuda_unavailable_reason() is None else 0
    if gpus >= 2:
        found.append(_pair("nccl", "cuda", gpus, NCCL_BYTES))
    else:
        reason = f"NCCL needs two ranks on two GPUs or more to do any work; {gpus} GPU(s) visible here"
        found.append(Skip(SUITE, f"nccl cuda {NCCL_BYTES >> 20} MiB", reason, {"backend": "nccl", "bytes": NCCL_BYTES}))
    return found


def _pair(backend: str, device: str, world_size: int, nbytes: int) -> Pair:
    sweep = Sweep(backend, device, world_size, (nbytes,), samples=SAMPLES, warmup=WARMUP, placements=(True,))
    config = suite.CollectiveConfig(sweep, "float32", nbytes, in_place=True)
    state = {"iters": 0}

    def ours() -> float:
        result = suite.measure(config, fresh=True)
        state["iters"] = result.measurement.ops_per_sample
        return result.measurement.median

    def reference() -> float:
        if not state["iters"]:
            ours()  # the loop length gpubench picks for this size; not counted
        return raw_loop_seconds(backend, device, world_size, nbytes, state["iters"])

    return Pair(
        SUITE,
        f"{backend} {device} {world_size} ranks {nbytes >> 20} MiB",
        ours_method="allreduce suite measure (slowest rank per loop, median of loops)",
        reference_method=f"raw dist.all_reduce loop in {world_size} spawned ranks, slowest rank per loop, median",
        ours=ours,
        reference=reference,
        params=config.params(),
        info={"time_across_ranks": "max"},
    )


def raw_loop_seconds(backend: str, device: str, world_size: int, nbytes: int, iters: int) -> float:
    """The reference: median over loops of the slowest rank's seconds per collective."""
    port = _free_port()
    envs = [
        {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank), "WORLD_SIZE": str(world_size),
         "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        for rank in range(world_size)
    ]  # fmt: skip
    args = [(backend, device, nbytes, iters)] * world_size
    labels = [f"reference rank {rank}" for rank in range(world_size)]
    slowest = run_group(raw_rank, args, timeout=TIMEOUT_S, envs=envs, labels=labels)[0]
    return statistics.median(slowest)


def raw_rank(backend: str, device_kind: str, nbytes: int, iters: int) -> list[float]:
    """One rank of the reference (a spawned worker): per timed loop, the slowest rank's s/collective."""
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    timeout = timedelta(seconds=120)
    dist.init_process_group(backend, init_method="env://", rank=rank, world_size=world_size, timeout=timeout)
    try:
        cuda = device_kind == "cuda"
        device = torch.device("cuda", rank) if cuda else torch.device("cpu")
        if cuda:
            torch.cuda.set_device(device)
        x = (torch.rand(nbytes // 4) + 1).to(device)
        for _ in range(WARMUP):
            dist.all_reduce(x)
        dist.all_reduce(x)  # the untimed one
        if cuda:
            torch.cuda.synchronize(device)
        dist.barrier()
        times = [_timed_loop(x, iters, cuda) for _ in range(SAMPLES)]
        slowest = torch.tensor(times, dtype=torch.float64, device=device)
        dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
        return slowest.cpu().tolist()
    finally:
        dist.destroy_process_group()


def _timed_loop(x: torch.Tensor, iters: int, cuda: bool) -> float:
    if cuda:
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        for _ in range(iters):
            dist.all_reduce(x)
        end.record()
        end.synchronize()
        return begin.elapsed_time(end) / 1e3 / iters
    start = time.perf_counter()
    for _ in range(iters):
        dist.all_reduce(x)
    return (time.perf_counter() - start) / iters


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
