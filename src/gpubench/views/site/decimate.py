"""A case's series thinned on the server, so that a page of 1,000 runs stays small and responsive.

The newest ``RECENT`` runs are sent as they are (hover shows each run). Older runs, when there are
more than ``MAX_POINTS`` in all, are aggregated into at most ``MAX_POINTS - RECENT`` buckets of
consecutive runs: each bucket is drawn at its middle run's time, with the median of its runs'
medians and, as its band, the lowest low and the highest high (so a bucket never hides spread),
and hover says how many runs it holds and their first and last run ids. Runs the analysis marks
(a change point's first run and the run before it, a night marked regression, accepted or
transient) are never folded into a bucket: they stay single points, where the marks point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

MAX_POINTS = 400
RECENT = 200


def decimate(
    points: Sequence[dict], keep: set[str] | frozenset = frozenset(), max_points: int = MAX_POINTS, recent: int = RECENT
) -> list[dict]:
    """``points`` (dicts with run_id, t, value, low, high; oldest first) with old runs in buckets.

    A bucket is a dict with ``runs`` (how many), ``first``/``last`` run ids and the same fields.
    """
    if len(points) <= max_points:
        return list(points)
    recent = min(recent, max_points // 2)
    old, new = list(points[: len(points) - recent]), list(points[len(points) - recent :])
    budget = max(max_points - recent - sum(1 for p in old if p["run_id"] in keep), 1)
    size = math.ceil(len(old) / budget)
    out: list[dict] = []
    bucket: list[dict] = []
    for point in old:
        if point["run_id"] in keep:
            out += _flush(bucket)
            bucket = []
            out.append(point)
            continue
        bucket.append(point)
        if len(bucket) >= size:
            out += _flush(bucket)
            bucket = []
    out += _flush(bucket)
    return out + new


def _flush(bucket: list[dict]) -> list[dict]:
    if len(bucket) <= 1:
        return bucket
    values = sorted(p["value"] for p in bucket if p["value"] is not None)
    lows = [p["low"] for p in bucket if p["low"] is not None]
    highs = [p["high"] for p in bucket if p["high"] is not None]
    middle = bucket[len(bucket) // 2]
    return [
        {
            "run_id": middle["run_id"],
            "t": middle["t"],
            "value": values[len(values) // 2] if values else None,
            "low": min(lows) if lows else None,
            "high": max(highs) if highs else None,
            "commit": None,
            "runs": len(bucket),
            "first": bucket[0]["run_id"],
            "last": bucket[-1]["run_id"],
        }
    ]
