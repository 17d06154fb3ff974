"""reduce: the SUM of every rank's array, delivered to root 0 (nccl-tests' reduce_perf, ``-r 0``).

Size: the array. busbw = algbw: all of it must reach the root, whose one link is the bottleneck.
torch.distributed's reduce works in place only; only the root's result is defined, so only the
root's is checked. The root is recorded in every row (``root``).
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from gpubench.suites.collectives import case
from gpubench.suites.collectives.data import reduction_fill, reduction_sum

NAME = "reduce"
SUITE = "reduce"
ROOT = 0
SPLITS = False
PLACEMENTS = (True,)  # torch.distributed.reduce has no out-of-place form


def busbw_factor(world_size: int) -> float:
    return 1.0


def buffer_counts(count: int, world_size: int) -> tuple[int, int]:
    return count, count


def fill_check(send: torch.Tensor, rank: int, world_size: int) -> None:
    reduction_fill(send, rank, world_size)


def expected(rank: int, world_size: int, count: int, device: torch.device) -> torch.Tensor | None:
    return reduction_sum(count, world_size, device) if rank == ROOT else None


def summands(world_size: int) -> int:
    return world_size


def run(send: torch.Tensor, recv: torch.Tensor, group) -> None:
    dist.reduce(recv, dst=ROOT, group=group)


def configs(profile: str, world_sizes: tuple[int, ...] | None = None) -> list[case.CollectiveConfig]:
    return case.configs(NAME, profile, world_sizes)


def measure(config: case.CollectiveConfig, *, fresh: bool = False):
    return case.measure(config, fresh=fresh)
