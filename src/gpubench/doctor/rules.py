"""The doctor's rules: pure functions from readings (see readings.py) to findings.

Each rule looks at one thing and returns its findings, none when all is well. A reading NVML or
torch would not give becomes an info finding with the reason they gave ("not supported here").

The rules live in rules_software.py (the stack), rules_gpu.py (each GPU) and rules_topology.py
(between GPUs); this module orders them.
"""

from __future__ import annotations

from gpubench.doctor.findings import Finding
from gpubench.doctor.readings import Readings
from gpubench.doctor.rule_kit import NOTHING_TO_DO, Rule, why
from gpubench.doctor.rules_gpu import (
    CLOCK_EVENT_ACTIONS,
    CLOCK_EVENTS,
    COPY_EFFICIENCY_FLOOR,
    NORMAL_CLOCK_EVENTS,
    POWER_LIMIT_FLOOR,
    SEVERE_CLOCK_EVENTS,
    clock_events,
    ecc,
    gpu_summary,
    mig,
    numa_affinity,
    pcie_link,
    persistence,
    power_limit,
    virtualization,
)
from gpubench.doctor.rules_software import (
    ENVIRONMENT_FLAGS,
    MIN_DRIVER,
    cuda_usable,
    cudnn_and_nccl,
    driver_version,
    environment_flags,
    nvml_reachable,
)
from gpubench.doctor.rules_topology import gpu_pairs, nvlink

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
    "CLOCK_EVENT_ACTIONS",
    "COPY_EFFICIENCY_FLOOR",
    "ENVIRONMENT_FLAGS",
    "MIN_DRIVER",
    "NORMAL_CLOCK_EVENTS",
    "NOTHING_TO_DO",
    "POWER_LIMIT_FLOOR",
    "RULES",
    "SEVERE_CLOCK_EVENTS",
    "Rule",
    "diagnose",
    "why",
    *(rule.__name__ for rule in RULES),
]
