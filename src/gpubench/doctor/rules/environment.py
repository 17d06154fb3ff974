"""Environment variables that slow CUDA, PyTorch or NCCL down or force their choices."""

from __future__ import annotations

from gpubench.doctor.readings import Readings
from gpubench.machine.findings import Finding

# Variable -> (value that matters, severity, what it does, what to do).
ENVIRONMENT_FLAGS = {
    "CUDA_LAUNCH_BLOCKING": (
        "on",
        "warning",
        "every CUDA call waits for the GPU, so copies and kernels cannot overlap and figures drop",
        "unset CUDA_LAUNCH_BLOCKING (it is a debugging switch)",
    ),
    "PYTORCH_NO_CUDA_MEMORY_CACHING": (
        "on",
        "warning",
        "torch's caching allocator is off: every allocation calls cudaMalloc",
        "unset PYTORCH_NO_CUDA_MEMORY_CACHING",
    ),
    "NCCL_P2P_DISABLE": (
        "on",
        "warning",
        "NCCL uses neither NVLink nor PCIe peer-to-peer: GPU-to-GPU traffic goes through host memory",
        "unset NCCL_P2P_DISABLE unless P2P is broken here (then fix that: see the p2p findings)",
    ),
    "NCCL_SHM_DISABLE": (
        "on",
        "warning",
        "NCCL's shared-memory transport is off: intra-node traffic without P2P goes over sockets",
        "unset NCCL_SHM_DISABLE",
    ),
    "NCCL_IB_DISABLE": (
        "on",
        "info",
        "NCCL does not use InfiniBand/RoCE: multi-node traffic goes over TCP sockets",
        "unset NCCL_IB_DISABLE for multi-node runs on InfiniBand",
    ),
    "NCCL_NVLS_ENABLE": (
        "off",
        "info",
        "NVLink SHARP is off: on NVSwitch systems AllReduce busbw is lower than it can be",
        "unset NCCL_NVLS_ENABLE to let NCCL choose",
    ),
    "NCCL_ALGO": ("set", "info", "NCCL's algorithm is forced", "unset NCCL_ALGO to let NCCL choose"),
    "NCCL_PROTO": ("set", "info", "NCCL's protocol is forced", "unset NCCL_PROTO to let NCCL choose"),
    "NCCL_P2P_LEVEL": ("set", "info", "NCCL's P2P topology level is forced", "unset NCCL_P2P_LEVEL"),
}


def environment_flags(readings: Readings) -> list[Finding]:
    """Variables that slow CUDA, PyTorch or NCCL down or force their choices."""
    findings = []
    for name, value in (readings.get("environment") or {}).items():
        if name not in ENVIRONMENT_FLAGS:
            continue
        when, severity, effect, action = ENVIRONMENT_FLAGS[name]
        on = value.strip().lower() not in ("", "0", "false", "no", "off")
        if (when == "on" and on) or (when == "off" and not on) or (when == "set" and value.strip()):
            findings.append(Finding(severity, "env", f"{name}={value}: {effect}", action))
    return findings
