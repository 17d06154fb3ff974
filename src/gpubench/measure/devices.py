"""The device a case runs on: whether it exists, what it may allocate, waiting for it, its PCIe link."""

from __future__ import annotations

import os
from collections.abc import Iterator
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
    """Current (generation, width) of ``device``'s PCIe link; read it right after a copy, under load."""
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
