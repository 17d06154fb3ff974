"""Recorded readings (``doctor --readings FILE``) checked field by field before any rule sees them.

Readings collected here have the types ``readings.py`` gives them; a file may hold anything. A
field of the wrong type is refused in one line naming the file and the field, never a traceback
inside a rule. Fields this version does not know are left alone.
"""

from __future__ import annotations

import os
from typing import Any

TEXT = (str, type(None))
NUMBER = (int, float, type(None))
WHOLE = (int, type(None))
FLAG = (bool, type(None))
SCALAR = (str, int, float, bool, type(None))

TOP = {"source": TEXT, "process_cpus": TEXT}
TORCH = {
    "version": TEXT,
    "cuda_build": TEXT,
    "cuda_available": FLAG,
    "cuda_unavailable_reason": TEXT,
    "cuda_init_error": TEXT,
    "device_count": WHOLE,
    "cudnn_available": FLAG,
    "cudnn_enabled": FLAG,
    "cudnn_version": SCALAR,
    "nccl_available": FLAG,
    "nccl_version": SCALAR,
}
NVML = {"available": FLAG, "unavailable_reason": TEXT, "driver_version": TEXT, "cuda_driver_version": TEXT}
NVML_WHOLE = {"gpu_count": WHOLE}
GPU = {
    "index": (int,),
    "torch_index": WHOLE,
    "name": TEXT,
    "uuid": TEXT,
    "bus_id": TEXT,
    "memory_bytes": WHOLE,
    "numa_node": WHOLE,
    "cpu_affinity": TEXT,
    "clocks_event_reasons": WHOLE,
    "power_limit_w": NUMBER,
    "power_default_limit_w": NUMBER,
    "persistence_mode": SCALAR,
    "ecc_mode": SCALAR,
    "ecc_volatile_uncorrected": WHOLE,
    "ecc_aggregate_uncorrected": WHOLE,
    "ecc_volatile_corrected": WHOLE,
    "remapped_rows_pending": FLAG,
    "remapped_rows_failure": FLAG,
    "mig_mode": SCALAR,
    "mig_mode_pending": SCALAR,
    "virtualization_mode": SCALAR,
}
PCIE = {
    "gen_current": WHOLE,
    "width_current": WHOLE,
    "gen_idle": WHOLE,
    "width_idle": WHOLE,
    "gen_max": WHOLE,
    "width_max": WHOLE,
    "gen_gpu_max": WHOLE,
    "under_load": FLAG,
    "load_gbps": NUMBER,
}
PAIR = {
    "a": (int,),
    "b": (int,),
    "p2p_read": TEXT,
    "p2p_nvlink": TEXT,
    "topology": TEXT,
    "torch_peer_access": FLAG,
}


def check_recorded(data: dict[str, Any], path: str | os.PathLike) -> None:
    """``ValueError`` (one line naming ``path`` and the field) for a field of the wrong type."""

    def fail(field: str, value: Any, expected: str) -> None:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise ValueError(f"{path}: {field}: expected {expected}, got {shown}")

    def fields(values: Any, spec: dict[str, tuple], where: str) -> None:
        for key, kinds in spec.items():
            value = values.get(key)
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds and int in kinds):
                fail(f"{where}{key}", value, " or ".join(sorted({_NAMES[kind] for kind in kinds})))

    def mapping(value: Any, where: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            fail(where, value, "an object")
        return value

    def items(value: Any, where: str) -> list[dict[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, list):
            fail(where, value, "a list")
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                fail(f"{where}[{index}]", item, "an object")
        return value

    fields(data, TOP, "")
    fields(mapping(data.get("torch"), "torch"), TORCH, "torch.")
    nvml = mapping(data.get("nvml"), "nvml")
    fields(nvml, {**NVML, **NVML_WHOLE}, "nvml.")
    for name in ("environment", "problems"):
        for key, value in mapping(data.get(name), name).items():
            if not isinstance(value, str):
                fail(f"{name}.{key}", value, "a text")
    for index, gpu in enumerate(items(data.get("gpus"), "gpus")):
        fields(gpu, GPU, f"gpus[{index}].")
        fields(mapping(gpu.get("pcie"), f"gpus[{index}].pcie"), PCIE, f"gpus[{index}].pcie.")
        states = gpu.get("nvlink_states")
        if states is not None and (not isinstance(states, list) or not all(isinstance(s, WHOLE) for s in states)):
            fail(f"gpus[{index}].nvlink_states", states, "a list of 0, 1 or null")
    for index, pair in enumerate(items(data.get("pairs"), "pairs")):
        fields(pair, PAIR, f"pairs[{index}].")


_NAMES = {str: "a text", int: "a whole number", float: "a number", bool: "true/false", type(None): "null"}
