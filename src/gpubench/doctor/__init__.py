"""gpubench doctor: explain a bad number before anyone files a bug.

``collect()`` reads the machine (torch, environment, NVML; links under load) into plain data,
``diagnose(readings)`` turns readings into findings by pure rules, ``judge_run(frame)`` holds a
stored run's figures against the physical limits. See docs/doctor.md.
"""

from gpubench.doctor.findings import SEVERITIES, Finding, count, exit_code, sort_findings
from gpubench.doctor.readings import collect, load_readings
from gpubench.doctor.results import judge_run
from gpubench.doctor.rules import RULES, diagnose

__all__ = [
    "RULES",
    "SEVERITIES",
    "Finding",
    "collect",
    "count",
    "diagnose",
    "exit_code",
    "judge_run",
    "load_readings",
    "sort_findings",
]
