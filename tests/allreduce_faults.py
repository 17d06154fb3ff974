"""Broken collectives for the collective tests, module-level so that spawned ranks can unpickle them.

Each stands in for a collective module's ``run(send, recv, group)`` inside the real sweep (real
Gloo ranks, real timing). With ``GPUBENCH_TEST_PIDS`` set, every rank writes its pid there so a
test can check that none outlives the run.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import torch.distributed as dist

_calls = 0


def _count() -> int:
    global _calls
    _calls += 1
    if _calls == 1 and os.environ.get("GPUBENCH_TEST_PIDS"):
        Path(os.environ["GPUBENCH_TEST_PIDS"], f"{os.getpid()}.pid").write_text(str(os.getpid()))
    return _calls


def max_instead_of_sum(send, recv, group=None) -> None:
    """A wrong reduction: MAX where SUM was asked for."""
    _count()
    dist.all_reduce(recv, op=dist.ReduceOp.MAX, group=group)


def gathered_in_reverse(send, recv, group=None) -> None:
    """A wrong all_gather: the chunks land in reverse rank order."""
    _count()
    parts = list(recv.chunk(dist.get_world_size(group)))
    dist.all_gather(parts[::-1], send.clone(), group=group)


def refused_by_gloo(send, recv, group=None) -> None:
    """A reduction Gloo itself refuses (PREMUL_SUM is NCCL's), raising Gloo's own error."""
    dist.all_reduce(recv, op=dist._make_nccl_premul_sum(1.0), group=group)


def rank_1_killed(send, recv, group=None) -> None:
    """Rank 1 is killed (SIGKILL) at its third collective, in the middle of the warm-up."""
    if _count() == 3 and dist.get_rank() == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    dist.all_reduce(recv, group=group)


def rank_1_hangs(send, recv, group=None) -> None:
    """Rank 1 stops calling collectives at its third one (and never returns)."""
    if _count() == 3 and dist.get_rank() == 1:
        time.sleep(3600)
    dist.all_reduce(recv, group=group)


def combine_with_one_rank_later(delay_s: float):
    """Combine three loops' times through the harness, rank 1's each ``delay_s`` longer than the others'."""
    from gpubench.suites.collectives.harness import combine_across_ranks

    dist.init_process_group("gloo", init_method="env://")
    try:
        base = [0.010, 0.020, 0.030]
        mine = [t + delay_s for t in base] if dist.get_rank() == 1 else base
        return combine_across_ranks(mine)
    finally:
        dist.destroy_process_group()
