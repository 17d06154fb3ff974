"""Change points as lines of text, e.g. ``copy h2d pinned 268435456 -12.0% GB/s from run R
(2026-05-01 02:17 UTC), confidence 99.5%, when driver_version 580.65 -> 585.12; commits a..b``."""

from __future__ import annotations

import pandas as pd

from gpubench.analysis.changepoints.cases import ChangePoint
from gpubench.views.history import short_case, unit_of


def describe(point: ChangePoint) -> str:
    unit = "time" if point.metric == "median_s" else unit_of(point.metric)
    when = pd.Timestamp(point.started_at).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        f"{short_case(point.case)} {point.change:+.1%} {unit} from run {point.run_id} ({when}), "
        f"confidence {point.confidence:.1%}"
    )
    if point.environment_changes:
        text += ", when " + ", ".join(
            f"{c.key} {c.before or '-'} -> {c.after or '-'}" for c in point.environment_changes
        )
    before, after = point.commits
    if before != after:
        text += f"; commits {_short(before)}..{_short(after)}"
    if point.nightly:
        text += f"; nightly: {point.nightly}"
    return text


def lines(points: list[ChangePoint]) -> list[str]:
    """Per machine, one line per change point, oldest first."""
    if not points:
        return ["no change point: every case held its level"]
    out = []
    for machine in dict.fromkeys(point.machine for point in points):
        out.append(f"change points on {machine}:")
        here = sorted((p for p in points if p.machine == machine), key=lambda p: (p.started_at, p.run_id))
        out += [f"  {describe(point)}" for point in here]
    return out


def _short(commit: str | None) -> str:
    return commit[:12] if commit else "?"
