"""What a suite's doctor rules read of stored rows: its measured rows, sizes, numbers, known values.

Rules live in each suite (``suites/<name>/doctor.py``, declared as ``Suite.doctor_rules``); they
share these readers so that a missing column or a text where a number belongs reads the same way
in every rule.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from gpubench.measure.byte_size import human_bytes

LARGE_BYTES = 16 << 20  # the sizes a rule judges: 16 MiB or more, where a link, not latency, bounds the figure
SIZE_COLUMNS = ("bytes", "nbytes", "size_bytes")
NOTHING_TO_DO = "nothing to do"


def measured(frame: pd.DataFrame, suite: str) -> pd.DataFrame:
    if "suite" not in frame or "status" not in frame:
        return frame.iloc[0:0]
    return frame[(frame["suite"] == suite) & (frame["status"] == "ok")]


def sizes(rows: pd.DataFrame) -> pd.Series | None:
    for column in SIZE_COLUMNS:
        if column in rows:
            return pd.to_numeric(rows[column], errors="coerce")
    return None


def number(rows: pd.DataFrame, column: str) -> pd.Series:
    if column not in rows:
        return pd.Series(float("nan"), index=rows.index)
    return pd.to_numeric(rows[column], errors="coerce").astype(float)


def known(value: Any) -> bool:
    return value is not None and not (not isinstance(value, str) and pd.isna(value))


def size_text(nbytes: Any) -> str:
    return human_bytes(nbytes) if known(nbytes) else "size unknown"
