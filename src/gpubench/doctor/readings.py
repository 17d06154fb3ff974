"""What the doctor's readings are: plain JSON-ready data, recorded and read back.

Readings are data, not objects: a machine's readings (``machine.collect``) can be recorded
(``gpubench doctor --json`` prints them) and diagnosed anywhere (``gpubench doctor --readings
FILE``), and the rules never touch torch or NVML, so this module imports neither. Any NVML value
may be None; then ``problems["<key>"]`` says why ("not supported here", "no permission", "not in
this driver", ...). Keys: ``gpu0.ecc_mode``, ``gpu0.pcie.gen_current``, ``pair0-1.p2p_read``,
``driver_version``. The layout is what ``machine.collect`` builds (docs/doctor.md describes it).
"""

from __future__ import annotations

import itertools
import os
from typing import Any

from gpubench.doctor.recorded import check_recorded
from gpubench.files.jsonfile import read_json

Readings = dict[str, Any]
FORMAT = 1


def load_readings(path: str | os.PathLike) -> Readings:
    """Recorded readings: a readings file, or the output of ``gpubench doctor --json``."""
    data = read_json(path)
    if isinstance(data, dict) and isinstance(data.get("readings"), dict):
        data = data["readings"]
    if not isinstance(data, dict) or not isinstance(data.get("torch"), dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path}: not doctor readings (format {FORMAT}, as 'gpubench doctor --json' writes them)")
    check_recorded(data, path)
    return data


def cpu_list(cpus: Any) -> str:
    """CPU ids as a Linux cpulist: ``[0, 1, 2, 5]`` -> ``"0-2,5"``."""
    ordered = sorted(set(cpus))
    ranges = []
    for _, run in itertools.groupby(enumerate(ordered), key=lambda pair: pair[1] - pair[0]):
        ids = [cpu for _, cpu in run]
        ranges.append(f"{ids[0]}-{ids[-1]}" if len(ids) > 1 else str(ids[0]))
    return ",".join(ranges)


def parse_cpu_list(text: str) -> set[int]:
    """``"0-2,5"`` -> ``{0, 1, 2, 5}``."""
    cpus: set[int] = set()
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return cpus
