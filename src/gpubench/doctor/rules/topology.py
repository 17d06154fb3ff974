"""How GPUs reach each other (NVLink, P2P, sockets) and the CPUs near each GPU."""

from __future__ import annotations

from typing import Any

from gpubench.doctor.readings import Readings, parse_cpu_list
from gpubench.doctor.rules.common import NOTHING_TO_DO, GpuFinding, gpu_key, gpu_rule, why
from gpubench.machine.findings import Finding


@gpu_rule
def nvlink(readings: Readings, gpu: dict[str, Any]) -> list[GpuFinding]:
    """NVLinks down on a GPU that has them."""
    states = gpu.get("nvlink_states")
    if states is None:
        reason = why(readings, gpu_key(gpu, "nvlink_states"))
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
