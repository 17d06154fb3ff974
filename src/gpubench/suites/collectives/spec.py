"""What a collective sweep is, what it brings back, and the sizes and bandwidth it is read by.

A sweep is one (collective, backend, device, world size): every rank runs the same sizes, dtypes
and placements (out-of-place, in-place). Sizes are nccl-tests' ``size``, the whole array in bytes
(the largest buffer: the gathered output of all_gather, the input of reduce_scatter), and
``algbw = bytes / time / 1e9`` (GB/s, 10^9 B/s); each collective module gives the factor that
turns algbw into bus bandwidth. This module imports nothing heavy: the collective modules (which
need torch) are loaded by name, when a rank runs them.
"""

from __future__ import annotations

import importlib
import math
import re
from dataclasses import dataclass
from types import ModuleType

from gpubench.suites.profiles import check_profile, powers_of_two

# nccl-tests' names; the module gpubench.suites.collectives.<name> is the collective's recipe.
COLLECTIVES = ("all_reduce", "all_gather", "reduce_scatter", "broadcast", "reduce", "all_to_all")
TRANSPORTS = ("nccl:cuda", "gloo:cpu", "gloo:cuda")
DEFAULT_TIMEOUT_S = 120.0  # per collective: far above any one collective, even 1 GiB over Gloo
ITEMSIZE = {"float32": 4, "bfloat16": 2}
# nccl-tests aligns each rank's share of a split array to 16 bytes (whole_count).
SHARE_ALIGN_BYTES = 16
KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
# Small enough for CI on two shared cores; 16 MiB is where the Gloo agreement check looks.
QUICK_SIZES = (8, 1 * KIB, 64 * KIB, 1 * MIB, 16 * MIB, 64 * MIB)
QUICK_SIZES_CUDA = (*QUICK_SIZES, 256 * MIB)  # GPU links need larger messages to show their peak
FULL_SIZES = tuple(powers_of_two(8, GIB))


def collective(name: str) -> ModuleType:
    """The module that defines collective ``name`` (see docs/collectives.md, "Add a collective")."""
    if name not in COLLECTIVES:
        raise ValueError(f"unknown collective {name!r}; expected one of {', '.join(COLLECTIVES)}")
    return importlib.import_module(f"gpubench.suites.collectives.{name}")


def algbw_gbps(nbytes: int, seconds: float) -> float:
    """Algorithm bandwidth: the whole array over the time of one collective, in GB/s (1e9 B/s)."""
    return nbytes / seconds / 1e9


def whole_count(nbytes: int, itemsize: int, world_size: int, splits: bool) -> int:
    """Elements of the whole array for a requested size, as nccl-tests rounds it.

    A collective that splits the array among ranks (``splits``) gives each rank a share of
    ``count // world_size`` elements rounded down to a multiple of 16 bytes, as nccl-tests'
    all_gather.cu, reduce_scatter.cu and alltoall.cu do (``(count/nranks) & -(16/eltSize)``);
    the count is n such shares, and may become 0 (under 16 bytes a rank).
    """
    count = nbytes // itemsize
    if not splits:
        return count
    share = count // world_size
    return (share - share % max(1, SHARE_ALIGN_BYTES // itemsize)) * world_size


def default_dtypes(backend: str) -> tuple[str, ...]:
    return ("float32", "bfloat16") if backend == "nccl" else ("float32",)


def profile_sizes(profile: str, device: str) -> tuple[int, ...]:
    if check_profile(profile) == "full":
        return FULL_SIZES
    return QUICK_SIZES_CUDA if device == "cuda" else QUICK_SIZES


@dataclass(frozen=True)
class Sweep:
    """One collective's work for one worker group: every size, dtype and placement.

    Per size: ``warmup`` collectives (timed on the host to agree on the loop length), one untimed
    collective, a barrier, then ``samples`` timed loops of ``iters`` collectives each, where
    ``iters`` makes a loop last at least ``min_sample_s`` and is never below ``min_iters`` (a
    long collective is still timed several at a time) nor above ``max_iters``. ``placements``
    are the in-place flags to run, out-of-place first as nccl-tests prints them; by default every
    placement the collective can express.
    """

    backend: str
    device: str
    world_size: int
    sizes: tuple[int, ...]
    dtypes: tuple[str, ...] = ("float32",)
    collective: str = "all_reduce"
    placements: tuple[bool, ...] | None = None
    warmup: int = 5
    samples: int = 10
    min_sample_s: float = 5e-3
    min_iters: int = 5
    max_iters: int = 1000

    def __post_init__(self) -> None:
        if self.collective not in COLLECTIVES:
            raise ValueError(f"unknown collective {self.collective!r}; expected one of {', '.join(COLLECTIVES)}")
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
        if min(self.warmup, self.samples, self.min_iters) < 1 or self.max_iters < self.min_iters:
            raise ValueError("a sweep needs warmup, samples and min_iters >= 1, and max_iters >= min_iters")
        if not math.isfinite(self.min_sample_s) or self.min_sample_s < 0:
            raise ValueError(f"the shortest timed loop must be finite seconds >= 0, got {self.min_sample_s}")
        if self.placements is not None and not self.placements:
            raise ValueError("a sweep needs at least one placement (in-place or out-of-place)")

    @property
    def transport(self) -> str:
        return f"{self.backend}:{self.device}"

    def describe(self) -> str:
        return f"{self.collective}, {self.backend} on {self.device} tensors, {self.world_size} rank(s)"


@dataclass(frozen=True)
class SizeResult:
    """One size, dtype and placement as rank 0 saw it: the combined samples, or why it was skipped.

    ``samples`` are seconds per collective, one per timed loop, the slowest rank's loop;
    ``mean_samples`` the same loops averaged over the ranks (nccl-tests' default combination).
    """

    dtype: str
    nbytes: int  # the size asked for; the array measured is ``count`` elements
    in_place: bool = True
    count: int = 0  # elements of the whole array (nccl-tests' count column)
    samples: tuple[float, ...] = ()
    mean_samples: tuple[float, ...] = ()
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

    def result(self, dtype: str, nbytes: int, in_place: bool = True) -> SizeResult | None:
        for result in self.results:
            if (result.dtype, result.nbytes, result.in_place) == (dtype, nbytes, in_place):
                return result
        return None


_UNITS = {"": 1, "B": 1, "K": KIB, "KB": KIB, "KIB": KIB, "M": MIB, "MB": MIB, "MIB": MIB, "G": GIB, "GB": GIB}
_UNITS["GIB"] = GIB


def parse_size(text: str) -> int:
    """``8``, ``64K``, ``16M``, ``1G`` (binary units, as nccl-tests' -b/-e) -> bytes."""
    match = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]*)\s*", text)
    if not match or match.group(2).upper() not in _UNITS:
        raise ValueError(f"unreadable size {text!r}; write e.g. 8, 64K, 16M or 1G")
    size = int(match.group(1)) * _UNITS[match.group(2).upper()]
    if size < 1:
        raise ValueError(f"a size must be at least 1 B, got {text!r}")
    return size


def parse_sizes(text: str) -> tuple[int, ...]:
    """``8,64K,16M`` -> bytes, in order, without repeats; an empty list is refused."""
    parts = [part for part in text.split(",") if part.strip()]
    if not parts:
        raise ValueError(f"no size given in {text!r}; write e.g. 8,64K,16M")
    return tuple(dict.fromkeys(parse_size(part) for part in parts))


def parse_list(text: str, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(item.strip() for item in text.split(",") if item.strip()))
    unknown = [item for item in items if item not in allowed]
    if unknown or not items:
        raise ValueError(f"unknown {what} {', '.join(unknown) or repr(text)}; expected some of {', '.join(allowed)}")
    return items
