"""The PCIe link each GPU runs on, read under load, and the copy the doctor drove over it."""

from __future__ import annotations

from typing import Any

from gpubench.doctor.readings import Readings
from gpubench.doctor.rules.common import GpuFinding, gpu_key, gpu_rule, unreadable
from gpubench.machine.pcie import pcie_theoretical_gbps

COPY_EFFICIENCY_FLOOR = 0.70  # a pinned large copy on a healthy link reaches 80-90% of PCIe theory


def link_text(gen: Any, width: Any) -> str:
    """``Gen5 x16 (63.0 GB/s per direction)``; the bandwidth only where the generation is known."""
    theory = pcie_theoretical_gbps(gen, width)
    return f"Gen{gen} x{width}" + (f" ({theory:.1f} GB/s per direction)" if theory else "")


@gpu_rule
def pcie_link(readings: Readings, gpu: dict[str, Any]) -> list[GpuFinding]:
    """The link under load against what it can train to; the slot's limit against the GPU's own."""
    pcie = gpu.get("pcie") or {}
    gen, width = pcie.get("gen_current"), pcie.get("width_current")
    gen_max, width_max, gpu_gen_max = pcie.get("gen_max"), pcie.get("width_max"), pcie.get("gen_gpu_max")
    if not gen or not width:
        return unreadable(
            readings,
            gpu,
            "pcie.gen_current",
            "pcie",
            "PCIe link not readable",
            "read it with nvidia-smi -q -d PCIE (in a VM the hypervisor may hide it)",
        )
    findings = []
    if gen_max and gpu_gen_max and gen_max < gpu_gen_max:
        findings.append(
            (
                "warning",
                "pcie",
                f"the slot or platform caps the link at Gen{gen_max}; the GPU itself supports Gen{gpu_gen_max} "
                f"({link_text(gen_max, width_max)} instead of {link_text(gpu_gen_max, width_max)})",
                f"move the GPU to a Gen{gpu_gen_max} slot, or check the BIOS PCIe speed setting and risers",
            )
        )
    below = bool((gen_max and gen < gen_max) or (width_max and width < width_max))
    load_problem = (readings.get("problems") or {}).get(gpu_key(gpu, "load"))
    if load_problem and load_problem.startswith("VerificationError"):
        findings.append(
            (
                "error",
                "pcie",
                f"the doctor's pinned host->device copy delivered wrong data ({load_problem})",
                "take the GPU out of service; check dmesg for Xid errors and run dcgmi diag -r 3",
            )
        )
    elif load_problem and not below:
        findings.append(
            (
                "info",
                "pcie",
                f"the link could not be read under load ({load_problem}); read idle, it is at its maximum",
                "free the GPU (nvidia-smi shows what runs on it) and run gpubench doctor again",
            )
        )
    if below and pcie.get("under_load"):
        findings.append(
            (
                "error",
                "pcie",
                f"PCIe link runs at {link_text(gen, width)} under load, below the "
                f"{link_text(gen_max or gen, width_max or width)} it can train to",
                "reseat the card, check risers, cables and the BIOS PCIe settings (a lost width is usually "
                "hardware); compare nvidia-smi -q -d PCIE",
            )
        )
    elif below:
        cause = load_problem or "torch cannot use this GPU here"
        findings.append(
            (
                "info",
                "pcie",
                f"PCIe link at Gen{gen} x{width} while idle (it can train to Gen{gen_max} x{width_max}); idle links "
                f"train down, and it could not be loaded ({cause})",
                "run gpubench doctor where torch can use this GPU, so it reads the link under load",
            )
        )
    load, theory = pcie.get("load_gbps"), pcie_theoretical_gbps(gen, width)
    if load and theory and load < COPY_EFFICIENCY_FLOOR * theory:
        findings.append(
            (
                "warning",
                "pcie",
                f"the doctor's pinned host->device copy reached {load:.1f} GB/s, {100 * load / theory:.0f}% of the "
                f"Gen{gen} x{width} link's {theory:.1f} GB/s (expect >= {100 * COPY_EFFICIENCY_FLOOR:.0f}%)",
                "look for other processes on the GPU or link (nvidia-smi), remote NUMA memory (the numa finding), "
                "or IOMMU translation costs",
            )
        )
    return findings
