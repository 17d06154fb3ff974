"""The machine a row was measured on: GPU model and host. One rule for the index, baselines,
history and the fleet: figures from another GPU or host say nothing about this one."""

from __future__ import annotations

import pandas as pd

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
