"""The data AllReduce runs on, and the untimed check that it reduced right (nccl-tests' ``#wrong``).

Timed data: random values in [1, 2) on every rank, never zeros. In place, each collective
multiplies them by ``n``; they only grow (to inf at worst), which costs nothing on GPU or x86
adders: only subnormals are slow, and growing positive values never become one.

Check data, rank ``r`` of ``n``: 1 everywhere, plus ``r + 1`` at the elements ``i`` with
``i mod n == r``. Ranks hold distinct values; the sum must be ``n + (i mod n) + 1`` at element
``i``. A rank left out, a rank counted twice, MAX instead of SUM, a chunk misplaced: each changes
some of those values. Every partial sum, in any order (ring, tree, NVLS), is an integer of at most
``2n``, which the dtype holds exactly up to 2^24 (float32) or 2^8 (bfloat16): the result must be
bit-exact. Beyond that (bfloat16 on more than 128 ranks) the check allows a relative error of
n x 2^-8 (the worst-case rounding of n additions) and so only catches errors larger than that;
``check_is_exact`` says which applies.
"""

from __future__ import annotations

import torch

_EXACT_INTEGERS = {torch.float32: 2**24, torch.bfloat16: 2**8}


def fill_for_timing(x: torch.Tensor, rank: int) -> None:
    generator = torch.Generator(device=x.device).manual_seed(1000 + rank)
    x.uniform_(1.0, 2.0, generator=generator)


def fill_for_check(x: torch.Tensor, rank: int, world_size: int) -> None:
    x.fill_(1)
    x[rank::world_size] += rank + 1


def expected_row(world_size: int) -> list[float]:
    """The reduced value at element ``i`` is ``expected_row(n)[i % n]``."""
    return [world_size + j + 1.0 for j in range(world_size)]


def check_is_exact(world_size: int, dtype: torch.dtype) -> bool:
    return 2 * world_size <= _EXACT_INTEGERS[dtype]


def count_wrong(x: torch.Tensor, world_size: int) -> int:
    """How many elements of the reduced ``x`` differ from the sum of every rank's check data."""
    expected = torch.tensor(expected_row(world_size), dtype=torch.float64, device=x.device)
    full = x.numel() // world_size * world_size
    body, tail = x[:full].view(-1, world_size), x[full:]
    if check_is_exact(world_size, x.dtype):
        exact = expected.to(x.dtype)  # small integers: the cast is exact
        return int((body != exact).sum()) + int((tail != exact[: tail.numel()]).sum())
    tolerance = (expected * world_size * 2**-8).float()
    expected = expected.float()
    # "not within" rather than "beyond": NaN compares false both ways and must count as wrong.
    wrong = ~((body.float() - expected).abs() <= tolerance)
    tail_wrong = ~((tail.float() - expected[: tail.numel()]).abs() <= tolerance[: tail.numel()])
    return int(wrong.sum()) + int(tail_wrong.sum())
