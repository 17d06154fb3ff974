"""The link a collective's bus bandwidth is measured against, where it is known.

busbw is comparable with one link's one-direction peak (see spec.py). NCCL inside one node uses
NVLink when the GPU has active links: peak = active links x the version's nominal rate per
direction (20 GB/s for NVLink 1.0, 25 for 2.0-4.0, 50 for 5.0; nvidia-smi shows slightly more
raw, e.g. 26.56 for NVLink 4). Otherwise the GPU's PCIe link. Gloo, on CPU or CUDA tensors, has
none: it moves data over TCP loopback (CUDA tensors staged through host memory), which bounds it
far below any link, so a "% of link" of 2-8% would say nothing; its link columns stay empty.
Anything across nodes: unknown (the network is not something gpubench can read).
"""

from __future__ import annotations

import torch

from gpubench.machine.fingerprint import pcie_theoretical_gbps
from gpubench.machine.nvml import nvml_session
from gpubench.measure.devices import nvml_handle, pcie_link
from gpubench.suites.collectives.spec import Sweep

# nvmlDeviceGetNvLinkVersion returns an enum (nvmlNvlinkVersion_t), not the version itself.
NVLINK_VERSIONS = {1: ("1.0", 20.0), 2: ("2.0", 25.0), 3: ("2.2", 25.0), 4: ("3.0", 25.0), 5: ("3.1", 25.0)}
NVLINK_VERSIONS.update({6: ("4.0", 25.0), 7: ("5.0", 50.0)})
_MAX_LINKS = 36


def link_peak(sweep: Sweep, device: torch.device, nodes: int) -> tuple[str | None, float | None]:
    """(name, one-direction peak in GB/s) of the link that bounds this sweep's busbw, or Nones."""
    if device.type != "cuda" or sweep.backend != "nccl" or nodes > 1:
        return None, None
    links, version = nvlink(device)
    if links and version in NVLINK_VERSIONS:
        name, per_link = NVLINK_VERSIONS[version]
        return f"NVLink {name} x{links}", links * per_link
    generation, width = pcie_link(device)
    peak = pcie_theoretical_gbps(generation, width)
    return (f"PCIe Gen{generation} x{width}", peak) if peak else (None, None)


def nvlink(device: torch.device) -> tuple[int, int | None]:
    """(active NVLink links, NVML version enum of the first) of ``device``; (0, None) when none."""
    with nvml_session() as nvml:
        handle = nvml_handle(nvml, device)
        if handle is None:
            return 0, None
        active = [
            link
            for link in range(_MAX_LINKS)
            if nvml.read(f"nvlink{link}", "nvmlDeviceGetNvLinkState", handle, link) == 1  # NVML_FEATURE_ENABLED
        ]
        if not active:
            return 0, None
        return len(active), nvml.read("nvlink_version", "nvmlDeviceGetNvLinkVersion", handle, active[0])
