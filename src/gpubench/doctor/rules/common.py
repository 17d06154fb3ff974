"""What the rules share: why a reading is missing, and turning a per-GPU judgement into a rule."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from gpubench.doctor.readings import Readings, cpu_list
from gpubench.machine.findings import Finding

NOTHING_TO_DO = "nothing to do; context for reading the figures"
RESET_WHEN_IDLE = "reset the GPU when it is idle (sudo nvidia-smi -r -i <index>)"

Rule = Callable[[Readings], list[Finding]]
GpuFinding = tuple[str, str, str, str]  # severity, check, message after "GPU n: ", action
GpuJudge = Callable[[Readings, dict[str, Any]], list[GpuFinding]]


def why(readings: Readings, key: str) -> str:
    """Why a reading is missing, as NVML or torch said it."""
    return (readings.get("problems") or {}).get(key) or "not read"


def gpu_key(gpu: dict[str, Any], name: str) -> str:
    """The key under which ``problems`` says why this GPU's reading ``name`` is missing."""
    return f"gpu{gpu.get('index')}.{name}"


def unreadable(
    readings: Readings, gpu: dict[str, Any], name: str, check: str, what: str, action: str
) -> list[GpuFinding]:
    """A per-GPU rule's only finding when its reading ``name`` is missing: ``what``, then why it is."""
    return [("info", check, f"{what}: {why(readings, gpu_key(gpu, name))}", action)]


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
