"""The doctor's rules: pure functions from readings (see readings.py) to findings.

Each rule looks at one thing and returns its findings, none when all is well. A reading NVML or
torch would not give becomes an info finding with the reason they gave ("not supported here").
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from gpubench.doctor.findings import Finding
from gpubench.doctor.readings import Readings, cpu_list, parse_cpu_list
from gpubench.env import pcie_theoretical_gbps

# Oldest driver (major version) for each CUDA major version; older ones within a major run newer
# minor versions under minor-version compatibility (feature-limited).
MIN_DRIVER = {13: 580, 12: 525, 11: 450}

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
NOTHING_TO_DO = "nothing to do; context for reading the figures"

Rule = Callable[[Readings], list[Finding]]


def diagnose(readings: Readings) -> list[Finding]:
    """Every rule's findings on ``readings``, in rule order (sort them with ``sort_findings``)."""
    return [finding for rule in RULES for finding in rule(readings)]


def why(readings: Readings, key: str) -> str:
    """Why a reading is missing, as NVML or torch said it."""
    return (readings.get("problems") or {}).get(key) or "not read"


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


GpuFinding = tuple[str, str, str, str]  # severity, check, message after "GPU n: ", action
GpuJudge = Callable[[Readings, dict[str, Any]], list[GpuFinding]]


def gpu_rule(judge: GpuJudge) -> Rule:
    """A rule from a per-GPU judgement; GPUs with the very same finding share one line ("GPUs 0-7: ...")."""

    @functools.wraps(judge)
    def rule(readings: Readings) -> list[Finding]:
        grouped: dict[GpuFinding, list[int]] = {}
        for gpu in readings.get("gpus") or []:
            for finding in judge(readings, gpu):
                grouped.setdefault(finding, []).append(int(gpu.get("index", 0)))
        return [
            Finding(severity, check, f"{_gpus(indices)}: {message}", action)
            for (severity, check, message, action), indices in grouped.items()
        ]

    return rule


def _gpus(indices: list[int]) -> str:
    return f"GPU {indices[0]}" if len(indices) == 1 else f"GPUs {cpu_list(indices)}"


def _key(gpu: dict[str, Any], name: str) -> str:
    """The key under which ``problems`` says why this GPU's reading ``name`` is missing."""
    return f"gpu{gpu.get('index')}.{name}"


def _link(gen: Any, width: Any) -> str:
    theory = pcie_theoretical_gbps(gen, width)
    return f"Gen{gen} x{width}" + (f" ({theory:.1f} GB/s per direction)" if theory else "")


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
        parts.append(f"PCIe {_link(pcie['gen_current'], pcie.get('width_current'))} {state}")
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
                f"PCIe link not readable: {why(readings, _key(gpu, 'pcie.gen_current'))}",
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
                f"({_link(gen_max, width_max)} instead of {_link(gpu_gen_max, width_max)})",
                f"move the GPU to a Gen{gpu_gen_max} slot, or check the BIOS PCIe speed setting and risers",
            )
        )
    below = bool((gen_max and gen < gen_max) or (width_max and width < width_max))
    load_problem = (readings.get("problems") or {}).get(_key(gpu, "load"))
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
                f"PCIe link runs at {_link(gen, width)} under load, below the "
                f"{_link(gen_max or gen, width_max or width)} it can train to",
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
                f"clock-event (throttle) reasons not readable: {why(readings, _key(gpu, 'clocks_event_reasons'))}",
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
                f"persistence mode not readable: {why(readings, _key(gpu, 'persistence_mode'))}",
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
                f"ECC state not readable: {why(readings, _key(gpu, 'ecc_mode'))}",
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
                f"MIG mode: {why(readings, _key(gpu, 'mig_mode'))}",
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
                f"virtualisation mode not readable: {why(readings, _key(gpu, 'virtualization_mode'))}",
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
def nvlink(readings: Readings, gpu: dict[str, Any]) -> list[GpuFinding]:
    """NVLinks down on a GPU that has them."""
    states = gpu.get("nvlink_states")
    if states is None:
        reason = why(readings, _key(gpu, "nvlink_states"))
        if reason == "not supported here":  # a GPU without NVLink; the p2p findings say what that means
            return []
        return [("info", "nvlink", f"NVLink state not readable: {reason}", "nvidia-smi nvlink -s")]
    known = [state for state in states if state is not None]
    active = sum(1 for state in known if state)
    if not known or active == len(known):
        return []
    action = (
        "nvidia-smi nvlink -s shows which; check bridges, nvidia-fabricmanager on NVSwitch systems, and dmesg for "
        "Xid errors"
    )
    if active:
        return [
            (
                "warning",
                "nvlink",
                f"only {active} of its {len(known)} NVLinks are active: GPU-to-GPU bandwidth is cut",
                action,
            )
        ]
    if len(readings.get("gpus") or []) > 1:
        message = f"none of its {len(known)} NVLinks is active: GPU-to-GPU traffic falls back to PCIe"
        return [("warning", "nvlink", message, action)]
    return [("info", "nvlink", f"none of its {len(known)} NVLinks is active", NOTHING_TO_DO)]


def _pair_names(pairs: list[dict[str, Any]], limit: int = 6) -> str:
    names = [f"{pair['a']}-{pair['b']}" for pair in pairs]
    shown = ", ".join(names[:limit])
    return f"GPU pair(s) {shown}" + (f" and {len(names) - limit} more" if len(names) > limit else "")


def gpu_pairs(readings: Readings) -> list[Finding]:
    """Between every two GPUs: P2P, NVLink and topology; torch agreeing with NVML on peer access."""
    pairs = readings.get("pairs") or []
    if not pairs:
        return []
    unknown = [pair for pair in pairs if pair.get("p2p_read") is None and pair.get("p2p_nvlink") is None]
    known = [pair for pair in pairs if pair not in unknown]
    over_nvlink = [pair for pair in known if pair.get("p2p_nvlink") == "ok"]
    pcie_only = [pair for pair in known if pair not in over_nvlink and pair.get("p2p_read") == "ok"]
    no_path = [pair for pair in known if pair not in over_nvlink and pair not in pcie_only]
    cross_socket = [pair for pair in pairs if pair.get("topology") == "SYSTEM" and pair not in over_nvlink]
    torch_refuses = [
        pair for pair in pairs if pair.get("torch_peer_access") is False and (pair in over_nvlink or pair in pcie_only)
    ]
    findings = []
    if no_path:
        statuses = sorted({pair.get("p2p_read") or "not readable" for pair in no_path})
        findings.append(
            Finding(
                "warning",
                "p2p",
                f"no peer-to-peer path between {_pair_names(no_path)} (P2P: {', '.join(statuses)}; no NVLink): "
                "GPU-to-GPU copies and NCCL go through host memory",
                "check nvidia-smi topo -m; on bare metal P2P needs ACS/IOMMU settings that allow it, in a VM a "
                "P2P-capable configuration",
            )
        )
    if cross_socket:
        findings.append(
            Finding(
                "warning",
                "topology",
                f"{_pair_names(cross_socket)} sit on different CPU sockets (SYSTEM) without NVLink: their traffic "
                "crosses the inter-socket link",
                "keep multi-GPU jobs on GPUs of one socket, or expect lower AllReduce busbw",
            )
        )
    if torch_refuses:
        findings.append(
            Finding(
                "warning",
                "p2p",
                f"NVML reports P2P for {_pair_names(torch_refuses)} but torch.cuda.can_device_access_peer says no",
                "check IOMMU settings and dmesg; CUDA falls back to copies through host memory",
            )
        )
    if pcie_only:
        topologies = sorted({str(pair.get("topology")) for pair in pcie_only})
        findings.append(
            Finding(
                "info",
                "p2p",
                f"{_pair_names(pcie_only)}: peer-to-peer over PCIe only, no NVLink (topology "
                f"{', '.join(topologies)}): AllReduce is bounded by PCIe",
                "compare busbw with the PCIe link, not with NVLink",
            )
        )
    if over_nvlink:
        findings.append(
            Finding(
                "info",
                "nvlink",
                f"{len(over_nvlink)} of {len(pairs)} GPU pairs reach each other over NVLink",
                NOTHING_TO_DO,
            )
        )
    if unknown:
        first = unknown[0]
        reason = why(readings, f"pair{first['a']}-{first['b']}.p2p_read")
        findings.append(
            Finding(
                "info",
                "p2p",
                f"P2P and NVLink status not readable for {_pair_names(unknown)}: {reason}",
                "nvidia-smi topo -p2p r shows it",
            )
        )
    return findings


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


RULES: tuple[Rule, ...] = (
    cuda_usable,
    driver_version,
    cudnn_and_nccl,
    environment_flags,
    nvml_reachable,
    gpu_summary,
    pcie_link,
    clock_events,
    power_limit,
    persistence,
    ecc,
    mig,
    virtualization,
    nvlink,
    gpu_pairs,
    numa_affinity,
)
