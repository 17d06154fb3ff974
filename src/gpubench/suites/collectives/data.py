"""The data collectives run on, and the untimed check that they delivered it (nccl-tests' ``#wrong``).

Timed data: random values in [1, 2) on every rank, never zeros. In place, a reduction multiplies
them by ``n`` per call; they only grow (to inf at worst), which costs nothing on GPU or x86 adders:
only subnormals are slow, and growing positive values never become one.

Check data is built so that any misplaced, missing, doubled or wrongly combined piece changes
some element, and every value is a small integer:

- **Reductions** (``reduction_fill``): the whole array is ``chunks`` chunks (one per rank for
  reduce_scatter, else one). Rank ``r`` holds ``c + 1`` in chunk ``c``, plus ``r + 1`` at the
  offsets ``i`` with ``i mod n == r``; the sum is ``n(c + 1) + (i mod n) + 1``. A rank left out
  or counted twice, MAX instead of SUM, a chunk delivered to the wrong rank: each changes some
  of those values.
- **Copies** (``pattern``): block ``b`` of a buffer holds ``1 + (b + i) mod 127`` at offset
  ``i``: a block in the wrong place or shifted by one element differs everywhere.

Every partial sum, in any order (ring, tree, NVLS), is an integer no larger than the result,
which float32 holds exactly up to 2^24 and bfloat16 up to 2^8: then the result must be
bit-exact. Beyond that (bfloat16 on many ranks) the check allows the worst-case rounding of the
additions, ``summands x 2^-8`` relative, and only catches larger errors.
"""

from __future__ import annotations

import torch

_EXACT_INTEGERS = {torch.float32: 2**24, torch.bfloat16: 2**8}
_EPSILON = {torch.float32: 2.0**-24, torch.bfloat16: 2.0**-8}
PATTERN_PERIOD = 127


def fill_for_timing(x: torch.Tensor, rank: int) -> None:
    generator = torch.Generator(device=x.device).manual_seed(1000 + rank)
    x.uniform_(1.0, 2.0, generator=generator)


_BLOCK = 1 << 22  # elements per step: index arithmetic on a 1 GiB buffer must not need GiBs more


def _fill_by_index(out: torch.Tensor, formula) -> torch.Tensor:
    """``out[j] = formula(j)`` for every index ``j``, a block at a time."""
    flat = out.view(-1)
    for start in range(0, flat.numel(), _BLOCK):
        stop = min(flat.numel(), start + _BLOCK)
        flat[start:stop] = formula(torch.arange(start, stop, dtype=torch.int64, device=out.device))
    return out


def reduction_fill(x: torch.Tensor, rank: int, world_size: int, chunk_len: int | None = None) -> None:
    """Rank ``rank``'s check data for a SUM over ``world_size`` ranks, chunks of ``chunk_len`` (default: one)."""
    chunk_len = max(1, chunk_len or x.numel())
    _fill_by_index(x, lambda j: (j // chunk_len + 1) + (rank + 1) * ((j % chunk_len) % world_size == rank))


def reduction_sum(count: int, world_size: int, device, chunk_len: int | None = None, first_chunk: int = 0):
    """``count`` elements of the sum of every rank's ``reduction_fill``, from chunk ``first_chunk`` on (float32)."""
    chunk_len = max(1, chunk_len or count)
    out = torch.empty(count, dtype=torch.float32, device=device)
    return _fill_by_index(
        out, lambda j: world_size * (first_chunk + j // chunk_len + 1) + (j % chunk_len) % world_size + 1
    )


def pattern(first_block: int, count: int, block_len: int, dtype: torch.dtype, device) -> torch.Tensor:
    """``count`` elements of the copy pattern, in blocks of ``block_len``, the first numbered ``first_block``."""
    block_len = max(1, block_len)
    out = torch.empty(count, dtype=dtype, device=device)
    return _fill_by_index(out, lambda j: 1 + (first_block + j // block_len + j % block_len) % PATTERN_PERIOD)


def check_is_exact(largest: float, dtype: torch.dtype) -> bool:
    """Whether every partial result up to ``largest`` is an integer the dtype holds exactly."""
    return largest <= _EXACT_INTEGERS[dtype]


def count_wrong(result: torch.Tensor, expected: torch.Tensor, summands: int) -> int:
    """Elements of ``result`` that differ from ``expected`` (within rounding, when it cannot be exact)."""
    if result.numel() != expected.numel():
        raise ValueError(f"result has {result.numel()} elements, expected {expected.numel()}")
    if result.numel() == 0:
        return 0
    largest = float(expected.float().abs().max())
    if check_is_exact(largest, result.dtype):
        # "not equal" counts NaN as wrong too (NaN != anything).
        return int((result != expected.to(result.dtype)).sum())
    wanted = expected.float()
    tolerance = wanted.abs() * summands * _EPSILON[result.dtype]
    # "not within" rather than "beyond": NaN compares false both ways and must count as wrong.
    return int((~((result.float() - wanted).abs() <= tolerance)).sum())
