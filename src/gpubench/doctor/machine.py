"""Reading this machine for the doctor: torch, the environment and NVML, into plain readings.

Every value is read on its own, so one refusal costs one value only; NVML is read through
``gpubench.machine.nvml``. With ``load``, each GPU torch can use drives a short copy while its PCIe link is
read (``copy_under_load``): an idle GPU trains its link down. The layout of the result is the
readings format (``readings.py``).
"""

from __future__ import annotations

import itertools
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from gpubench.doctor.copy_under_load import read_links_under_load
from gpubench.doctor.readings import FORMAT, Readings, cpu_list
from gpubench.machine.findings import one_line
from gpubench.machine.fingerprint import torch_fingerprint
from gpubench.machine.nvml import (
    Nvml,
    clock_event_reasons,
    current_link,
    link_limits,
    nvlink_states,
    nvml_session,
    uuid_candidates,
)

# Variables that change what CUDA, PyTorch or NCCL do; recorded when set.
ENVIRONMENT = (
    "CUDA_VISIBLE_DEVICES",
    "CUDA_DEVICE_ORDER",
    "NVIDIA_VISIBLE_DEVICES",
    "CUDA_LAUNCH_BLOCKING",
    "PYTORCH_NO_CUDA_MEMORY_CACHING",
    "NCCL_P2P_DISABLE",
    "NCCL_SHM_DISABLE",
    "NCCL_IB_DISABLE",
    "NCCL_NVLS_ENABLE",
    "NCCL_P2P_LEVEL",
    "NCCL_ALGO",
    "NCCL_PROTO",
)

# NVML enums as words, so recorded readings read as what they mean.
P2P_STATUS = {
    0: "ok",
    1: "chipset not supported",
    2: "GPU not supported",
    3: "IOH topology not supported",
    4: "disabled by regkey",
    5: "not supported",
    6: "unknown",
}
TOPOLOGY = {0: "INTERNAL", 10: "SINGLE", 20: "MULTIPLE", 30: "HOSTBRIDGE", 40: "NODE", 50: "SYSTEM"}
VIRTUALIZATION = {0: "none", 1: "passthrough", 2: "vgpu", 3: "host_vgpu", 4: "host_vsga"}
# nvidia-ml-py 13 defines NVML_P2P_CAPS_INDEX_READ as the tuple (0,), which ctypes rejects: use the values.
P2P_CAPS_READ, P2P_CAPS_NVLINK = 0, 2
MEMORY_ERROR_CORRECTED, MEMORY_ERROR_UNCORRECTED = 0, 1
VOLATILE_ECC, AGGREGATE_ECC = 0, 1


def collect(load: bool = True) -> Readings:
    """Read this machine. With ``load``, drive a short copy on each GPU torch can use and read its link then."""
    readings: Readings = {
        "format": FORMAT,
        "source": f"collected on {socket.gethostname()} at {datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ}",
        "torch": torch_readings(),
        "environment": {name: os.environ[name] for name in ENVIRONMENT if name in os.environ},
        "process_cpus": cpu_list(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }
    with nvml_session() as nvml:
        count = nvml.read("gpu_count", "nvmlDeviceGetCount") or 0
        cuda_driver = nvml.read("cuda_driver_version", "nvmlSystemGetCudaDriverVersion_v2")
        readings["nvml"] = {
            "available": nvml.available,
            "unavailable_reason": nvml.unavailable_reason,
            "driver_version": nvml.read("driver_version", "nvmlSystemGetDriverVersion"),
            "cuda_driver_version": f"{cuda_driver // 1000}.{cuda_driver % 1000 // 10}" if cuda_driver else None,
            "gpu_count": count,
        }
        handles = nvml.handles("gpu{index}.handle")
        gpus = [gpu_readings(nvml, index, handle) for index, handle in handles.items()]
        if readings["torch"]["cuda_available"]:
            match_torch_devices(gpus, nvml)
            if load:
                read_links_under_load(nvml, handles, gpus)
        readings["gpus"] = gpus
        readings["pairs"] = pair_readings(nvml, handles, gpus)
        readings["problems"] = dict(sorted(nvml.problems.items()))
    return readings


def torch_readings() -> Readings:
    base = torch_fingerprint()
    available = bool(base["cuda_available"])
    init_error = None
    if torch.version.cuda and not available and base["cuda_unavailable_reason"] and _devices_not_hidden():
        init_error = _cuda_init_error()
    return {
        "version": torch.__version__,
        "cuda_build": torch.version.cuda,
        "cuda_available": available,
        "cuda_unavailable_reason": base["cuda_unavailable_reason"],
        "cuda_init_error": init_error,
        "device_count": base["torch_gpu_count"],
        "cudnn_available": bool(torch.backends.cudnn.is_available()),
        "cudnn_enabled": bool(torch.backends.cudnn.enabled),
        "cudnn_version": base["cudnn_version"],
        "nccl_available": _nccl_available(),
        "nccl_version": base["nccl_version"],
    }


def _devices_not_hidden() -> bool:
    return os.environ.get("CUDA_VISIBLE_DEVICES") != ""


def _cuda_init_error() -> str | None:
    """What CUDA itself says when torch cannot use it ('driver too old', 'no NVIDIA driver'...)."""
    try:
        torch.cuda.init()
    except Exception as error:  # torch raises RuntimeError/AssertionError with CUDA's own words
        return one_line(error)[:300] or type(error).__name__
    return None


def _nccl_available() -> bool:
    try:
        return bool(torch.distributed.is_available() and torch.distributed.is_nccl_available())
    except Exception:  # a torch built without distributed support
        return False


def gpu_readings(nvml: Nvml, index: int, handle: Any) -> Readings:
    """One GPU, every value read on its own so that one refusal costs one value only."""
    key = f"gpu{index}."

    def read(name: str, function: str, *args: Any) -> Any:
        return nvml.read(key + name, function, *args)

    memory = read("memory_bytes", "nvmlDeviceGetMemoryInfo", handle)
    pci = read("bus_id", "nvmlDeviceGetPciInfo", handle)
    bus_id = _text(getattr(pci, "busId", None))
    ecc_mode = read("ecc_mode", "nvmlDeviceGetEccMode", handle)
    mig = read("mig_mode", "nvmlDeviceGetMigMode", handle)
    remapped = read("remapped_rows", "nvmlDeviceGetRemappedRows", handle)
    virtualization = read("virtualization_mode", "nvmlDeviceGetVirtualizationMode", handle)
    limit = read("power_limit_w", "nvmlDeviceGetPowerManagementLimit", handle)
    default_limit = read("power_default_limit_w", "nvmlDeviceGetPowerManagementDefaultLimit", handle)
    gen, width = current_link(nvml, handle, key + "pcie.")
    gpu = {
        "index": index,  # NVML's index (all GPUs of the node, whatever CUDA_VISIBLE_DEVICES says)
        "torch_index": None,  # cuda:<n> in this process (match_torch_devices), None when torch cannot see it
        "name": read("name", "nvmlDeviceGetName", handle),
        "uuid": read("uuid", "nvmlDeviceGetUUID", handle),
        "bus_id": bus_id,
        "memory_bytes": getattr(memory, "total", None),
        "numa_node": _numa_node(bus_id),
        "cpu_affinity": _cpu_affinity(nvml, key + "cpu_affinity", handle),
        "pcie": {
            "gen_current": gen,
            "width_current": width,
            "gen_idle": gen,
            "width_idle": width,
            **link_limits(nvml, handle, key + "pcie."),  # gen_max, width_max, gen_gpu_max
            "under_load": False,  # True once copy_under_load read the link during its copy
            "load_gbps": None,  # that copy's own GB/s (10^9 B/s)
        },
        "clocks_event_reasons": clock_event_reasons(nvml, key + "clocks_event_reasons", handle),
        "power_limit_w": limit / 1000 if limit is not None else None,
        "power_default_limit_w": default_limit / 1000 if default_limit is not None else None,
        "persistence_mode": read("persistence_mode", "nvmlDeviceGetPersistenceMode", handle),
        "ecc_mode": ecc_mode[0] if ecc_mode else None,
        "ecc_volatile_uncorrected": _ecc(read, "ecc_volatile_uncorrected", handle, MEMORY_ERROR_UNCORRECTED),
        "ecc_aggregate_uncorrected": _ecc(read, "ecc_aggregate_uncorrected", handle, MEMORY_ERROR_UNCORRECTED),
        "ecc_volatile_corrected": _ecc(read, "ecc_volatile_corrected", handle, MEMORY_ERROR_CORRECTED),
        "remapped_rows_pending": bool(remapped[2]) if remapped else None,
        "remapped_rows_failure": bool(remapped[3]) if remapped else None,
        "mig_mode": mig[0] if mig else None,
        "mig_mode_pending": mig[1] if mig else None,
        "virtualization_mode": VIRTUALIZATION.get(virtualization, virtualization),
        "nvlink_states": nvlink_states(nvml, key + "nvlink_states", handle),  # 1 active, 0 inactive, None unread
    }
    # One call fills two fields: both say why they are missing.
    _spread_problem(nvml, key + "remapped_rows", key + "remapped_rows_pending", key + "remapped_rows_failure")
    _spread_problem(nvml, key + "mig_mode", key + "mig_mode", key + "mig_mode_pending")
    return gpu


def _spread_problem(nvml: Nvml, source: str, *targets: str) -> None:
    why = nvml.problems.pop(source, None)
    if why:
        for target in targets:
            nvml.problems[target] = why


def _ecc(read: Any, name: str, handle: Any, error_type: int) -> int | None:
    counter = VOLATILE_ECC if "volatile" in name else AGGREGATE_ECC
    return read(name, "nvmlDeviceGetTotalEccErrors", handle, error_type, counter)


def _cpu_affinity(nvml: Nvml, key: str, handle: Any) -> str | None:
    words = nvml.read(key, "nvmlDeviceGetCpuAffinity", handle, ((os.cpu_count() or 1) + 63) // 64)
    if words is None:
        return None
    return cpu_list(
        64 * position + bit for position, word in enumerate(words) for bit in range(64) if int(word) >> bit & 1
    )


def _numa_node(bus_id: str | None) -> int | None:
    """The GPU's NUMA node from sysfs; None when unknown (-1 there: a single-node machine or a VM)."""
    if not bus_id or ":" not in bus_id:
        return None
    domain, rest = bus_id.lower().split(":", 1)
    try:
        node = int(Path(f"/sys/bus/pci/devices/{int(domain, 16):04x}:{rest}/numa_node").read_text())
    except (OSError, ValueError):
        return None
    return node if node >= 0 else None


def match_torch_devices(gpus: list[Readings], nvml: Nvml) -> None:
    """Set each GPU's ``torch_index``: by UUID, else by PCI address (CUDA's order is not NVML's)."""
    for torch_index in range(torch.cuda.device_count()):
        try:
            properties = torch.cuda.get_device_properties(torch_index)
        except Exception as error:
            nvml.problems[f"torch{torch_index}.properties"] = one_line(error)[:200]
            continue
        uuids = uuid_candidates(getattr(properties, "uuid", None))
        address = tuple(getattr(properties, name, None) for name in ("pci_domain_id", "pci_bus_id", "pci_device_id"))
        for gpu in gpus:
            if gpu["uuid"] in uuids or (None not in address and _pci_address(gpu["bus_id"]) == address):
                gpu["torch_index"] = torch_index
                break


def _pci_address(bus_id: str | None) -> tuple[int, int, int] | None:
    try:
        domain, bus, device_function = str(bus_id).split(":")
        return int(domain, 16), int(bus, 16), int(device_function.split(".")[0], 16)
    except ValueError:
        return None


def pair_readings(nvml: Nvml, handles: dict[int, Any], gpus: list[Readings]) -> list[Readings]:
    """P2P (PCIe read and NVLink) and the topology between every two GPUs of the node."""
    torch_index = {gpu["index"]: gpu["torch_index"] for gpu in gpus}
    pairs = []
    for (a, first), (b, second) in itertools.combinations(sorted(handles.items()), 2):
        key = f"pair{a}-{b}."
        read = nvml.read(key + "p2p_read", "nvmlDeviceGetP2PStatus", first, second, P2P_CAPS_READ)
        nvlink = nvml.read(key + "p2p_nvlink", "nvmlDeviceGetP2PStatus", first, second, P2P_CAPS_NVLINK)
        topology = nvml.read(key + "topology", "nvmlDeviceGetTopologyCommonAncestor", first, second)
        pairs.append(
            {
                "a": a,
                "b": b,
                "p2p_read": None if read is None else P2P_STATUS.get(read, f"status {read}"),
                "p2p_nvlink": None if nvlink is None else P2P_STATUS.get(nvlink, f"status {nvlink}"),
                "topology": None if topology is None else TOPOLOGY.get(topology, f"level {topology}"),
                "torch_peer_access": _peer_access(torch_index.get(a), torch_index.get(b), nvml, key),
            }
        )
    return pairs


def _peer_access(a: int | None, b: int | None, nvml: Nvml, key: str) -> bool | None:
    if a is None or b is None:
        return None
    try:
        return bool(torch.cuda.can_device_access_peer(a, b))
    except Exception as error:
        nvml.problems[key + "torch_peer_access"] = one_line(error)[:200]
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)
