"""all_reduce: every rank ends with the SUM of every rank's array (nccl-tests' all_reduce_perf).

Size: the array (send = receive = ``count`` elements). busbw = algbw x 2(n-1)/n: each element
needs n-1 additions and n-1 further copies, over n links. torch.distributed's all_reduce works in
place only. The suite keeps the name it has always had, ``allreduce``, so stored history and
baselines continue.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from gpubench.suites.collectives import case
from gpubench.suites.collectives.data import reduction_fill, reduction_sum

NAME = "all_reduce"
SUITE = "allreduce"
ROOT = None
SPLITS = False
PLACEMENTS = (True,)  # torch.distributed.all_reduce has no out-of-place form


def busbw_factor(world_size: int) -> float:
    return 2 * (world_size - 1) / world_size


def buffer_counts(count: int, world_size: int) -> tuple[int, int]:
    return count, count


def fill_check(send: torch.Tensor, rank: int, world_size: int) -> None:
    reduction_fill(send, rank, world_size)


def expected(rank: int, world_size: int, count: int, device: torch.device) -> torch.Tensor:
    return reduction_sum(count, world_size, device)


def summands(world_size: int) -> int:
    return world_size


def run(send: torch.Tensor, recv: torch.Tensor, group) -> None:
    dist.all_reduce(recv, group=group)


def configs(profile: str, world_sizes: tuple[int, ...] | None = None) -> list[case.CollectiveConfig]:
    return case.configs(NAME, profile, world_sizes)


def measure(config: case.CollectiveConfig, *, fresh: bool = False):
    return case.measure(config, fresh=fresh)
