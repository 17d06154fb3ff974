"""Change points of every case on every machine of a store frame, attributed and cached.

A case's history on a machine is its measured runs in time order (``compare.machine_key``,
``compare.case_keys``), each run by its median time. Runs the nightly judged slower once and
its confirmation rerun did not (``baseline.night_marks``: transient) are left out: a load burst
is not a level. A shift next to a run the nightly flagged as a regression, or accepted as the
new normal, says so (``ChangePoint.nightly``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import pandas as pd

from gpubench import suites
from gpubench.analysis.changepoints.attribute import EnvironmentChange, commit_range, environment_changes
from gpubench.analysis.changepoints.cache import Cache, case_key
from gpubench.analysis.changepoints.detect import ALPHA, MIN_EFFECT, find_shifts
from gpubench.analysis.compare import case_keys, higher_is_better
from gpubench.store.machine import machine_key


@dataclass(frozen=True)
class ChangePoint:
    machine: str
    suite: str
    case: str
    run_id: str  # the first run after the shift
    started_at: str
    previous_run_id: str  # the last run before it
    ratio: float  # median time after / before (> 1: slower)
    p_value: float  # permutation test of the runs either side
    runs_before: int
    runs_after: int
    median_before_s: float
    median_after_s: float
    metric: str  # the case's headline figure (GB/s, TFLOP/s, else median_s)
    environment_changes: tuple[EnvironmentChange, ...] = ()
    commits: tuple[str | None, str | None] = (None, None)  # (before, after): a range, not a cause
    nightly: str | None = None  # "regression" or "accepted" next to the shift, else None

    @property
    def confidence(self) -> float:
        return 1 - self.p_value

    @property
    def change(self) -> float:
        """Relative change of the headline figure: GB/s -0.12 is 12% less bandwidth (slower)."""
        if self.metric != "median_s" and higher_is_better(self.metric):
            return 1 / self.ratio - 1
        return self.ratio - 1

    def as_dict(self) -> dict:
        """JSON-ready; no NaN or infinity (null instead)."""
        data = asdict(self)
        data["environment_changes"] = [asdict(change) for change in self.environment_changes]
        data["commits"] = {"before": self.commits[0], "after": self.commits[1]}
        data["confidence"] = self.confidence
        data["change"] = self.change
        return {key: _finite(value) for key, value in data.items()}

    @classmethod
    def from_dict(cls, data: Mapping) -> ChangePoint:
        names = {f for f in cls.__dataclass_fields__}
        values = {key: value for key, value in data.items() if key in names}
        values["environment_changes"] = tuple(EnvironmentChange(**c) for c in data["environment_changes"])
        values["commits"] = (data["commits"]["before"], data["commits"]["after"])
        return cls(**{key: math.nan if value is None and key in _FLOATS else value for key, value in values.items()})


_FLOATS = {"ratio", "p_value", "median_before_s", "median_after_s"}


def change_points(
    frame: pd.DataFrame,
    marks: Mapping[tuple[str, str], str] | None = None,
    results_dir: str | os.PathLike | None = None,
    min_effect: float = MIN_EFFECT,
    alpha: float = ALPHA,
) -> list[ChangePoint]:
    """Every level shift of every case of ``frame`` (store rows), per machine, oldest first.

    ``marks``: ``baseline.night_marks`` of the store; ``results_dir``: where to cache (none:
    no cache). Needs ruptures for cases not in the cache (``ChangePointsUnavailable``).
    """
    rows = _measured(frame)
    if rows.empty:
        return []
    marks = marks or {}
    rows = rows.assign(_machine=machine_key(rows), _key=case_keys(rows))
    keep = [marks.get((run, case)) != "transient" for run, case in zip(rows["run_id"], rows["case"], strict=True)]
    rows = rows[keep].sort_values(["started_at", "run_id"], kind="stable")
    cache = Cache(results_dir)
    settings = {"min_effect": min_effect, "alpha": alpha}
    found = []
    for (machine, key), runs in rows.groupby(["_machine", "_key"], sort=False):
        run_ids = runs["run_id"].astype(str).tolist()
        run_marks = [marks.get((run, key[1])) for run in run_ids]
        cache_key = case_key(run_ids, run_marks, settings)
        cached = cache.get(machine, f"{key[0]}::{key[1]}", cache_key)
        points = _decoded(cached, cache, machine) if cached is not None else None
        if points is None:
            points = _case_change_points(machine, key, runs.reset_index(drop=True), run_marks, min_effect, alpha)
            cache.put(machine, f"{key[0]}::{key[1]}", cache_key, [point.as_dict() for point in points])
        found += points
    cache.save()
    return found


def _decoded(cached: object, cache: Cache, machine: str) -> list[ChangePoint] | None:
    """The cached change points, or None (said once) when the entry is not what this version wrote."""
    try:
        if not isinstance(cached, list):
            raise TypeError("not a list")
        return [ChangePoint.from_dict(data) for data in cached]
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        cache.damaged(machine, error)
        return None


def _case_change_points(machine, key, runs, run_marks, min_effect, alpha) -> list[ChangePoint]:
    medians = runs["median_s"].to_numpy(dtype=float)
    complete = [column for column in runs if runs[column].notna().all()]
    metric = suites.headline_metric(key[0], complete)
    points = []
    for shift in find_shifts(medians, min_effect, alpha):
        i = shift.index
        nearby = {run_marks[j] for j in range(max(i - 1, 0), min(i + 2, len(runs)))} - {None}
        points.append(
            ChangePoint(
                machine=machine,
                suite=key[0],
                case=key[1],
                run_id=str(runs["run_id"].iloc[i]),
                started_at=pd.Timestamp(runs["started_at"].iloc[i]).isoformat(),
                previous_run_id=str(runs["run_id"].iloc[i - 1]),
                ratio=shift.ratio,
                p_value=shift.p_value,
                runs_before=shift.runs_before,
                runs_after=shift.runs_after,
                median_before_s=float(pd.Series(medians[i - shift.runs_before : i]).median()),
                median_after_s=float(pd.Series(medians[i : i + shift.runs_after]).median()),
                metric=metric,
                environment_changes=tuple(environment_changes(runs, i)),
                commits=commit_range(runs, i),
                nightly="regression" if "regression" in nearby else "accepted" if "accepted" in nearby else None,
            )
        )
    return points


def _measured(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty or "median_s" not in frame:
        return frame.iloc[0:0]
    rows = frame[frame["status"] == "ok"] if "status" in frame else frame
    return rows[rows["median_s"].astype(float) > 0]


def _finite(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value
