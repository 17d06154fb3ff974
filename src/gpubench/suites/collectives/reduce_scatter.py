"""reduce_scatter: the SUM of every rank's array, chunk r of it delivered to rank r.

Size: the array reduced, ``sendcount = n x recvcount`` (nccl-tests' reduce_scatter_perf). busbw =
algbw x (n-1)/n: the addition half of an all_reduce. In place, the chunk received is the rank's
own slice of the input.

Gloo has no reduce_scatter of its own: torch runs an all_reduce of the whole array and keeps this
rank's chunk (``allreduce(inp).chunk(n)[rank]``, pytorch PR 118911), which moves twice what a
reduce_scatter moves. Its rows say so (``GLOO_FALLBACK``, stored as ``algorithm`` and ``note``).
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from gpubench.suites.collectives import case
from gpubench.suites.collectives.data import reduction_fill, reduction_sum

NAME = "reduce_scatter"
SUITE = "reduce_scatter"
ROOT = None
SPLITS = True
PLACEMENTS = (False, True)
# torch 2.10 renamed reduce_scatter_tensor (kept as a deprecated alias)
GLOO_FALLBACK = (
    "allreduce+chunk",
    "Gloo's reduce_scatter is an all_reduce followed by a chunk (pytorch PR 118911): it moves twice a "
    "reduce_scatter's data, so busbw with the (n-1)/n factor is half of what moved",
)
_REDUCE_SCATTER = getattr(dist, "reduce_scatter_single", None) or dist.reduce_scatter_tensor


def busbw_factor(world_size: int) -> float:
    return (world_size - 1) / world_size


def buffer_counts(count: int, world_size: int) -> tuple[int, int]:
    return count, count // world_size


def fill_check(send: torch.Tensor, rank: int, world_size: int) -> None:
    reduction_fill(send, rank, world_size, chunk_len=send.numel() // world_size)


def expected(rank: int, world_size: int, count: int, device: torch.device) -> torch.Tensor:
    chunk = count // world_size
    return reduction_sum(chunk, world_size, device, chunk_len=chunk, first_chunk=rank)


def summands(world_size: int) -> int:
    return world_size


def run(send: torch.Tensor, recv: torch.Tensor, group) -> None:
    _REDUCE_SCATTER(recv, send, group=group)


def configs(profile: str, world_sizes: tuple[int, ...] | None = None) -> list[case.CollectiveConfig]:
    return case.configs(NAME, profile, world_sizes)


def measure(config: case.CollectiveConfig, *, fresh: bool = False):
    return case.measure(config, fresh=fresh)
