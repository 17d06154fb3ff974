"""all_gather: every rank contributes one chunk; every rank ends with all n chunks in rank order.

Size: the gathered array, ``recvcount = n x sendcount`` (nccl-tests' all_gather_perf). busbw =
algbw x (n-1)/n: each rank receives the n-1 chunks it does not hold. In place, the chunk sent is
the rank's own slice of the output.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from gpubench.suites.collectives import case
from gpubench.suites.collectives.data import pattern

NAME = "all_gather"
SUITE = "all_gather"
ROOT = None
SPLITS = True
PLACEMENTS = (False, True)
# torch 2.10 renamed all_gather_into_tensor (kept as a deprecated alias)
_ALL_GATHER = getattr(dist, "all_gather_single", None) or dist.all_gather_into_tensor


def busbw_factor(world_size: int) -> float:
    return (world_size - 1) / world_size


def buffer_counts(count: int, world_size: int) -> tuple[int, int]:
    return count // world_size, count


def fill_check(send: torch.Tensor, rank: int, world_size: int) -> None:
    send.copy_(pattern(rank, send.numel(), send.numel(), send.dtype, send.device))


def expected(rank: int, world_size: int, count: int, device: torch.device) -> torch.Tensor:
    return pattern(0, count, count // world_size, torch.float32, device)


def summands(world_size: int) -> int:
    return 1


def run(send: torch.Tensor, recv: torch.Tensor, group) -> None:
    _ALL_GATHER(recv, send, group=group)


def configs(profile: str, world_sizes: tuple[int, ...] | None = None) -> list[case.CollectiveConfig]:
    return case.configs(NAME, profile, world_sizes)


def measure(config: case.CollectiveConfig, *, fresh: bool = False):
    return case.measure(config, fresh=fresh)
