"""Reading a PCIe link under load: an idle GPU legitimately trains its link down (Gen1, fewer lanes).

For each GPU torch can use, a pinned host->device copy runs for about ``LOAD_SECONDS`` while the
host reads the link generation, width and clock-event reasons from NVML. The highest generation
and width seen under load are the link's real state; the copy's own GB/s (10^9 B/s, bytes x copies
/ CUDA-event time) is kept as ``load_gbps``. CUDA only: ``machine.collect`` calls it when torch can use CUDA.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from gpubench.machine.findings import one_line
from gpubench.machine.nvml import Nvml, clock_event_reasons, current_link
from gpubench.measure.result import VerificationError

LOAD_BYTES = 64 << 20
LOAD_SECONDS = 0.3
POLL_SECONDS = 0.005
MAX_COPIES = 1000


def read_links_under_load(nvml: Nvml, handles: dict[int, Any], gpus: list[dict[str, Any]]) -> None:
    """Update each torch-visible GPU's ``pcie`` (and clock-event reasons) with readings taken under load."""
    for gpu in gpus:
        if gpu["torch_index"] is None or gpu["index"] not in handles:
            continue
        key = f"gpu{gpu['index']}."
        try:
            seen = _copy_while_reading(nvml, handles[gpu["index"]], torch.device("cuda", gpu["torch_index"]), key)
        except Exception as error:  # out of memory, a busy or broken GPU: a finding, not a traceback
            nvml.problems[key + "load"] = one_line(f"{type(error).__name__}: {error}")[:300]
            continue
        pcie = gpu["pcie"]
        pcie["under_load"] = seen["gen"] is not None or seen["width"] is not None
        pcie["load_gbps"] = seen["gbps"]
        for field in ("gen", "width"):
            if seen[field] is not None:
                pcie[f"{field}_current"] = seen[field]
                nvml.problems.pop(f"{key}pcie.{field}_current", None)
        if seen["reasons"] is not None:
            gpu["clocks_event_reasons"] = seen["reasons"]
            nvml.problems.pop(key + "clocks_event_reasons", None)


def _copy_while_reading(nvml: Nvml, handle: Any, device: torch.device, key: str) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(LOAD_BYTES)
    host = torch.randint(0, 256, (LOAD_BYTES,), dtype=torch.uint8, generator=generator).pin_memory()
    target = torch.empty(LOAD_BYTES, dtype=torch.uint8, device=device)
    stream = torch.cuda.Stream(device)

    def copies(count: int) -> tuple[torch.cuda.Event, torch.cuda.Event]:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        with torch.cuda.stream(stream):
            start.record(stream)
            for _ in range(count):
                target.copy_(host, non_blocking=True)
            end.record(stream)
        return start, end

    # A few copies wake the link and tell how many make LOAD_SECONDS on this link.
    start, end = copies(4)
    end.synchronize()
    per_copy = max(start.elapsed_time(end) / 1e3 / 4, 1e-6)
    count = max(4, min(MAX_COPIES, math.ceil(LOAD_SECONDS / per_copy)))

    start, end = copies(count)
    generations, widths, reasons = [], [], []
    while True:  # the first reading comes while the copies just enqueued are running
        generation, width = current_link(nvml, handle, key + "pcie.")
        generations.append(generation)
        widths.append(width)
        reasons.append(clock_event_reasons(nvml, key + "clocks_event_reasons", handle))
        if end.query():
            break
        time.sleep(POLL_SECONDS)
    end.synchronize()
    seconds = start.elapsed_time(end) / 1e3
    if not torch.equal(target.cpu(), host):
        raise VerificationError("the load copy's data did not arrive intact")
    known_reasons = [int(value) for value in reasons if value is not None]
    return {
        "gen": max((value for value in generations if value is not None), default=None),
        "width": max((value for value in widths if value is not None), default=None),
        "reasons": _union(known_reasons) if known_reasons else None,
        "gbps": count * LOAD_BYTES / seconds / 1e9 if seconds > 0 else None,
    }


def _union(masks: list[int]) -> int:
    result = 0
    for mask in masks:
        result |= mask
    return result
