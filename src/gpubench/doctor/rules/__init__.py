"""The doctor's rules: pure functions from readings (see readings.py) to findings.

Each rule looks at one thing and returns its findings, none when all is well. A reading NVML or
torch would not give becomes an info finding with the reason they gave ("not supported here").
One module per subject (cuda, driver, environment, gpu, pcie, clocks, ecc, topology); what they
share (``why``, ``gpu_rule``) is in common.py. ``RULES`` is the order findings are given in.
"""

from __future__ import annotations

from gpubench.doctor.readings import Readings
from gpubench.doctor.rules.clocks import CLOCK_EVENTS, clock_events, power_limit
from gpubench.doctor.rules.common import Rule
from gpubench.doctor.rules.cuda import cuda_usable, cudnn_and_nccl
from gpubench.doctor.rules.driver import driver_version, nvml_reachable
from gpubench.doctor.rules.ecc import ecc
from gpubench.doctor.rules.environment import ENVIRONMENT_FLAGS, environment_flags
from gpubench.doctor.rules.gpu import gpu_summary, mig, persistence, virtualization
from gpubench.doctor.rules.pcie import pcie_link
from gpubench.doctor.rules.topology import gpu_pairs, numa_affinity, nvlink
from gpubench.machine.findings import Finding

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


def diagnose(readings: Readings) -> list[Finding]:
    """Every rule's findings on ``readings``, in rule order (sort them with ``sort_findings``)."""
    return [finding for rule in RULES for finding in rule(readings)]


__all__ = [
    "CLOCK_EVENTS",
    "ENVIRONMENT_FLAGS",
    "RULES",
    "Rule",
    "clock_events",
    "cuda_usable",
    "cudnn_and_nccl",
    "diagnose",
    "driver_version",
    "ecc",
    "environment_flags",
    "gpu_pairs",
    "gpu_summary",
    "mig",
    "numa_affinity",
    "nvlink",
    "nvml_reachable",
    "pcie_link",
    "persistence",
    "power_limit",
    "virtualization",
]
