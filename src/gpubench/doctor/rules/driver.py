"""The NVIDIA driver: reachable through NVML, and new enough for the CUDA torch was built for."""

from __future__ import annotations

from typing import Any

from gpubench.doctor.readings import Readings
from gpubench.doctor.rules.common import why
from gpubench.machine.findings import Finding

# Oldest driver (major version) for each CUDA major version; older ones within a major run newer
# minor versions under minor-version compatibility (feature-limited).
MIN_DRIVER = {13: 580, 12: 525, 11: 450}


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
