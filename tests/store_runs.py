"""Run files for store tests, made from a committed real run (schema v1) without running anything."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "results" / "runs"
COPY_RUN = COMMITTED / "20261127T002306Z-9a356c.parquet"  # the copy suite, 40 cases (5 measured)
TIMES = ("median_s", "iqr_s", "q1_s", "q3_s", "min_s", "max_s", "mean_s", "stddev_s", "latency_us")


def copy_run(
    run_id: str,
    started_at: str,
    hostname: str = "vm",
    gpu_name: str | None = None,
    slower: float = 1.0,
    seed: int = 0,
    noise: float = 0.0,
    **environment: object,
) -> pd.DataFrame:
    """The committed copy run as another run: times x ``slower`` (x per-case noise), rates / it."""
    frame = pd.read_parquet(COPY_RUN)
    rng = np.random.default_rng(seed)
    factor = slower * np.exp(rng.normal(0.0, noise, len(frame))) if noise else np.full(len(frame), slower)
    for column in TIMES:
        frame[column] = frame[column].astype(float) * factor
    frame["gbps"] = frame["gbps"].astype(float) / factor
    pairs = zip(frame["samples_s"], factor, strict=True)
    frame["samples_s"] = [None if samples is None else [v * f for v in samples] for samples, f in pairs]
    frame["run_id"] = run_id
    frame["started_at"] = pd.Timestamp(started_at, tz="UTC")
    frame["hostname"] = hostname
    frame["gpu_name"] = pd.array([gpu_name] * len(frame), dtype="string")
    for key, value in environment.items():
        frame[key] = value
    return frame
