"""Helpers the suites' must-show lines share (gpu-check's summary): verdicts, and why rows are missing."""

from __future__ import annotations

import pandas as pd


def verdict(ok: bool) -> str:
    return "OK" if ok else "CHECK"


def missing(frame: pd.DataFrame, suite: str, what: str, where: str = "on CUDA") -> str:
    """``what: MISSING``, with the first reason the store gives for the suite's skipped rows."""
    rows = frame[frame["suite"] == suite] if "suite" in frame else frame
    reasons = []
    if "status" in rows and "skip_reason" in rows:
        reasons = sorted(set(rows.loc[rows["status"] == "skipped", "skip_reason"].dropna().astype(str)))
    why = f" (skipped: {reasons[0]})" if reasons else ""
    return f"{what}: MISSING, no {suite} rows {where}{why}"


def ok_rows(frame: pd.DataFrame, suite: str) -> pd.DataFrame:
    if "suite" not in frame or "status" not in frame:
        return frame.iloc[0:0]
    return frame[(frame["suite"] == suite) & (frame["status"] == "ok")]
