"""The store's schema: version, column names and the types that must not depend on the data."""

from __future__ import annotations

SCHEMA_VERSION = 1
RUNS_DIR = "runs"
QUARANTINE_DIR = "quarantine"  # where `gpubench store check --quarantine` moves bad run files

STAT_COLUMNS = {
    "median": "median_s",
    "iqr": "iqr_s",
    "q1": "q1_s",
    "q3": "q3_s",
    "min": "min_s",
    "max": "max_s",
    "mean": "mean_s",
    "stddev": "stddev_s",
    "rounds": "rounds",
}
RUN_COLUMNS = ("schema_version", "run_id", "started_at", "profile", "source")
CASE_COLUMNS = (
    "suite",
    "case",
    "name",
    "fullname",
    "group",
    "status",
    "skip_reason",
    "ops_per_sample",
    "clock",
    "samples_s",
)
# Columns whose type must not depend on whether a run happened to have a value for them.
KNOWN_TYPES = {
    "ops_per_sample": "Int64",
    "rounds": "Int64",
    "skip_reason": "string",
    "quartile_source": "string",
    "cuda_version": "string",
    "cudnn_version": "string",
    "nccl_version": "string",
    "driver_version": "string",
    "cuda_driver_version": "string",
    "git_commit": "string",
    "gpu_name": "string",
    "gpu_uuid": "string",
    "nvml_problems": "string",
    "nvml_unavailable_reason": "string",
    "cuda_unavailable_reason": "string",
    "gpu_count": "Int64",
    "gpu_memory_bytes": "Int64",
    "pcie_gen_current": "Int64",
    "pcie_width_current": "Int64",
    "pcie_gen_max": "Int64",
    "pcie_width_max": "Int64",
    "pcie_gen_gpu_max": "Int64",
}
RESERVED = frozenset(RUN_COLUMNS) | frozenset(CASE_COLUMNS) | frozenset(STAT_COLUMNS.values())


class StoreError(ValueError):
    """Bad input or a store that cannot take it; the message is one line, for the user."""
