"""Quartiles by one definition, whichever path measured a case: linear interpolation of the raw
samples (numpy's default, ``method="linear"``).

pytest-benchmark computes its own q1/q3 (the medians of each half of the sorted samples), so a
store fed by both pytest and torchrun would hold two definitions side by side. Ingest therefore
recomputes ``median_s``, ``q1_s``, ``q3_s`` and ``iqr_s`` from ``stats.data`` and marks the row
``quartile_source = "samples"``; the reader does the same for runs stored before (never
rewriting them). A row without raw samples (another suite's JSON without ``stats.data``) keeps
the figures it came with, marked ``"stored"``. See docs/SCHEMA.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

FROM_SAMPLES, STORED = "samples", "stored"
SOURCE_COLUMN = "quartile_source"


def quantiles(samples: Sequence[float], probabilities: Sequence[float]) -> list[float]:
    """The ``probabilities`` quantiles of ``samples``, by linear interpolation."""
    if len(samples) == 0:
        raise ValueError("quantiles of no samples")
    return [float(value) for value in np.quantile(np.asarray(samples, dtype=float), probabilities)]


def quartile_columns(samples: Sequence[float] | None) -> dict[str, Any]:
    """``median_s``, ``q1_s``, ``q3_s``, ``iqr_s`` from the samples, marked as such; without
    samples only the mark that the stored figures stand."""
    if samples is None or len(samples) == 0:
        return {SOURCE_COLUMN: STORED}
    q1, median, q3 = quantiles(samples, (0.25, 0.5, 0.75))
    return {"median_s": median, "q1_s": q1, "q3_s": q3, "iqr_s": q3 - q1, SOURCE_COLUMN: FROM_SAMPLES}


def with_sample_quartiles(frame: Any) -> Any:
    """``frame`` (rows read back from the store) with the quartiles of rows stored before ingest
    computed them: recomputed from ``samples_s``, or marked stored. Measured rows only.

    Vectorised: the rows' samples are stacked by length (runs share a few sample counts) and
    each stack takes one ``np.quantile``; a store's history is hundreds of thousands of rows.
    """
    if frame.empty or "median_s" not in frame:
        return frame
    frame = frame.copy()
    if SOURCE_COLUMN not in frame:
        frame[SOURCE_COLUMN] = None
    frame[SOURCE_COLUMN] = frame[SOURCE_COLUMN].astype("string")
    pending = (frame[SOURCE_COLUMN].isna() & frame["median_s"].notna()).to_numpy(dtype=bool)
    samples = frame["samples_s"].to_numpy(dtype=object) if "samples_s" in frame else np.full(len(frame), None)
    positions = np.flatnonzero(pending)
    with_samples = [p for p in positions if not _missing(samples[p])]
    source = frame[SOURCE_COLUMN].to_numpy(dtype=object)
    source[positions] = STORED
    by_length: dict[int, list[int]] = {}
    for position in with_samples:
        by_length.setdefault(len(samples[position]), []).append(position)
    for rows in by_length.values():
        stack = np.array([np.asarray(samples[p], dtype=float) for p in rows])
        q1, median, q3 = np.quantile(stack, (0.25, 0.5, 0.75), axis=1)
        for column, values in (("median_s", median), ("q1_s", q1), ("q3_s", q3), ("iqr_s", q3 - q1)):
            if column not in frame:
                frame[column] = pd.array([None] * len(frame), dtype="Float64")
            frame.iloc[rows, frame.columns.get_loc(column)] = values
        source[rows] = FROM_SAMPLES
    frame[SOURCE_COLUMN] = pd.array(source, dtype="string")
    return frame


def _missing(values: Any) -> bool:
    return values is None or (isinstance(values, float) and values != values) or len(values) == 0
