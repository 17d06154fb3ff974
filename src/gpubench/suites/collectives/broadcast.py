"""broadcast: root 0's array copied to every rank (nccl-tests' broadcast_perf, ``-r 0``).

Size: the array. busbw = algbw: all of it must leave the root, so the root's one link is the
bottleneck whatever n is. torch.distributed's broadcast works in place only. The root is
recorded in every row (``root``).
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from gpubench.suites.collectives import case
from gpubench.suites.collectives.data import pattern

NAME = "broadcast"
SUITE = "broadcast"
ROOT = 0
SPLITS = False
PLACEMENTS = (True,)  # torch.distributed.broadcast has no out-of-place form


def busbw_factor(world_size: int) -> float:
    return 1.0


def buffer_counts(count: int, world_size: int) -> tuple[int, int]:
    return count, count


def fill_check(send: torch.Tensor, rank: int, world_size: int) -> None:
    if rank == ROOT:
        send.copy_(pattern(0, send.numel(), send.numel(), send.dtype, send.device))
    else:
        send.zero_()  # the pattern never holds 0: an element the broadcast missed stays wrong


def expected(rank: int, world_size: int, count: int, device: torch.device) -> torch.Tensor:
    return pattern(0, count, count, torch.float32, device)


def summands(world_size: int) -> int:
    return 1


def run(send: torch.Tensor, recv: torch.Tensor, group) -> None:
    dist.broadcast(recv, src=ROOT, group=group)


def configs(profile: str, world_sizes: tuple[int, ...] | None = None) -> list[case.CollectiveConfig]:
    return case.configs(NAME, profile, world_sizes)


def measure(config: case.CollectiveConfig, *, fresh: bool = False):
    return case.measure(config, fresh=fresh)
