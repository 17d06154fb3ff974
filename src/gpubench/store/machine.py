"""The machine a row was measured on: GPU model and host. One rule for the index, baselines,
history and the fleet: figures from another GPU or host say nothing about this one."""

from __future__ import annotations

import pandas as pd

from gpubench.files.terminal import printable
from gpubench.store.schema import StoreError

MACHINE_COLUMNS = ("gpu_name", "hostname")
# The setup a run was measured under (same on every row of a run): what makes runs of one
# machine, or machines of one model, comparable. The index keeps them per run.
ENVIRONMENT_COLUMNS = (
    "torch_version",
    "cuda_version",
    "cudnn_version",
    "nccl_version",
    "driver_version",
    "cuda_driver_version",
    "gpu_count",
    "pcie_gen_current",
    "pcie_width_current",
    "cpu_model",
    "cpu_count",
    "platform",
    "python_version",
    "torch_num_threads",
    "git_commit",
)


def machine_key(frame: pd.DataFrame) -> pd.Series:
    """``<GPU model> @ <host>`` per row (``no GPU @ host`` without one)."""
    gpu = frame["gpu_name"].astype("string") if "gpu_name" in frame else pd.Series(pd.NA, index=frame.index)
    host = frame["hostname"].astype("string") if "hostname" in frame else pd.Series(pd.NA, index=frame.index)
    return gpu.fillna("no GPU").astype(str) + " @ " + host.fillna("unknown host").astype(str)


def machines_named(runs: pd.DataFrame, name: str) -> list[str]:
    """The machine keys of ``runs`` (runs index rows) that ``name`` names: a key itself, or a host
    name (every GPU model seen on that host). None named is an error naming what is there."""
    keys = sorted(set(runs.loc[(runs["machine"] == name) | (runs["hostname"] == name), "machine"]))
    if not keys:
        hosts = sorted({str(host) for host in runs["hostname"].dropna()})
        shown = ", ".join(hosts[:10]) + (f" and {len(hosts) - 10} more" if len(hosts) > 10 else "")
        raise StoreError(f"no machine named {printable(name)!r} in the store (hosts: {shown or 'none'})")
    return keys
