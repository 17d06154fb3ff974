"""Whether torch can use CUDA, and the libraries it brings (cuDNN, NCCL)."""

from __future__ import annotations

from gpubench.doctor.readings import Readings
from gpubench.doctor.rules.common import NOTHING_TO_DO
from gpubench.machine.findings import Finding


def cuda_usable(readings: Readings) -> list[Finding]:
    """CUDA usable by torch, or the first reason it is not (CPU build, empty CUDA_VISIBLE_DEVICES, driver...)."""
    torch_ = readings["torch"]
    nvml = readings.get("nvml") or {}
    visible = (readings.get("environment") or {}).get("CUDA_VISIBLE_DEVICES")
    version, build = torch_.get("version"), torch_.get("cuda_build")
    if not build:
        return _not_usable(
            f"CUDA is not usable: torch {version} is a CPU build (torch.version.cuda is None)",
            "install a CUDA build of torch the driver supports (pip install torch --index-url "
            "https://download.pytorch.org/whl/cu<version>), or run on a machine with one",
        )
    if visible is not None and not visible.strip():
        return _not_usable(
            "CUDA is not usable: CUDA_VISIBLE_DEVICES is set but empty, so no GPU is visible",
            "unset CUDA_VISIBLE_DEVICES or list the GPUs to use (CUDA_VISIBLE_DEVICES=0,1)",
        )
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
        return _not_usable(
            f"{prefix}: no NVIDIA driver found ({nvml.get('unavailable_reason') or init_error or 'NVML absent'})",
            "install the NVIDIA driver; in a container, start it with the GPUs (docker run --gpus all)",
        )
    count = nvml.get("gpu_count") or 0
    if not count:
        return _not_usable(
            f"{prefix}: the driver sees no GPU",
            "check the GPU is present (lspci | grep -i nvidia) and, in a VM or container, passed through",
        )
    if visible and (not init_error or "no cuda gpus are available" in init_error.lower()):
        return _not_usable(
            f"{prefix}: CUDA_VISIBLE_DEVICES={visible} matches none of the {count} GPU(s) the driver sees",
            f"set CUDA_VISIBLE_DEVICES to indices below {count} or to UUIDs from nvidia-smi -L",
        )
    said = _first_sentence(init_error) if init_error else None
    return _not_usable(
        f"{prefix}: {said or f'torch.cuda.is_available() is False though the driver sees {count} GPU(s)'}",
        "see the driver finding; check nvidia-smi and dmesg for Xid errors; on NVSwitch systems "
        "nvidia-fabricmanager must be running",
    )


def _not_usable(message: str, action: str) -> list[Finding]:
    """The cuda rule's one finding when torch cannot use CUDA: an error, since no figure can be measured."""
    return [Finding("error", "cuda", message, action)]


def _first_sentence(text: str) -> str:
    """CUDA's messages run on ('Please update... Alternatively...'); the first sentence says what is wrong."""
    head, dot, _ = text.partition(". ")
    return head + dot.strip()


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
