"""ECC: uncorrected and corrected memory errors, row remapping, ECC switched off."""

from __future__ import annotations

from typing import Any

from gpubench.doctor.readings import Readings
from gpubench.doctor.rules.common import RESET_WHEN_IDLE, GpuFinding, gpu_rule, unreadable


@gpu_rule
def ecc(readings: Readings, gpu: dict[str, Any]) -> list[GpuFinding]:
    """Uncorrected ECC errors (since driver load: error; in the GPU's life: warning), row remapping, ECC off."""
    volatile, aggregate = gpu.get("ecc_volatile_uncorrected"), gpu.get("ecc_aggregate_uncorrected")
    corrected, mode = gpu.get("ecc_volatile_corrected"), gpu.get("ecc_mode")
    if mode is None and volatile is None and aggregate is None:
        return unreadable(
            readings,
            gpu,
            "ecc_mode",
            "ecc",
            "ECC state not readable",
            "nothing to do (GPUs without ECC memory answer so)",
        )
    findings = []
    if volatile:
        findings.append(
            (
                "error",
                "ecc",
                f"{volatile} uncorrected ECC error(s) since the driver loaded: memory contents and results on this "
                "GPU cannot be trusted",
                "drain the GPU, reset it (sudo nvidia-smi -r -i <index>) and run dcgmi diag -r 3; replace it if "
                "errors return",
            )
        )
    elif aggregate:
        findings.append(
            (
                "warning",
                "ecc",
                f"{aggregate} uncorrected ECC error(s) in the GPU's life, none since the driver loaded",
                "watch for new ones (nvidia-smi -q -d ECC); run dcgmi diag -r 3",
            )
        )
    if gpu.get("remapped_rows_failure"):
        findings.append(
            (
                "error",
                "ecc",
                "memory row remapping failed: more bad rows than the GPU can repair",
                "take the GPU out of service and replace it",
            )
        )
    elif gpu.get("remapped_rows_pending"):
        findings.append(
            (
                "warning",
                "ecc",
                "a memory row remapping is pending; it takes effect at the next GPU reset",
                RESET_WHEN_IDLE,
            )
        )
    if corrected:
        findings.append(
            (
                "info",
                "ecc",
                f"{corrected} corrected ECC error(s) since the driver loaded (corrected, so harmless unless they "
                "keep growing)",
                "watch the count (nvidia-smi -q -d ECC)",
            )
        )
    if mode == 0:
        findings.append(
            (
                "info",
                "ecc",
                "ECC is off: memory errors go undetected (figures may be slightly higher)",
                "for production use turn it on (sudo nvidia-smi -i <index> -e 1, then reset)",
            )
        )
    return findings
