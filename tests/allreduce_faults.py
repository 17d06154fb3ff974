"""Broken collectives for the AllReduce tests, module-level so that spawned ranks can unpickle them.

Each stands in for ``dist.all_reduce`` inside the real sweep (real Gloo ranks, real timing).
With ``GPUBENCH_TEST_PIDS`` set, every rank writes its pid there so a test can check that none
outlives the run.
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


def max_instead_of_sum(tensor, group=None) -> None:
    """A wrong reduction: MAX where SUM was asked for."""
    _count()
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX, group=group)


def rank_1_killed(tensor, group=None) -> None:
    """Rank 1 is killed (SIGKILL) at its third collective, in the middle of the warm-up."""
    if _count() == 3 and dist.get_rank() == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    dist.all_reduce(tensor, group=group)


def rank_1_hangs(tensor, group=None) -> None:
    """Rank 1 stops calling collectives at its third one (and never returns)."""
    if _count() == 3 and dist.get_rank() == 1:
        time.sleep(3600)
    dist.all_reduce(tensor, group=group)
