"""What each GPU is, and the modes it is in: persistence, MIG, virtualisation."""

from __future__ import annotations

from typing import Any

from gpubench.doctor.readings import Readings
from gpubench.doctor.rules.common import NOTHING_TO_DO, RESET_WHEN_IDLE, GpuFinding, gpu_rule, unreadable
from gpubench.doctor.rules.pcie import link_text


@gpu_rule
def gpu_summary(readings: Readings, gpu: dict[str, Any]) -> list[GpuFinding]:
    """What each GPU is, whether torch uses it, its link."""
    pcie = gpu.get("pcie") or {}
    memory = gpu.get("memory_bytes")
    parts = [gpu.get("name") or "unnamed GPU"]
    if memory:
        parts.append(f"{memory / 2**30:.0f} GiB")
    if pcie.get("gen_current") is not None:
        state = "under load" if pcie.get("under_load") else "idle"
        parts.append(f"PCIe {link_text(pcie['gen_current'], pcie.get('width_current'))} {state}")
    if gpu.get("torch_index") is None:
        parts.append("not used by torch")
    elif gpu.get("torch_index") != gpu.get("index"):
        parts.append(f"cuda:{gpu['torch_index']} in this process")
    return [("info", "gpu", ", ".join(parts), NOTHING_TO_DO)]


@gpu_rule
def persistence(readings: Readings, gpu: dict[str, Any]) -> list[GpuFinding]:
    """Persistence mode keeps the driver loaded between processes."""
    mode = gpu.get("persistence_mode")
    if mode is None:
        return unreadable(
            readings, gpu, "persistence_mode", "persist", "persistence mode not readable", "nvidia-smi -q shows it"
        )
    if mode:
        return []
    return [
        (
            "warning",
            "persist",
            "persistence mode is off: the driver is torn down whenever no process uses the GPU, so every run pays "
            "its start-up and the GPU's state is reset",
            "sudo nvidia-smi -pm 1, or run nvidia-persistenced",
        )
    ]


@gpu_rule
def mig(readings: Readings, gpu: dict[str, Any]) -> list[GpuFinding]:
    """MIG slices the GPU: figures are those of one slice."""
    mode, pending = gpu.get("mig_mode"), gpu.get("mig_mode_pending")
    if mode is None:
        return unreadable(
            readings, gpu, "mig_mode", "mig", "MIG mode", "nothing to do (GPUs without MIG answer 'not supported')"
        )
    findings = []
    if mode:
        findings.append(
            (
                "warning",
                "mig",
                "MIG is enabled: work runs in a GPU instance with a fraction of the SMs, memory bandwidth and copy "
                "engines, and without P2P or NVLink",
                "compare only with figures from the same MIG profile, or disable MIG (sudo nvidia-smi -i <index> "
                "-mig 0, then reset) to measure the whole GPU",
            )
        )
    if pending is not None and pending != mode:
        findings.append(
            (
                "info",
                "mig",
                f"a MIG mode change to {'on' if pending else 'off'} is pending until the GPU is reset",
                RESET_WHEN_IDLE,
            )
        )
    return findings


@gpu_rule
def virtualization(readings: Readings, gpu: dict[str, Any]) -> list[GpuFinding]:
    """A GPU in a VM (passthrough: info) or shared as a vGPU (warning)."""
    mode = gpu.get("virtualization_mode")
    if mode is None:
        return unreadable(
            readings,
            gpu,
            "virtualization_mode",
            "virt",
            "virtualisation mode not readable",
            "nvidia-smi -q shows it",
        )
    if mode == "passthrough":
        return [
            (
                "info",
                "virt",
                "passed through to a virtual machine: PCIe, topology and NUMA readings are what the hypervisor shows",
                "if figures look low, ask the provider how the VM's vCPUs and memory map to the GPU's socket",
            )
        ]
    if mode == "vgpu":
        return [
            (
                "warning",
                "virt",
                "a vGPU shared with other virtual machines: its figures depend on their load",
                "measure on a passthrough or bare-metal GPU for the hardware's figures",
            )
        ]
    if mode != "none":
        return [("info", "virt", f"this host serves the GPU to virtual machines ({mode})", NOTHING_TO_DO)]
    return []
