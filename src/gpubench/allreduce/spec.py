"""What an AllReduce sweep is, what it brings back, and the nccl-tests bandwidth formulas.

A sweep is one (backend, device, world size): every rank runs the same sizes and dtypes, in
place, with ``SUM``. Figures follow nccl-tests: ``algbw = bytes / time / 1e9`` (GB/s, 10^9 B/s)
and ``busbw = algbw x 2(n-1)/n``, the rate each of the ring's links must carry, which makes
busbw comparable with a link's peak whatever ``n`` is. ``time`` is seconds per collective, taken
per timed loop as the maximum across ranks (the collective ends when its slowest rank ends).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gpubench.profiles import check_profile, powers_of_two

TRANSPORTS = ("nccl:cuda", "gloo:cpu", "gloo:cuda")
ITEMSIZE = {"float32": 4, "bfloat16": 2}
KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
# Small enough for CI on two shared cores; 16 MiB is where the Gloo agreement check looks.
QUICK_SIZES = (8, 1 * KIB, 64 * KIB, 1 * MIB, 16 * MIB, 64 * MIB)
QUICK_SIZES_CUDA = (*QUICK_SIZES, 256 * MIB)  # GPU links need larger messages to show their peak
FULL_SIZES = tuple(powers_of_two(8, GIB))
DEFAULT_TIMEOUT_S = 120.0  # per collective: far above any one AllReduce, even 1 GiB over Gloo


def algbw_gbps(nbytes: int, seconds: float) -> float:
    """Algorithm bandwidth: the message size over the time of one collective, in GB/s (1e9 B/s)."""
    return nbytes / seconds / 1e9


def busbw_factor(world_size: int) -> float:
    """nccl-tests' AllReduce factor 2(n-1)/n: each element crosses 2(n-1) of the ring's n links."""
    if world_size < 1:
        raise ValueError(f"world size must be at least 1, got {world_size}")
    return 2 * (world_size - 1) / world_size


def busbw_gbps(nbytes: int, seconds: float, world_size: int) -> float:
    """Bus bandwidth in GB/s: algbw x 2(n-1)/n (0 for one rank: nothing crosses a link)."""
    return algbw_gbps(nbytes, seconds) * busbw_factor(world_size)


def default_dtypes(backend: str) -> tuple[str, ...]:
    return ("float32", "bfloat16") if backend == "nccl" else ("float32",)


def profile_sizes(profile: str, device: str) -> tuple[int, ...]:
    if check_profile(profile) == "full":
        return FULL_SIZES
    return QUICK_SIZES_CUDA if device == "cuda" else QUICK_SIZES


@dataclass(frozen=True)
class Sweep:
    """One worker group's work: every size and dtype, for one backend on one device kind.

    Per size: ``warmup`` collectives (timed on the host to agree on the loop length), one untimed
    collective, a barrier, then ``samples`` timed loops of ``iters`` collectives each, where
    ``iters`` makes a loop last at least ``min_sample_s`` (at most ``max_iters``).
    """

    backend: str
    device: str
    world_size: int
    sizes: tuple[int, ...]
    dtypes: tuple[str, ...] = ("float32",)
    warmup: int = 5
    samples: int = 10
    min_sample_s: float = 5e-3
    max_iters: int = 1000

    def __post_init__(self) -> None:
        if self.transport not in TRANSPORTS:
            raise ValueError(f"unknown transport {self.transport!r}; expected one of {', '.join(TRANSPORTS)}")
        if self.world_size < 1:
            raise ValueError(f"world size must be at least 1, got {self.world_size}")
        if not self.sizes or not self.dtypes:
            raise ValueError("a sweep needs at least one size and one dtype")
        for dtype in self.dtypes:
            if dtype not in ITEMSIZE:
                raise ValueError(f"unknown dtype {dtype!r}; expected one of {', '.join(ITEMSIZE)}")
            for size in self.sizes:
                if size < ITEMSIZE[dtype] or size % ITEMSIZE[dtype]:
                    raise ValueError(f"{size} B is not a whole number of {dtype} elements")
        if self.warmup < 1 or self.samples < 1 or self.max_iters < 1 or self.min_sample_s < 0:
            raise ValueError("a sweep needs warmup >= 1, samples >= 1, max_iters >= 1 and min_sample_s >= 0")

    @property
    def transport(self) -> str:
        return f"{self.backend}:{self.device}"

    def describe(self) -> str:
        return f"{self.backend} on {self.device} tensors, {self.world_size} rank(s)"


@dataclass(frozen=True)
class SizeResult:
    """One size and dtype as rank 0 saw it: the combined samples, or why it was skipped."""

    dtype: str
    nbytes: int
    samples: tuple[float, ...] = ()  # seconds per collective, one per timed loop, max across ranks
    iters: int = 0  # collectives per timed loop
    clock: str = ""
    wrong: int = 0  # elements that came back wrong in the check, summed over ranks
    skip_reason: str | None = None


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep brought back; ``skip_reason`` when it could not run at all."""

    sweep: Sweep
    nodes: int = 1
    hosts: int = 1
    results: tuple[SizeResult, ...] = ()
    skip_reason: str | None = None
    link_name: str | None = None  # the link busbw is measured against, where known
    link_peak_gbps: float | None = None

    def result(self, dtype: str, nbytes: int) -> SizeResult | None:
        for result in self.results:
            if result.dtype == dtype and result.nbytes == nbytes:
                return result
        return None


_UNITS = {"": 1, "B": 1, "K": KIB, "KB": KIB, "KIB": KIB, "M": MIB, "MB": MIB, "MIB": MIB, "G": GIB, "GB": GIB}
_UNITS["GIB"] = GIB


def parse_size(text: str) -> int:
    """``8``, ``64K``, ``16M``, ``1G`` (binary units, as nccl-tests' -b/-e) -> bytes."""
    match = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]*)\s*", text)
    if not match or match.group(2).upper() not in _UNITS:
        raise ValueError(f"unreadable size {text!r}; write e.g. 8, 64K, 16M or 1G")
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


def parse_list(text: str, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(item.strip() for item in text.split(",") if item.strip()))
    unknown = [item for item in items if item not in allowed]
    if unknown or not items:
        raise ValueError(f"unknown {what} {', '.join(unknown) or repr(text)}; expected some of {', '.join(allowed)}")
    return items
