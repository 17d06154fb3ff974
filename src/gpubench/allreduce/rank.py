"""What every rank runs: the size sweep of each requested backend, timed and checked.

Ranks find each other through the environment torchrun sets (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``...); the local launcher sets the same variables,
so both paths run this very code. A Gloo process group (the default group) carries the
bookkeeping (barriers, agreeing on loop lengths, combining times) and the Gloo measurements; NCCL
gets its own group. Every decision that changes how many collectives run (skip a size, loop
length) is agreed across ranks first, so no rank waits on a collective the others never call.
Every group has a timeout: a rank that stops answering ends the run instead of hanging it.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

from gpubench.allreduce import links
from gpubench.allreduce.check import count_wrong, fill_for_check, fill_for_timing
from gpubench.allreduce.spec import ITEMSIZE, SizeResult, Sweep, SweepOutcome
from gpubench.devices import require_memory
from gpubench.env import cuda_unavailable_reason
from gpubench.result import CaseSkipped
from gpubench.timing import Timer
from gpubench.workers import WorkerError

AllReduce = Callable[..., Any]  # dist.all_reduce's signature; tests pass a broken one
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
PHASES = ("starting", "setup", "allocation", "warm-up", "untimed collective", "barrier", "timed loops", "check")
STARTED, FINISHED, FAILED = 1, 2, 3
SLOTS = 4  # per rank in a progress array: state, sweep index, size index, phase


class RankFailure(WorkerError):
    """A rank's collective (or its setup) failed; the message says where."""


@dataclass(frozen=True)
class RankEnv:
    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    nodes: int | None  # torchrun's GROUP_WORLD_SIZE; None: count the hosts

    @classmethod
    def from_environ(cls) -> RankEnv:
        missing = [name for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if name not in os.environ]
        if missing:
            raise ValueError(f"{', '.join(missing)} not set: launch the ranks with torchrun (or gpubench allreduce)")
        world_size = int(os.environ["WORLD_SIZE"])
        return cls(
            rank=int(os.environ["RANK"]),
            world_size=world_size,
            local_rank=int(os.environ.get("LOCAL_RANK", os.environ["RANK"])),
            local_world_size=int(os.environ.get("LOCAL_WORLD_SIZE", world_size)),
            nodes=int(os.environ["GROUP_WORLD_SIZE"]) if "GROUP_WORLD_SIZE" in os.environ else None,
        )


class Progress:
    """Where this rank is, for messages and, through a shared array, for the local launcher."""

    def __init__(self, rank: int, sweeps: Sequence[Sweep], shared: Any = None) -> None:
        self.rank, self.sweeps, self.shared = rank, sweeps, shared
        self.where = "start-up"

    def state(self, state: int) -> None:
        if self.shared is not None:
            self.shared[self.rank * SLOTS] = state

    def at(self, phase: str, sweep_index: int, dtype: str = "", nbytes: int = 0, size_index: int = -1) -> None:
        sweep = self.sweeps[sweep_index]
        self.where = f"{phase} ({sweep.describe()}" + (f", {nbytes} B {dtype})" if nbytes else ")")
        if self.shared is not None:
            base = self.rank * SLOTS
            self.shared[base + 1], self.shared[base + 2] = sweep_index, size_index
            self.shared[base + 3] = PHASES.index(phase)


def run_rank(
    sweeps: Sequence[Sweep],
    *,
    timeout_s: float,
    shared_progress: Any = None,
    all_reduce: AllReduce | None = None,
) -> list[SweepOutcome] | None:
    """Run every sweep on this rank; rank 0 returns the outcomes, the other ranks None."""
    env = RankEnv.from_environ()
    for sweep in sweeps:
        if sweep.world_size != env.world_size:
            raise ValueError(f"sweep for {sweep.world_size} rank(s) launched with WORLD_SIZE={env.world_size}")
    progress = Progress(env.rank, sweeps, shared_progress)
    progress.state(STARTED)
    try:
        outcomes = _run_all(sweeps, env, timedelta(seconds=timeout_s), progress, all_reduce or dist.all_reduce)
    except Exception as error:
        progress.state(FAILED)
        first_line = (str(error).strip().splitlines() or [""])[0]
        raise RankFailure(f"failed during {progress.where}: {type(error).__name__}: {first_line}") from error
    progress.state(FINISHED)
    return outcomes if env.rank == 0 else None


def _run_all(sweeps, env: RankEnv, timeout: timedelta, progress: Progress, all_reduce: AllReduce):
    progress.at("setup", 0)
    dist.init_process_group("gloo", init_method="env://", rank=env.rank, world_size=env.world_size, timeout=timeout)
    try:
        hosts = _gather(socket.gethostname())
        nodes = env.nodes or len(set(hosts))
        return [
            _run_sweep(index, sweep, env, len(set(hosts)), nodes, timeout, progress, all_reduce)
            for index, sweep in enumerate(sweeps)
        ]
    finally:
        dist.destroy_process_group()


def _run_sweep(index, sweep: Sweep, env: RankEnv, hosts: int, nodes: int, timeout, progress, all_reduce):
    progress.at("setup", index)
    reason = _agreed_reason(sweep_skip_reason(sweep, env.local_world_size))
    if reason:
        return SweepOutcome(sweep, nodes=nodes, hosts=hosts, skip_reason=reason)
    device = _device(sweep, env)
    group = None
    if sweep.backend == "nccl":
        torch.cuda.set_device(device)
        group = dist.new_group(backend="nccl", timeout=timeout)
        # NCCL connects lazily, on the first collective: make that happen now, untimed, rather
        # than in the warm-up that picks the loop length of the first size.
        dist.all_reduce(torch.ones(1, device=device), group=group)
        torch.cuda.synchronize(device)
    try:
        results = []
        for dtype in sweep.dtypes:
            for size_index, nbytes in enumerate(sweep.sizes):
                where = (index, dtype, nbytes, size_index)
                results.append(_run_size(sweep, env, device, group, dtype, nbytes, where, progress, all_reduce))
        name, peak = links.link_peak(sweep, device, nodes) if env.rank == 0 else (None, None)
    finally:
        if group is not None:
            dist.destroy_process_group(group)
    return SweepOutcome(sweep, nodes, hosts, tuple(results), link_name=name, link_peak_gbps=peak)


def _run_size(sweep, env, device, group, dtype, nbytes, where, progress, all_reduce) -> SizeResult:
    """nccl-tests' order: warm-up, one untimed collective, barrier, timed loops; then the check."""
    index, _, _, size_index = where
    progress.at("allocation", index, dtype, nbytes, size_index)
    x, reason = _allocate(sweep, env, device, dtype, nbytes)
    reason = _agreed_reason(reason)
    if reason:  # every rank skips (the buffers of those that got one are freed on return)
        return SizeResult(dtype, nbytes, skip_reason=reason)
    fill_for_timing(x, env.rank)

    def collective() -> None:
        all_reduce(x, group=group)

    progress.at("warm-up", index, dtype, nbytes, size_index)
    _synchronize(device)
    start = time.perf_counter()
    for _ in range(sweep.warmup):
        collective()
    _synchronize(device)
    per_op = _agreed_max([(time.perf_counter() - start) / sweep.warmup])[0]
    iters = max(1, min(sweep.max_iters, math.ceil(sweep.min_sample_s / per_op) if per_op > 0 else sweep.max_iters))

    progress.at("untimed collective", index, dtype, nbytes, size_index)
    collective()
    _synchronize(device)
    progress.at("barrier", index, dtype, nbytes, size_index)
    dist.barrier()
    progress.at("timed loops", index, dtype, nbytes, size_index)
    # Events on CUDA (NCCL: a spin kernel holds the stream while the loop is enqueued, so the
    # enqueue stays out of the events); Gloo on CUDA blocks the host per collective, so no spin.
    spin = sweep.backend == "nccl"
    timer = Timer(collective, device, warmup=0, samples=sweep.samples, ops_per_sample=iters, spin=spin)
    timer.agree_spin = lambda seconds: _agreed_max([seconds])[0]  # one spin length on every rank
    measurement = timer.measure()
    samples = _agreed_max(list(measurement.samples))  # per loop: the slowest rank's time

    progress.at("check", index, dtype, nbytes, size_index)
    fill_for_check(x, env.rank, env.world_size)
    collective()
    _synchronize(device)
    wrong = _agreed_sum(count_wrong(x, env.world_size))
    return SizeResult(dtype, nbytes, tuple(samples), iters, measurement.clock, wrong)


def sweep_skip_reason(sweep: Sweep, local_world_size: int) -> str | None:
    """Why this machine cannot run ``sweep`` with ``local_world_size`` ranks on it; None when it can."""
    if sweep.device == "cpu":
        return None
    reason = cuda_unavailable_reason()
    if reason:
        return f"{sweep.backend} on CUDA tensors needs a GPU: {reason}"
    gpus = torch.cuda.device_count()
    if sweep.backend == "nccl" and gpus < local_world_size:
        return f"NCCL refuses two ranks on one GPU: {local_world_size} ranks on this node but {gpus} GPU(s) visible"
    return None


def _device(sweep: Sweep, env: RankEnv) -> torch.device:
    if sweep.device == "cpu":
        return torch.device("cpu")
    # NCCL: one GPU per rank (checked above); Gloo may share a GPU between ranks.
    return torch.device("cuda", env.local_rank % torch.cuda.device_count())


def _allocate(sweep: Sweep, env: RankEnv, device: torch.device, dtype: str, nbytes: int):
    """The buffer, or None and why it does not fit (checked on every rank, agreed after)."""
    # Host: Gloo's buffer (or staging copy) and its scratch, plus the check's comparison, for
    # every rank of this node. Device: the buffer, NCCL's scratch and the comparison.
    try:
        if sweep.device == "cuda":
            per_gpu = math.ceil(env.local_world_size / torch.cuda.device_count())
            require_memory(device, 2 * nbytes * (1 if sweep.backend == "nccl" else per_gpu), f"{nbytes} B")
        if sweep.backend == "gloo":
            require_memory(torch.device("cpu"), 3 * nbytes * env.local_world_size, f"{nbytes} B on every local rank")
        return torch.empty(nbytes // ITEMSIZE[dtype], dtype=DTYPES[dtype], device=device), None
    except CaseSkipped as skip:
        return None, skip.reason
    except torch.OutOfMemoryError as error:
        return None, f"out of memory allocating {nbytes} B on {device}: {str(error).splitlines()[0]}"


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _gather(value: Any) -> list[Any]:
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered


def _agreed_reason(reason: str | None) -> str | None:
    """Skip on every rank when any rank must: the first rank's reason, naming it when not rank 0."""
    for rank, text in enumerate(_gather(reason)):
        if text:
            return text if rank == 0 else f"rank {rank}: {text}"
    return None


def _agreed_max(values: list[float]) -> list[float]:
    tensor = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return tensor.tolist()


def _agreed_sum(value: int) -> int:
    tensor = torch.tensor([value], dtype=torch.int64)
    dist.all_reduce(tensor)
    return int(tensor.item())
