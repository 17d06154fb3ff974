"""The device a case runs on: whether it exists, what it may allocate, waiting for it, its PCIe link.

The link is read while the device works (``polled_pcie_link``: a thread polls NVML during the timed
loop and keeps the highest generation and width), since an idle GPU trains its link down.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

from gpubench.machine.fingerprint import cuda_device_uuid, cuda_unavailable_reason
from gpubench.machine.nvml import Nvml, current_link, device_handle, nvml_session
from gpubench.machine.pcie import pcie_theoretical_gbps
from gpubench.measure.result import CaseSkipped


def require_cuda(device_index: int = 0) -> torch.device:
    """The CUDA device to measure on, or CaseSkipped saying why there is none."""
    reason = cuda_unavailable_reason()
    if reason:
        raise CaseSkipped(reason)
    if device_index >= torch.cuda.device_count():
        raise CaseSkipped(f"cuda:{device_index} does not exist ({torch.cuda.device_count()} GPU(s) visible)")
    return torch.device("cuda", device_index)


@contextmanager
def cpu_threads(threads: int | None) -> Iterator[None]:
    """``torch.set_num_threads(threads)`` inside the block (None: leave it), restored on exit."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def free_host_bytes() -> int:
    """Memory the host can give without swapping: MemAvailable (free pages alone omit the page cache)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def require_memory(device: torch.device, nbytes: int, what: str) -> None:
    """CaseSkipped unless ``nbytes`` (with 10% headroom) fit in ``device``'s free memory."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
    else:
        free = free_host_bytes()
    if nbytes * 1.1 > free:
        raise CaseSkipped(f"{what} needs {nbytes} B but only {free} B are free on {device}")


def synchronize(device: torch.device | str) -> None:
    """Wait for the work queued on ``device``; nothing to wait for on the host."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def nvml_handle(nvml: Nvml, device: torch.device) -> Any:
    """NVML's handle of a CUDA device: by its UUID (CUDA_VISIBLE_DEVICES renumbers CUDA's GPUs,
    not NVML's), by index only when no UUID matches."""
    index = device.index or 0
    return device_handle(nvml, cuda_device_uuid(index), index)


def pcie_link(device: torch.device) -> tuple[int | None, int | None]:
    """Current (generation, width) of ``device``'s PCIe link now: one reading (``polled_pcie_link`` polls)."""
    with nvml_session() as nvml:
        handle = nvml_handle(nvml, device)
        return current_link(nvml, handle) if handle is not None else (None, None)


def pcie_metrics(link: tuple[int | None, int | None], gbps: float) -> dict[str, float]:
    """The link's theoretical one-direction GB/s and the share of it reached; {} when unknown."""
    generation, width = link
    theory = pcie_theoretical_gbps(generation, width)
    if theory is None:
        return {}
    return {
        "pcie_gen": float(generation),
        "pcie_width": float(width),
        "pcie_theoretical_gbps": theory,
        "pcie_efficiency_pct": 100.0 * gbps / theory,
    }


LINK_POLL_S = 0.005  # as doctor/copy_under_load.py polls; one NVML read takes tens of microseconds


class LinkPoller:
    """Reads a PCIe link on a thread while a block runs and keeps the highest generation and width seen.

    An idle GPU trains its link down within milliseconds, and a small copy gives the link
    milliseconds of work between seconds of setup: one reading after the copies may see a lower
    generation than they ran on. ``read`` returns (generation, width), None where unknown.
    """

    def __init__(self, read: Callable[[], tuple[int | None, int | None]], interval_s: float = LINK_POLL_S) -> None:
        self.read, self.interval_s = read, interval_s
        self.generations: list[int] = []
        self.widths: list[int] = []
        self.polls = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> LinkPoller:
        self._poll()  # one reading at least, however short the block
        self._thread = threading.Thread(target=self._run, name="pcie-link-poller", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._poll()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._poll()

    def _poll(self) -> None:
        generation, width = self.read()
        self.polls += 1
        if generation is not None:
            self.generations.append(int(generation))
        if width is not None:
            self.widths.append(int(width))

    @property
    def link(self) -> tuple[int | None, int | None]:
        """The highest (generation, width) read; None where no reading gave one."""
        return max(self.generations, default=None), max(self.widths, default=None)


@contextmanager
def polled_pcie_link(device: torch.device) -> Iterator[LinkPoller]:
    """A LinkPoller on ``device``'s link for the block (readings of (None, None) where NVML has none)."""
    with nvml_session() as nvml:
        handle = nvml_handle(nvml, device)

        def read() -> tuple[int | None, int | None]:
            return current_link(nvml, handle) if handle is not None else (None, None)

        with LinkPoller(read) as poller:
            yield poller
