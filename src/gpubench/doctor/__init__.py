"""gpubench doctor: explain a bad number before anyone files a bug.

``collect()`` reads the machine (torch, environment, NVML; links under load) into plain data,
``diagnose(readings)`` turns readings into findings by pure rules, ``judge_run(frame)`` and
``judge_store(frame)`` hold stored figures against the physical limits. Only ``collect`` imports
torch (when called): diagnosing recorded readings or a store does not. See docs/doctor.md.
"""

from __future__ import annotations

from gpubench.doctor.readings import Readings, load_readings
from gpubench.doctor.results import judge_run, judge_store
from gpubench.doctor.rules import RULES, diagnose
from gpubench.machine.findings import SEVERITIES, Finding, count, exit_code, sort_findings


def collect(load: bool = True) -> Readings:
    """Read this machine (``doctor.machine.collect``); imports torch and NVML only now."""
    from gpubench.doctor.machine import collect as read_machine

    return read_machine(load)


__all__ = [
    "RULES",
    "SEVERITIES",
    "Finding",
    "collect",
    "count",
    "diagnose",
    "exit_code",
    "judge_run",
    "judge_store",
    "load_readings",
    "sort_findings",
]
