"""What every rank runs: each sweep's sizes, timed and checked, for whichever collective it names.

The harness knows nothing of any one collective: a collective module (all_reduce.py, ...) gives
the buffer sizes, the check data and its expected result, the call and the bus-bandwidth factor
(see docs/collectives.md). Ranks find each other through the environment torchrun sets (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``...); the local launcher sets the
same variables, so both paths run this very code. A Gloo process group (the default group)
carries the bookkeeping (agreeing on skips and loop lengths, combining times) and the Gloo
measurements; NCCL gets its own group. Every decision that changes how many collectives run is
agreed across ranks first, so no rank waits on a collective the others never call. Every group
has a timeout: a rank that stops answering ends the run instead of hanging it, and is named.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType
from typing import Any

import torch
import torch.distributed as dist

from gpubench.machine.fingerprint import cuda_unavailable_reason
from gpubench.measure import progress_events
from gpubench.measure.devices import require_memory
from gpubench.measure.result import CaseSkipped
from gpubench.measure.timing import QUEUE_SAFE_COMMANDS, Timer
from gpubench.measure.workers import WorkerError
from gpubench.suites.collectives import links
from gpubench.suites.collectives.data import count_wrong, fill_for_timing
from gpubench.suites.collectives.progress import FAILED, FINISHED, PEER_LOST, STARTED, Progress
from gpubench.suites.collectives.spec import ITEMSIZE, SizeResult, Sweep, SweepOutcome, collective, whole_count

# (send, recv, group) -> None: stands in for a collective's ``run`` (tests pass broken ones).
Call = Callable[[torch.Tensor, torch.Tensor, Any], None]
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


class RankFailure(WorkerError):
    """A rank's collective (or its setup) failed; the message says where, and who stopped answering."""


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


def run_rank(
    sweeps: Sequence[Sweep],
    *,
    timeout_s: float,
    shared_progress: Any = None,
    call: Call | None = None,
) -> list[SweepOutcome] | None:
    """Run every sweep on this rank; rank 0 returns the outcomes, the other ranks None."""
    env = RankEnv.from_environ()
    for sweep in sweeps:
        if sweep.world_size != env.world_size:
            raise ValueError(f"sweep for {sweep.world_size} rank(s) launched with WORLD_SIZE={env.world_size}")
    progress = Progress(env.rank, env.world_size, sweeps, shared_progress)
    progress.state(STARTED)
    try:
        outcomes = _run_all(sweeps, env, timedelta(seconds=timeout_s), progress, call)
        progress.state(FINISHED)
    except Exception as error:
        progress.state(FAILED)
        first_line = (str(error).strip().splitlines() or [""])[0]
        culprits = progress.silent_peers() if PEER_LOST.search(str(error)) else ""
        raise RankFailure(f"failed during {progress.where}: {type(error).__name__}: {first_line}{culprits}") from error
    finally:
        _leave(progress)
    return outcomes if env.rank == 0 else None


def _run_all(sweeps, env: RankEnv, timeout: timedelta, progress: Progress, call: Call | None):
    progress.at("setup", 0)
    dist.init_process_group("gloo", init_method="env://", rank=env.rank, world_size=env.world_size, timeout=timeout)
    progress.attach(_default_store())
    hosts = _gather(socket.gethostname())
    nodes = env.nodes or len(set(hosts))
    return [
        _run_sweep(index, sweep, env, len(set(hosts)), nodes, timeout, progress, call)
        for index, sweep in enumerate(sweeps)
    ]


def _leave(progress: Progress) -> None:
    if dist.is_initialized():
        progress.store = None  # the store goes with the group
        dist.destroy_process_group()


def _default_store() -> Any:
    """The default group's key-value store (torchrun's or rank 0's TCPStore), or None."""
    try:
        return dist.distributed_c10d._get_default_store()
    except Exception:
        return None


def _run_sweep(index, sweep: Sweep, env: RankEnv, hosts: int, nodes: int, timeout, progress, call):
    progress.at("setup", index)
    reason = _agreed_reason(sweep_skip_reason(sweep, env.local_world_size))
    if reason:
        return SweepOutcome(sweep, nodes=nodes, hosts=hosts, skip_reason=reason)
    module = collective(sweep.collective)
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
                for in_place in sweep.placements or module.PLACEMENTS:
                    where = (index, dtype, nbytes, size_index)
                    run = call or module.run
                    results.append(_run_size(sweep, module, env, device, group, in_place, where, progress, run))
                    if env.rank == 0:  # between sizes, after the check: never inside a timed loop
                        _size_done(sweep, module, len(results), dtype, nbytes)
        name, peak = links.link_peak(sweep, device, nodes) if env.rank == 0 else (None, None)
    finally:
        if group is not None:
            dist.destroy_process_group(group)
    return SweepOutcome(sweep, nodes, hosts, tuple(results), link_name=name, link_peak_gbps=peak)


def _run_size(sweep, module: ModuleType, env, device, group, in_place: bool, where, progress, run) -> SizeResult:
    """nccl-tests' order: warm-up, one untimed collective, barrier, timed loops; then the check."""
    index, dtype, nbytes, size_index = where
    n = env.world_size
    count = whole_count(nbytes, ITEMSIZE[dtype], n, module.SPLITS)
    skipped = SizeResult(dtype, nbytes, in_place, count)
    if in_place not in module.PLACEMENTS:
        return _skip(skipped, f"{module.NAME} has no {_placement(in_place)} form in torch.distributed")
    if count == 0:
        reason = f"{nbytes} B gives each of the {n} ranks {module.NAME} splits it among under 16 B of {dtype}"
        return _skip(skipped, reason)
    progress.at("allocation", index, dtype, nbytes, size_index)
    buffers, reason = _allocate(sweep, module, env, device, dtype, count, in_place)
    reason = _agreed_reason(reason)
    if reason:  # every rank skips (the buffers of those that got one are freed on return)
        return _skip(skipped, reason)
    send, recv, distinct = buffers
    for buffer in distinct:
        fill_for_timing(buffer, env.rank)

    def one() -> None:
        run(send, recv, group)

    progress.at("probe", index, dtype, nbytes, size_index)
    reason = _agreed_reason(_refusal(one, device))
    if reason:
        return _skip(skipped, f"{sweep.backend} refuses {module.NAME} on {sweep.device} tensors: {reason}")

    progress.at("warm-up", index, dtype, nbytes, size_index)
    _synchronize(device)
    start = time.perf_counter()
    for _ in range(sweep.warmup):
        one()
    _synchronize(device)
    per_op = _agreed_max([(time.perf_counter() - start) / sweep.warmup])[0]
    iters = loop_iters(sweep, per_op)

    progress.at("untimed collective", index, dtype, nbytes, size_index)
    one()
    _synchronize(device)
    progress.at("barrier", index, dtype, nbytes, size_index)
    dist.barrier()
    progress.at("timed loops", index, dtype, nbytes, size_index)
    # Events on CUDA (NCCL: a spin kernel holds the stream while the loop is enqueued, so the
    # enqueue stays out of the events); Gloo on CUDA blocks the host per collective, so no spin.
    spin = sweep.backend == "nccl"
    timer = Timer(one, device, warmup=0, samples=sweep.samples, ops_per_sample=iters, spin=spin)
    timer.agree_spin = lambda seconds: _agreed_max([seconds])[0]  # one spin length on every rank
    measurement = timer.measure()
    slowest, mean = combine_across_ranks(list(measurement.samples))

    progress.at("check", index, dtype, nbytes, size_index)
    recv.fill_(float("nan"))  # what the collective does not write stays wrong
    module.fill_check(send, env.rank, n)
    one()
    _synchronize(device)
    expected = module.expected(env.rank, n, count, device)
    wrong = 0 if expected is None else count_wrong(recv, expected, module.summands(n))
    wrong = _agreed_sum(wrong)
    return SizeResult(dtype, nbytes, in_place, count, tuple(slowest), tuple(mean), iters, measurement.clock, wrong)


def _size_done(sweep: Sweep, module: ModuleType, done: int, dtype: str, nbytes: int) -> None:
    """Tell ``gpubench run``'s display (if any) how far this sweep is; rank 0 only."""
    total = len(sweep.dtypes) * len(sweep.sizes) * len(sweep.placements or module.PLACEMENTS)
    text = f"{sweep.describe()}: size {done}/{total} ({nbytes} B {dtype})"
    progress_events.emit("step", suite=module.SUITE, text=text)


# Stream commands one NCCL collective issues through torch: an event record on the caller's stream,
# a wait on NCCL's stream, the kernel, and the work's end event.
NCCL_COMMANDS = 4


def loop_iters(sweep: Sweep, per_op: float) -> int:
    """Collectives per timed loop: enough for ``min_sample_s`` at ``per_op`` s each, within
    ``[min_iters, max_iters]``; a loop enqueued behind the spin (NCCL) also holds at most
    ``QUEUE_SAFE_COMMANDS`` stream commands, or the launch queue fills and the wait is timed.
    The same ``per_op`` (agreed across ranks) gives every rank the same length."""
    wanted = math.ceil(sweep.min_sample_s / per_op) if per_op > 0 else sweep.max_iters
    ceiling = sweep.max_iters
    if sweep.backend == "nccl":
        ceiling = min(ceiling, max(sweep.min_iters, QUEUE_SAFE_COMMANDS // NCCL_COMMANDS))
    return max(sweep.min_iters, min(ceiling, wanted))


def combine_across_ranks(samples: list[float]) -> tuple[list[float], list[float]]:
    """Per timed loop: (the slowest rank's time, the ranks' mean time). Every rank must call it.

    The collective is over when its slowest rank is; nccl-tests averages the ranks by default.
    """
    slowest = _agreed_max(samples)
    total = torch.tensor(samples, dtype=torch.float64)
    dist.all_reduce(total)
    return slowest, (total / dist.get_world_size()).tolist()


def sweep_skip_reason(sweep: Sweep, local_world_size: int) -> str | None:
    """Why this machine cannot run ``sweep`` meaningfully; None when it can."""
    if sweep.world_size < 2:
        return (
            f"{sweep.backend} with one rank measures nothing: a collective on a single rank moves no data "
            "(NCCL's returns at once) and busbw is 0 or meaningless; run 2 ranks or more"
        )
    if sweep.device == "cpu":
        return None
    reason = cuda_unavailable_reason()
    if reason:
        return f"{sweep.backend} on CUDA tensors needs a GPU: {reason}"
    gpus = torch.cuda.device_count()
    if sweep.backend == "nccl" and gpus < local_world_size:
        return f"NCCL refuses two ranks on one GPU: {local_world_size} ranks on this node but {gpus} GPU(s) visible"
    return None


def _skip(result: SizeResult, reason: str) -> SizeResult:
    return SizeResult(result.dtype, result.nbytes, result.in_place, result.count, skip_reason=reason)


def _placement(in_place: bool) -> str:
    return "in-place" if in_place else "out-of-place"


def _refusal(one: Callable[[], None], device: torch.device) -> str | None:
    """The backend's own words when it refuses the collective at once (Gloo lacks some on some devices)."""
    try:
        one()
        _synchronize(device)
    except (RuntimeError, NotImplementedError, ValueError) as error:
        if PEER_LOST.search(str(error)):
            raise  # not a refusal: a peer stopped answering
        return (str(error).strip().splitlines() or [type(error).__name__])[0]
    return None


def _device(sweep: Sweep, env: RankEnv) -> torch.device:
    if sweep.device == "cpu":
        return torch.device("cpu")
    # NCCL: one GPU per rank (checked above); Gloo may share a GPU between ranks.
    return torch.device("cuda", env.local_rank % torch.cuda.device_count())


def _allocate(sweep, module, env: RankEnv, device: torch.device, dtype: str, count: int, in_place: bool):
    """((send, recv, distinct buffers), None), or (None, why they do not fit), checked on every rank.

    In place, as nccl-tests lays it out: one buffer, the smaller of send and receive being this
    rank's slice of the larger (all_gather's input, reduce_scatter's output), or the buffer itself.
    """
    send_count, recv_count = module.buffer_counts(count, env.world_size)
    itemsize = ITEMSIZE[dtype]
    elements = max(send_count, recv_count) if in_place else send_count + recv_count
    check = recv_count * 5  # the expected result (float32) and the comparison's mask
    try:
        if sweep.device == "cuda":
            per_gpu = math.ceil(env.local_world_size / torch.cuda.device_count())
            sharing = 1 if sweep.backend == "nccl" else per_gpu
            require_memory(device, (2 * elements * itemsize + check) * sharing, f"{count} {dtype} elements")
        if sweep.backend == "gloo":
            # Gloo's buffers (or its staging copies) and scratch, for every rank of this node.
            host = (2 * elements * itemsize + check) * env.local_world_size
            require_memory(torch.device("cpu"), host, f"{count} {dtype} elements on every local rank")
        return _layout(send_count, recv_count, in_place, env.rank, DTYPES[dtype], device), None
    except CaseSkipped as skip:
        return None, skip.reason
    except torch.OutOfMemoryError as error:
        return None, f"out of memory allocating {count} {dtype} elements on {device}: {str(error).splitlines()[0]}"


def _layout(send_count: int, recv_count: int, in_place: bool, rank: int, dtype: torch.dtype, device: torch.device):
    if not in_place:
        send = torch.empty(send_count, dtype=dtype, device=device)
        recv = torch.empty(recv_count, dtype=dtype, device=device)
        return send, recv, (send, recv)
    buffer = torch.empty(max(send_count, recv_count), dtype=dtype, device=device)
    if send_count < recv_count:
        return buffer[rank * send_count : (rank + 1) * send_count], buffer, (buffer,)
    if recv_count < send_count:
        return buffer, buffer[rank * recv_count : (rank + 1) * recv_count], (buffer,)
    return buffer, buffer, (buffer,)


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
