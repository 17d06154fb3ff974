"""The environment fingerprint recorded with every run: a number without it is worthless.

``fingerprint()`` returns a flat dict of plain values (str, int, bool or None) so that it
becomes typed columns in the results store. ``gpus`` (one dict per GPU of the node) is the only
nested entry; the measured GPU (cuda:0, found in NVML by its UUID) is flattened into the ``gpu_*``
and ``pcie_*`` columns.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from pathlib import Path
from typing import Any

import torch

from gpubench.machine.nvml import Nvml, current_link, link_limits, nvml_session, uuid_candidates
from gpubench.machine.pcie import pcie_theoretical_gbps  # noqa: F401 - re-exported: its long-standing home

Fingerprint = dict[str, Any]


def fingerprint(profile: str | None = None) -> Fingerprint:
    """Everything that explains a figure: versions, GPUs, links, host and commit."""
    env: Fingerprint = {"profile": profile}
    env.update(torch_fingerprint())
    env.update(host_fingerprint())
    measured = cuda_device_uuid(0) if env["cuda_available"] else None
    with nvml_session() as nvml:
        env.update(nvml_fingerprint(nvml, measured))
    return env


def cuda_unavailable_reason() -> str | None:
    """Why torch cannot use CUDA here, in one line; None when it can."""
    if torch.version.cuda is None:
        return f"torch {torch.__version__} is a CPU build"
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) == "":
        return "CUDA_VISIBLE_DEVICES is set but empty"
    if not torch.cuda.is_available():
        return f"torch {torch.__version__} (CUDA {torch.version.cuda}) finds no usable GPU or driver"
    return None


def torch_fingerprint() -> Fingerprint:
    cuda_ok = cuda_unavailable_reason() is None
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {
        "torch_version": torch.__version__,
        "cuda_version": torch.version.cuda,
        "cudnn_version": str(cudnn) if cudnn else None,
        "nccl_version": _nccl_version() if cuda_ok else None,
        "cuda_available": cuda_ok,
        "cuda_unavailable_reason": cuda_unavailable_reason(),
        "torch_gpu_count": torch.cuda.device_count() if cuda_ok else 0,
        "torch_num_threads": torch.get_num_threads(),
    }


def _nccl_version() -> str | None:
    try:
        version = torch.cuda.nccl.version()
    except Exception:
        return None
    return ".".join(str(part) for part in version) if isinstance(version, tuple) else str(version)


def host_fingerprint() -> Fingerprint:
    return {
        "hostname": hostname(),
        "platform": platform.platform(),
        "python_version": platform.python_version(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        # Other work on the host is the first suspect when host-side figures wander between runs.
        "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "git_commit": git_commit(),
    }


def hostname() -> str:
    """The machine's name as the fleet names it: ``GPUBENCH_HOSTNAME`` when set (a Slurm node name,
    Kubernetes' ``spec.nodeName``; a pod's or container's own host name is its pod name or random),
    else the host name."""
    return os.environ.get("GPUBENCH_HOSTNAME", "").strip() or socket.gethostname()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit() -> str | None:
    """The checkout's commit ('-dirty' when it has local changes); GPUBENCH_COMMIT overrides."""
    if os.environ.get("GPUBENCH_COMMIT"):
        return os.environ["GPUBENCH_COMMIT"]
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.TimeoutExpired):
        return None


def cuda_device_uuid(index: int = 0) -> str | None:
    """torch's UUID of ``cuda:<index>`` (bare, without NVML's ``GPU-``/``MIG-``), None when unknown."""
    try:
        uuid = getattr(torch.cuda.get_device_properties(index), "uuid", None)
    except Exception:  # no such device, or CUDA refuses to start
        return None
    return str(uuid) if uuid else None


def nvml_fingerprint(nvml: Nvml, measured_uuid: str | None = None) -> Fingerprint:
    """NVML's view: driver, every GPU of the node (``gpus``), and the measured GPU flattened into
    the ``gpu_*``/``pcie_*`` columns: the one whose UUID is ``measured_uuid`` (cuda:0), else NVML's
    first (no CUDA here, or no UUID match)."""
    env: Fingerprint = {"nvml_available": nvml.available, "nvml_unavailable_reason": nvml.unavailable_reason}
    env["driver_version"] = nvml.read("driver_version", "nvmlSystemGetDriverVersion")
    cuda_driver = nvml.read("cuda_driver_version", "nvmlSystemGetCudaDriverVersion_v2")
    env["cuda_driver_version"] = f"{cuda_driver // 1000}.{cuda_driver % 1000 // 10}" if cuda_driver else None
    gpus = [gpu_fingerprint(nvml, handle) for handle in nvml.handles("gpu{index}.handle").values()]
    env["gpu_count"] = len(gpus)
    env["gpus"] = gpus
    wanted = uuid_candidates(measured_uuid)
    measured = next((gpu for gpu in gpus if gpu["gpu_uuid"] in wanted), gpus[0] if gpus else {})
    for key in GPU_KEYS:
        env[key] = measured.get(key)
    env["nvml_problems"] = "; ".join(f"{what}: {why}" for what, why in sorted(nvml.problems.items())) or None
    return env


GPU_KEYS = (
    "gpu_name",
    "gpu_memory_bytes",
    "gpu_uuid",
    "pcie_gen_current",
    "pcie_width_current",
    "pcie_gen_max",
    "pcie_width_max",
    "pcie_gen_gpu_max",
)


def gpu_fingerprint(nvml: Nvml, handle: Any) -> Fingerprint:
    # pcie_*_current is read now, with the GPU idle: an idle link trains down, so this is the idle
    # reading; the copy suite's rows store the link polled under load (pcie_gen, pcie_width).
    memory = nvml.read("gpu_memory", "nvmlDeviceGetMemoryInfo", handle)
    generation, width = current_link(nvml, handle, "pcie_")
    limits = link_limits(nvml, handle, "pcie_")
    return {
        "gpu_name": nvml.read("gpu_name", "nvmlDeviceGetName", handle),
        "gpu_memory_bytes": getattr(memory, "total", None),
        "gpu_uuid": nvml.read("gpu_uuid", "nvmlDeviceGetUUID", handle),
        "pcie_gen_current": generation,
        "pcie_width_current": width,
        "pcie_gen_max": limits["gen_max"],
        "pcie_width_max": limits["width_max"],
        "pcie_gen_gpu_max": limits["gen_gpu_max"],
    }
