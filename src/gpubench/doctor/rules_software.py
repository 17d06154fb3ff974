"""Rules on the software stack: CUDA usable, the driver against torch's CUDA, cuDNN and NCCL, the environment, NVML."""

from __future__ import annotations

from typing import Any

from gpubench.doctor.findings import Finding
from gpubench.doctor.readings import Readings
from gpubench.doctor.rule_kit import NOTHING_TO_DO, why

# Oldest driver (major version) for each CUDA major version; older ones within a major run newer
# minor versions under minor-version compatibility (feature-limited).
MIN_DRIVER = {13: 580, 12: 525, 11: 450}


def cuda_usable(readings: Readings) -> list[Finding]:
    """CUDA usable by torch, or the first reason it is not (CPU build, empty CUDA_VISIBLE_DEVICES, driver...)."""
    torch_ = readings["torch"]
    nvml = readings.get("nvml") or {}
    visible = (readings.get("environment") or {}).get("CUDA_VISIBLE_DEVICES")
    version, build = torch_.get("version"), torch_.get("cuda_build")
    if not build:
        return [
            Finding(
                "error",
                "cuda",
                f"CUDA is not usable: torch {version} is a CPU build (torch.version.cuda is None)",
                "install a CUDA build of torch the driver supports (pip install torch --index-url "
                "https://download.pytorch.org/whl/cu<version>), or run on a machine with one",
            )
        ]
    if visible is not None and not visible.strip():
        return [
            Finding(
                "error",
                "cuda",
                "CUDA is not usable: CUDA_VISIBLE_DEVICES is set but empty, so no GPU is visible",
                "unset CUDA_VISIBLE_DEVICES or list the GPUs to use (CUDA_VISIBLE_DEVICES=0,1)",
            )
        ]
    if torch_.get("cuda_available") and torch_.get("device_count"):
        return [
            Finding(
                "info",
                "cuda",
                f"torch {version} (CUDA {build}, cuDNN {torch_.get('cudnn_version') or '-'}, "
                f"NCCL {torch_.get('nccl_version') or '-'}) sees {torch_['device_count']} GPU(s); "
                f"driver {nvml.get('driver_version') or '-'} (CUDA {nvml.get('cuda_driver_version') or '-'})",
                NOTHING_TO_DO,
            )
        ]
    prefix = f"CUDA is not usable by torch {version} (CUDA {build})"
    init_error = torch_.get("cuda_init_error")
    if not nvml.get("available"):
        return [
            Finding(
                "error",
                "cuda",
                f"{prefix}: no NVIDIA driver found ({nvml.get('unavailable_reason') or init_error or 'NVML absent'})",
                "install the NVIDIA driver; in a container, start it with the GPUs (docker run --gpus all)",
            )
        ]
    count = nvml.get("gpu_count") or 0
    if not count:
        return [
            Finding(
                "error",
                "cuda",
                f"{prefix}: the driver sees no GPU",
                "check the GPU is present (lspci | grep -i nvidia) and, in a VM or container, passed through",
            )
        ]
    if visible and (not init_error or "no cuda gpus are available" in init_error.lower()):
        return [
            Finding(
                "error",
                "cuda",
                f"{prefix}: CUDA_VISIBLE_DEVICES={visible} matches none of the {count} GPU(s) the driver sees",
                f"set CUDA_VISIBLE_DEVICES to indices below {count} or to UUIDs from nvidia-smi -L",
            )
        ]
    said = _first_sentence(init_error) if init_error else None
    return [
        Finding(
            "error",
            "cuda",
            f"{prefix}: {said or f'torch.cuda.is_available() is False though the driver sees {count} GPU(s)'}",
            "see the driver finding; check nvidia-smi and dmesg for Xid errors; on NVSwitch systems "
            "nvidia-fabricmanager must be running",
        )
    ]


def _first_sentence(text: str) -> str:
    """CUDA's messages run on ('Please update... Alternatively...'); the first sentence says what is wrong."""
    head, dot, _ = text.partition(". ")
    return head + dot.strip()


def driver_version(readings: Readings) -> list[Finding]:
    """The driver against the CUDA runtime torch was built for: too old (error) or minor-version compatible."""
    build = readings["torch"].get("cuda_build")
    nvml = readings.get("nvml") or {}
    if not build or not nvml.get("available"):
        return []
    driver = nvml.get("driver_version")
    runtime = _version(build)
    try:
        driver_major = int(str(driver).split(".")[0])
    except ValueError:
        return [
            Finding(
                "info",
                "driver",
                f"the driver version could not be read ({why(readings, 'driver_version')}), so it is not "
                f"checked against CUDA {build}",
                "read it from nvidia-smi's header",
            )
        ]
    if runtime is None:
        return []
    supported = _version(nvml.get("cuda_driver_version"))
    needed = MIN_DRIVER.get(runtime[0])
    if (needed and driver_major < needed) or (supported and supported[0] < runtime[0]):
        need = f">= {needed}" if needed else f"one for CUDA {runtime[0]}.x"
        fits = [major for major, minimum in MIN_DRIVER.items() if minimum <= driver_major]
        other = f", or install a torch build for CUDA {max(fits)}.x, which this driver runs" if fits else ""
        return [
            Finding(
                "error",
                "driver",
                f"driver {driver} (CUDA {nvml.get('cuda_driver_version') or '?'}) is too old for CUDA {build}, which "
                f"torch was built for: CUDA {runtime[0]}.x needs driver {need}",
                f"upgrade the NVIDIA driver to {need}{other}",
            )
        ]
    if supported and supported < runtime:
        return [
            Finding(
                "warning",
                "driver",
                f"driver {driver} supports CUDA up to {nvml['cuda_driver_version']} but torch was built for "
                f"CUDA {build}: it runs under minor-version compatibility (no PTX JIT of newer code, some "
                "features missing)",
                f"upgrade the driver to one that ships CUDA {build} or later",
            )
        ]
    return []


def _version(text: Any) -> tuple[int, int] | None:
    try:
        major, minor = str(text).split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return None


def cudnn_and_nccl(readings: Readings) -> list[Finding]:
    """cuDNN and NCCL present and switched on in a CUDA build of torch."""
    torch_ = readings["torch"]
    if not torch_.get("cuda_build"):
        return []  # a CPU build has neither; the cuda finding says so
    findings = []
    if not torch_.get("cudnn_available"):
        findings.append(
            Finding(
                "warning",
                "cudnn",
                f"cuDNN is not available to torch {torch_.get('version')}: convolutions run on slower native kernels",
                "use a torch wheel that bundles cuDNN (the official CUDA wheels do) and make sure "
                "LD_LIBRARY_PATH does not shadow its libcudnn",
            )
        )
    elif not torch_.get("cudnn_enabled"):
        findings.append(
            Finding(
                "warning",
                "cudnn",
                "torch.backends.cudnn.enabled is False: cuDNN is switched off",
                "remove what sets it (torch.backends.cudnn.flags() defaults to enabled=False: pass enabled=True)",
            )
        )
    if not torch_.get("nccl_available"):
        findings.append(
            Finding(
                "warning",
                "nccl",
                "NCCL is not available to torch: GPU collectives fall back to Gloo, staged through host memory",
                "use a torch build with NCCL (the official Linux CUDA wheels have it)",
            )
        )
    return findings


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


def nvml_reachable(readings: Readings) -> list[Finding]:
    """NVML (the driver's management library) answers; without it the GPU checks cannot run."""
    nvml = readings.get("nvml") or {}
    if not nvml.get("available"):
        return [
            Finding(
                "info",
                "nvml",
                f"NVML is not available ({nvml.get('unavailable_reason') or 'not read'}): driver, PCIe, clock, "
                "ECC, MIG and NVLink checks are skipped",
                "nothing to do on a machine without an NVIDIA GPU; elsewhere install the NVIDIA driver",
            )
        ]
    if nvml.get("gpu_count") and not readings.get("gpus"):
        return [
            Finding(
                "info",
                "nvml",
                f"NVML counts {nvml['gpu_count']} GPU(s) but gives no handle: {why(readings, 'gpu0.handle')}",
                "check nvidia-smi and dmesg for Xid errors",
            )
        ]
    return []
