"""all_to_all: chunk d of rank s's array goes to rank d, into chunk s (nccl-tests' alltoall_perf).

Size: one rank's array (``n`` chunks). busbw = algbw x (n-1)/n: each rank sends and receives the
n-1 chunks that are not its own. Out-of-place only: ``all_to_all_single`` needs distinct input
and output tensors.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from gpubench.suites.collectives import case
from gpubench.suites.collectives.data import pattern

NAME = "all_to_all"
SUITE = "all_to_all"
ROOT = None
SPLITS = True
PLACEMENTS = (False,)  # all_to_all_single reads its input while it writes its output


def busbw_factor(world_size: int) -> float:
    return (world_size - 1) / world_size


def buffer_counts(count: int, world_size: int) -> tuple[int, int]:
    return count, count


def fill_check(send: torch.Tensor, rank: int, world_size: int) -> None:
    # chunk d (bound for rank d) is pattern block rank*n + d
    send.copy_(pattern(rank * world_size, send.numel(), send.numel() // world_size, send.dtype, send.device))


def expected(rank: int, world_size: int, count: int, device: torch.device) -> torch.Tensor:
    chunk = count // world_size  # chunk s comes from rank s: its block s*n + rank
    parts = [pattern(source * world_size + rank, chunk, chunk, torch.float32, device) for source in range(world_size)]
    return torch.cat(parts)


def summands(world_size: int) -> int:
    return 1


def run(send: torch.Tensor, recv: torch.Tensor, group) -> None:
    dist.all_to_all_single(recv, send, group=group)


def configs(profile: str, world_sizes: tuple[int, ...] | None = None) -> list[case.CollectiveConfig]:
    return case.configs(NAME, profile, world_sizes)


def measure(config: case.CollectiveConfig, *, fresh: bool = False):
    return case.measure(config, fresh=fresh)
