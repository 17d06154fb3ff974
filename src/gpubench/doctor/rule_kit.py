"""What the doctor's rules share: the rule types, per-GPU grouping, and how a missing reading is explained."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from gpubench.doctor.findings import Finding
from gpubench.doctor.readings import Readings, cpu_list
from gpubench.env import pcie_theoretical_gbps

Rule = Callable[[Readings], list[Finding]]


NOTHING_TO_DO = "nothing to do; context for reading the figures"


def why(readings: Readings, key: str) -> str:
    """Why a reading is missing, as NVML or torch said it."""
    return (readings.get("problems") or {}).get(key) or "not read"


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
            Finding(severity, check, f"{gpu_names(indices)}: {message}", action)
            for (severity, check, message, action), indices in grouped.items()
        ]

    return rule


def gpu_names(indices: list[int]) -> str:
    return f"GPU {indices[0]}" if len(indices) == 1 else f"GPUs {cpu_list(indices)}"


def problem_key(gpu: dict[str, Any], name: str) -> str:
    """The key under which ``problems`` says why this GPU's reading ``name`` is missing."""
    return f"gpu{gpu.get('index')}.{name}"


def link_name(gen: Any, width: Any) -> str:
    theory = pcie_theoretical_gbps(gen, width)
    return f"Gen{gen} x{width}" + (f" ({theory:.1f} GB/s per direction)" if theory else "")
