"""Rules on each GPU: what it is, its PCIe link under load, clocks, power, persistence, ECC, MIG,
virtualisation, NUMA."""

from __future__ import annotations

from typing import Any

from gpubench.doctor.readings import Readings, parse_cpu_list
from gpubench.doctor.rule_kit import NOTHING_TO_DO, GpuFinding, gpu_rule, link_name, problem_key, why
from gpubench.env import pcie_theoretical_gbps

# nvmlClocksEventReason* bits. Idle and the software power cap are normal; health checks treat the rest as suspect.
CLOCK_EVENTS = {
    0x1: "idle",
    0x2: "applications clocks setting",
    0x4: "SW power cap",
    0x8: "HW slowdown",
    0x10: "sync boost",
    0x20: "SW thermal slowdown",
    0x40: "HW thermal slowdown",
    0x80: "HW power brake slowdown",
    0x100: "display clock setting",
}


NORMAL_CLOCK_EVENTS = 0x1 | 0x4


SEVERE_CLOCK_EVENTS = 0x8 | 0x20 | 0x40 | 0x80  # hardware or thermal: the card itself is in trouble


CLOCK_EVENT_ACTIONS = {
    0x2: "reset application clocks (sudo nvidia-smi -rac)",
    0x8: "check the power supply and cables (HW slowdown also follows overheating)",
    0x10: "sync boost ties this GPU's clocks to others in its group: check nvidia-smi -q -d PERFORMANCE",
    0x20: "check cooling and airflow (nvidia-smi -q -d TEMPERATURE)",
    0x40: "check cooling and airflow (nvidia-smi -q -d TEMPERATURE)",
    0x80: "check the power supply: the power brake is asserted by the system",
    0x100: "a display clock setting limits clocks: detach displays or use a compute GPU",
}


COPY_EFFICIENCY_FLOOR = 0.70  # a pinned large copy on a healthy link reaches 80-90% of PCIe theory


POWER_LIMIT_FLOOR = 0.95


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
        parts.append(f"PCIe {link_name(pcie['gen_current'], pcie.get('width_current'))} {state}")
    if gpu.get("torch_index") is None:
        parts.append("not used by torch")
    elif gpu.get("torch_index") != gpu.get("index"):
        parts.append(f"cuda:{gpu['torch_index']} in this process")
    return [("info", "gpu", ", ".join(parts), NOTHING_TO_DO)]


@gpu_rule
def pcie_link(readings: Readings, gpu: dict[str, Any]) -> list[GpuFinding]:
    """The link under load against what it can train to; the slot's limit against the GPU's own."""
    pcie = gpu.get("pcie") or {}
    gen, width = pcie.get("gen_current"), pcie.get("width_current")
    gen_max, width_max, gpu_gen_max = pcie.get("gen_max"), pcie.get("width_max"), pcie.get("gen_gpu_max")
    if not gen or not width:
        return [
            (
                "info",
                "pcie",
                f"PCIe link not readable: {why(readings, problem_key(gpu, 'pcie.gen_current'))}",
                "read it with nvidia-smi -q -d PCIE (in a VM the hypervisor may hide it)",
            )
        ]
    findings = []
    if gen_max and gpu_gen_max and gen_max < gpu_gen_max:
        findings.append(
            (
                "warning",
                "pcie",
                f"the slot or platform caps the link at Gen{gen_max}; the GPU itself supports Gen{gpu_gen_max} "
                f"({link_name(gen_max, width_max)} instead of {link_name(gpu_gen_max, width_max)})",
                f"move the GPU to a Gen{gpu_gen_max} slot, or check the BIOS PCIe speed setting and risers",
            )
        )
    below = bool((gen_max and gen < gen_max) or (width_max and width < width_max))
    load_problem = (readings.get("problems") or {}).get(problem_key(gpu, "load"))
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
                f"PCIe link runs at {link_name(gen, width)} under load, below the "
                f"{link_name(gen_max or gen, width_max or width)} it can train to",
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


@gpu_rule
def clock_events(readings: Readings, gpu: dict[str, Any]) -> list[GpuFinding]:
    """Clock-event (throttle) reasons other than idle and the software power cap."""
    reasons = gpu.get("clocks_event_reasons")
    if reasons is None:
        return [
            (
                "info",
                "clocks",
                "clock-event (throttle) reasons not readable: "
                f"{why(readings, problem_key(gpu, 'clocks_event_reasons'))}",
                "nvidia-smi -q -d PERFORMANCE shows them",
            )
        ]
    active = int(reasons) & ~NORMAL_CLOCK_EVENTS
    if not active:
        return []
    bits = [bit for bit in sorted(CLOCK_EVENTS) if active & bit] + [active & ~sum(CLOCK_EVENTS)]
    names = [CLOCK_EVENTS.get(bit, f"unknown 0x{bit:x}") for bit in bits if bit]
    actions = list(dict.fromkeys(CLOCK_EVENT_ACTIONS[bit] for bit in bits if bit in CLOCK_EVENT_ACTIONS))
    when = "under load" if (gpu.get("pcie") or {}).get("under_load") else "when read"
    return [
        (
            "error" if active & SEVERE_CLOCK_EVENTS else "warning",
            "clocks",
            f"clocks held down {when} by {', '.join(names)} (clock-event reasons 0x{int(reasons):x})",
            "; ".join(actions) or "nvidia-smi -q -d PERFORMANCE shows the reasons",
        )
    ]


@gpu_rule
def power_limit(readings: Readings, gpu: dict[str, Any]) -> list[GpuFinding]:
    """A power limit set below the board's default makes the SW power cap bite early."""
    limit, default = gpu.get("power_limit_w"), gpu.get("power_default_limit_w")
    if not (limit and default and limit < POWER_LIMIT_FLOOR * default):
        return []
    return [
        (
            "warning",
            "power",
            f"power limit {limit:.0f} W is below the default {default:.0f} W, so clocks drop under load earlier",
            f"restore it (sudo nvidia-smi -i <index> -pl {default:.0f}) unless it is on purpose",
        )
    ]


@gpu_rule
def persistence(readings: Readings, gpu: dict[str, Any]) -> list[GpuFinding]:
    """Persistence mode keeps the driver loaded between processes."""
    mode = gpu.get("persistence_mode")
    if mode is None:
        return [
            (
                "info",
                "persist",
                f"persistence mode not readable: {why(readings, problem_key(gpu, 'persistence_mode'))}",
                "nvidia-smi -q shows it",
            )
        ]
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
def ecc(readings: Readings, gpu: dict[str, Any]) -> list[GpuFinding]:
    """Uncorrected ECC errors (since driver load: error; in the GPU's life: warning), row remapping, ECC off."""
    volatile, aggregate = gpu.get("ecc_volatile_uncorrected"), gpu.get("ecc_aggregate_uncorrected")
    corrected, mode = gpu.get("ecc_volatile_corrected"), gpu.get("ecc_mode")
    if mode is None and volatile is None and aggregate is None:
        return [
            (
                "info",
                "ecc",
                f"ECC state not readable: {why(readings, problem_key(gpu, 'ecc_mode'))}",
                "nothing to do (GPUs without ECC memory answer so)",
            )
        ]
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
                "reset the GPU when it is idle (sudo nvidia-smi -r -i <index>)",
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


@gpu_rule
def mig(readings: Readings, gpu: dict[str, Any]) -> list[GpuFinding]:
    """MIG slices the GPU: figures are those of one slice."""
    mode, pending = gpu.get("mig_mode"), gpu.get("mig_mode_pending")
    if mode is None:
        return [
            (
                "info",
                "mig",
                f"MIG mode: {why(readings, problem_key(gpu, 'mig_mode'))}",
                "nothing to do (GPUs without MIG answer 'not supported')",
            )
        ]
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
                "reset the GPU when it is idle (sudo nvidia-smi -r -i <index>)",
            )
        )
    return findings


@gpu_rule
def virtualization(readings: Readings, gpu: dict[str, Any]) -> list[GpuFinding]:
    """A GPU in a VM (passthrough: info) or shared as a vGPU (warning)."""
    mode = gpu.get("virtualization_mode")
    if mode is None:
        return [
            (
                "info",
                "virt",
                f"virtualisation mode not readable: {why(readings, problem_key(gpu, 'virtualization_mode'))}",
                "nvidia-smi -q shows it",
            )
        ]
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


@gpu_rule
def numa_affinity(readings: Readings, gpu: dict[str, Any]) -> list[GpuFinding]:
    """This process's CPUs against the CPUs near each GPU torch uses: remote host memory can cost 3x."""
    process, near = readings.get("process_cpus"), gpu.get("cpu_affinity")
    if not process or not near or gpu.get("torch_index") is None:
        return []
    if parse_cpu_list(process) & parse_cpu_list(near):
        return []
    node = gpu.get("numa_node")
    where = f"NUMA node {node}, CPUs {near}" if node is not None else f"CPUs {near}"
    bind = f"numactl --cpunodebind={node} --membind={node}" if node is not None else f"taskset -c {near}"
    return [
        (
            "warning",
            "numa",
            f"attached to {where} but this process runs on CPUs {process}: host memory is remote to the GPU "
            "(host<->device copies can be several times slower)",
            f"run on the GPU's own CPUs and memory: {bind} <command>",
        )
    ]
