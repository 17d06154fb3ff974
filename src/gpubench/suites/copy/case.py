"""Copy bandwidth: host<->device, device<->device, both directions at once, and a host baseline.

The copy suite's configs and ``measure``: buffers allocated and pinned before timing, random data,
each destination compared with its source after timing, the PCIe link read during the copies.
Method and units: docs/copy.md.
``prepare`` builds a case's buffers once (verify reuses them every round); the link is polled during
the timed loop and its highest reading kept; a bidirectional copy's loop is sized by its
``BIDIR_COMMANDS`` stream commands; ``time_per_copy_us`` is a pipelined time per copy.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

import torch

from gpubench.measure.devices import (
    cpu_threads,
    pcie_metrics,
    polled_pcie_link,
    require_cuda,
    require_memory,
    synchronize,
)
from gpubench.measure.result import CaseResult, CaseSkipped, Scalar, VerificationError
from gpubench.measure.timing import COMMANDS_PER_OP, Timer
from gpubench.suites.profiles import check_profile, powers_of_two

SUITE = "copy"
DIRECTIONS = ("h2d", "d2h", "d2d", "bidir", "h2h")
HOST_MEMORY = ("pinned", "pageable")
# The host baseline copies on one thread, as the driver's pageable staging copy does; a
# multi-threaded copy_ on a busy machine also stalls whenever one of its threads is descheduled.
HOST_BASELINE_THREADS = 1
LINK_DIRECTIONS = ("h2d", "d2h", "bidir")
# Stream commands of one bidirectional copy: two stream waits on the main stream's event and two
# back (an event record and a wait each), and two pinned copies, each with its event record.
BIDIR_COMMANDS = 12


@dataclass(frozen=True)
class CopyConfig:
    """One copy case. ``host_memory`` is ``device`` for d2d, where no host memory takes part."""

    direction: str
    nbytes: int
    host_memory: str = "pinned"
    device_index: int = 0
    samples: int = 15
    warmup: int = 3

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"unknown copy direction {self.direction!r}; expected one of {DIRECTIONS}")
        allowed = {"d2d": ("device",), "bidir": ("pinned",)}.get(self.direction, HOST_MEMORY)
        if self.host_memory not in allowed:
            raise ValueError(f"host_memory {self.host_memory!r} does not apply to {self.direction}; expected {allowed}")
        if self.nbytes < 1:
            raise ValueError(f"nbytes must be positive, got {self.nbytes}")

    def params(self) -> dict[str, Scalar]:
        return {"direction": self.direction, "host_memory": self.host_memory, "bytes": self.nbytes}


@dataclass
class Prepared:
    """A copy case with its buffers built (random data, pinned where asked): time it as often as wanted."""

    config: CopyConfig
    device: torch.device
    copy: Callable[[], None]
    check: Callable[[], None]

    def measure(self) -> CaseResult:
        """Time the copy (the link polled meanwhile), verify the data arrived, derive GB/s and % of PCIe."""
        config = self.config
        commands = BIDIR_COMMANDS if config.direction == "bidir" else COMMANDS_PER_OP
        timer = Timer(
            self.copy,
            device=self.device,
            warmup=config.warmup,
            samples=config.samples,
            spin=uses_spin(config),
            commands_per_op=commands,
        )
        polling = polled_pcie_link(self.device) if config.direction in LINK_DIRECTIONS else nullcontext(None)
        with cpu_threads(HOST_BASELINE_THREADS if config.direction == "h2h" else None), polling as poller:
            measurement = timer.measure()
        self.check()
        gbps = config.nbytes / measurement.median / 1e9
        metrics = {"gbps": gbps, "time_per_copy_us": measurement.median * 1e6}
        info = {"host_threads": HOST_BASELINE_THREADS} if config.direction == "h2h" else timer.report.info()
        if poller is not None:
            metrics.update(pcie_metrics(poller.link, gbps))
            info["pcie_link_polls"] = poller.polls
        return CaseResult(SUITE, config.params(), measurement, metrics, info)


def prepare(config: CopyConfig) -> Prepared:
    """The case's device, buffers, copy and check, built once (the random fill takes seconds at 256 MiB)."""
    device = torch.device("cpu") if config.direction == "h2h" else require_cuda(config.device_index)
    copy, check = _build(config, device)
    return Prepared(config, device, copy, check)


def measure(config: CopyConfig) -> CaseResult:
    """Build the case's buffers, time the copy, verify the data arrived, and derive GB/s (and % of PCIe)."""
    return prepare(config).measure()


def uses_spin(config: CopyConfig) -> bool:
    """Whether the copy is timed behind the spin kernel: not when pageable memory blocks the host."""
    return config.host_memory != "pageable"


def _random_bytes(nbytes: int, device: torch.device | str = "cpu") -> torch.Tensor:
    # Never time zeros: compressed or zero-page memory can make them look faster than data.
    generator = torch.Generator().manual_seed(nbytes)
    return torch.randint(0, 256, (nbytes,), dtype=torch.uint8, generator=generator).to(device)


def _host_buffer(source: torch.Tensor | None, nbytes: int, memory: str) -> torch.Tensor:
    buffer = source.clone() if source is not None else torch.empty(nbytes, dtype=torch.uint8)
    if memory == "pinned":
        if not torch.cuda.is_available():
            raise CaseSkipped(f"pinned host memory needs CUDA; torch {torch.__version__} has none here")
        buffer = buffer.pin_memory()
        if not buffer.is_pinned():
            raise VerificationError(f"a pinned host buffer of {nbytes} B does not report is_pinned()")
    return buffer


def _build(config: CopyConfig, device: torch.device) -> tuple[Callable[[], None], Callable[[], None]]:
    """The copy to time and the check to run afterwards."""
    n = config.nbytes
    direction = config.direction
    if direction != "h2h":
        on_device = {"h2d": n, "d2h": n, "d2d": 2 * n, "bidir": 2 * n}[direction]
        require_memory(device, on_device, f"{direction} of {n} B")
    on_host = {"h2d": n, "d2h": n, "d2d": 0, "bidir": 2 * n, "h2h": 2 * n}[direction]
    require_memory(torch.device("cpu"), on_host, f"{direction} of {n} B")

    expected = _random_bytes(n)
    if direction == "h2h":
        src = _host_buffer(expected, n, config.host_memory)
        dst = _host_buffer(None, n, config.host_memory)
        return (lambda: dst.copy_(src)), (lambda: _verify(dst, expected, "h2h"))
    blocking = config.host_memory == "pageable"
    if direction == "h2d":
        src = _host_buffer(expected, n, config.host_memory)
        dst = torch.empty(n, dtype=torch.uint8, device=device)
        return (lambda: dst.copy_(src, non_blocking=not blocking)), (lambda: _verify(dst, expected, "h2d"))
    if direction == "d2h":
        src = expected.to(device)
        dst = _host_buffer(None, n, config.host_memory)
        return (lambda: dst.copy_(src, non_blocking=not blocking)), (lambda: _verify(dst, expected, "d2h"))
    if direction == "d2d":
        src = expected.to(device)
        dst = torch.empty_like(src)
        return (lambda: dst.copy_(src)), (lambda: _verify(dst, expected, "d2d"))
    return _bidirectional(config, device, expected)


def _bidirectional(config: CopyConfig, device: torch.device, expected: torch.Tensor):
    n = config.nbytes
    host_src = _host_buffer(expected, n, config.host_memory)
    host_dst = _host_buffer(None, n, config.host_memory)
    dev_src = expected.flip(0).to(device)
    dev_dst = torch.empty(n, dtype=torch.uint8, device=device)
    up, down = torch.cuda.Stream(device), torch.cuda.Stream(device)

    def copy() -> None:
        main = torch.cuda.current_stream(device)
        up.wait_stream(main)
        down.wait_stream(main)
        with torch.cuda.stream(up):
            dev_dst.copy_(host_src, non_blocking=True)
        with torch.cuda.stream(down):
            host_dst.copy_(dev_src, non_blocking=True)
        main.wait_stream(up)
        main.wait_stream(down)

    def check() -> None:
        synchronize(device)
        _verify(dev_dst, expected, "bidir h2d")
        _verify(host_dst, expected.flip(0), "bidir d2h")

    return copy, check


def _verify(received: torch.Tensor, expected: torch.Tensor, what: str) -> None:
    synchronize(received.device)
    if not torch.equal(received.cpu(), expected):
        mismatched = int((received.cpu() != expected).sum())
        raise VerificationError(f"{what} copy of {expected.numel()} B: {mismatched} bytes differ from the source")


KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
QUICK_SIZES = (4 * KIB, 64 * KIB, 1 * MIB, 16 * MIB, 256 * MIB)


def configs(profile: str) -> list[CopyConfig]:
    """Every copy case of a profile: GPU directions for both host memory kinds, and the host baseline.

    ``quick`` takes five sizes from 4 KiB to 256 MiB; ``full`` every power of two to 1 GiB.
    """
    sizes = QUICK_SIZES if check_profile(profile) == "quick" else tuple(powers_of_two(4 * KIB, GIB))
    cases = []
    for direction in ("h2d", "d2h"):
        cases += [CopyConfig(direction, size, memory) for memory in HOST_MEMORY for size in sizes]
    cases += [CopyConfig("bidir", size, "pinned") for size in sizes]
    cases += [CopyConfig("d2d", size, "device") for size in sizes]
    cases += [CopyConfig("h2h", size, "pageable") for size in sizes]
    return cases
