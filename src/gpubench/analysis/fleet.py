"""The fleet: each machine against its peers (the other machines of its GPU model), case by case.

Many nodes write one store; a bad node is one whose figures sit apart from its peers'. For each
machine (GPU model and host) and case, the figure is that of the machine's latest run that
measured the case. A machine is judged on a case when at least ``min_peers`` other machines of
its GPU model measured it; then, on a log scale, its distance from the peers' median is set
against the peers' own spread, the median absolute deviation (MAD, scaled by 1.4826 to read as
a standard deviation):

* outlier when ``|log(value / peers' median)| > mad_factor x 1.4826 x MAD`` of the peers' logs
  and the figure differs from the peers' median by at least ``min_gap`` (a fleet that agrees to
  0.1% must not flag a 0.5% difference);
* ``ratio`` = the machine's headline figure / the peers' median (GB/s, TFLOP/s: below 1 is
  slower; times: above 1 is slower). Slower outliers fail; faster ones are shown, never fail.

Peers are comparable only when their setups agree: the environment keys that differ among the
machines of a model (driver, torch, CUDA...) are reported beside the verdicts. See
docs/SCHEMA.md, "The fleet".
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from gpubench import suites
from gpubench.analysis.compare import higher_is_better
from gpubench.analysis.rules import MAD_FACTOR, MIN_GAP, MIN_PEERS
from gpubench.store.index import run_index
from gpubench.store.machine import machine_key
from gpubench.store.read import matching, read_files, select_runs
from gpubench.store.schema import StoreError

MAD_TO_SIGMA = 1.4826
READ_COLUMNS = ("gpu_name", "hostname", "median_s", *suites.all_headlines())


@dataclass(frozen=True)
class Standing:
    """One machine's figure for one case, set against its peers."""

    machine: str
    gpu_name: str
    suite: str
    case: str
    run_id: str
    metric: str
    value: float
    peers_median: float
    ratio: float  # value / peers' median
    peers: int
    deviation: float  # |log ratio| in units of the peers' scaled MAD (inf when the MAD is 0)
    slower: bool
    outlier: bool


@dataclass(frozen=True)
class EnvironmentSpread:
    """An environment key whose value differs among the machines of one GPU model."""

    gpu_name: str
    key: str
    values: dict[str, str | None]


@dataclass
class Fleet:
    standings: list[Standing] = field(default_factory=list)
    environment: list[EnvironmentSpread] = field(default_factory=list)
    unjudged: int = 0  # (machine, case) pairs with fewer than min_peers peers
    rule: dict[str, float] = field(default_factory=dict)

    @property
    def outliers(self) -> list[Standing]:
        return [standing for standing in self.standings if standing.outlier]

    @property
    def slower_outliers(self) -> list[Standing]:
        return [standing for standing in self.outliers if standing.slower]

    @property
    def exit_code(self) -> int:
        return 1 if self.slower_outliers else 0

    def machines(self) -> pd.DataFrame:
        """Per machine: cases judged, slower and faster outliers, median time ratio to peers."""
        columns = ["machine", "gpu_name", "cases", "slower_outliers", "faster_outliers", "median_time_ratio"]
        if not self.standings:
            return pd.DataFrame(columns=columns)
        frame = pd.DataFrame([vars(standing) for standing in self.standings])
        frame["time_ratio"] = [time_ratio(s) for s in self.standings]
        frame["slower_outlier"] = frame["outlier"] & frame["slower"]
        frame["faster_outlier"] = frame["outlier"] & ~frame["slower"]
        out = frame.groupby(["machine", "gpu_name"], sort=True).agg(
            cases=("case", "size"),
            slower_outliers=("slower_outlier", "sum"),
            faster_outliers=("faster_outlier", "sum"),
            median_time_ratio=("time_ratio", "median"),
        )
        return out.reset_index()[columns]


def time_ratio(standing: Standing) -> float:
    """The ratio read as time (above 1: slower), whatever the headline figure."""
    return 1 / standing.ratio if standing.metric != "median_s" and higher_is_better(standing.metric) else standing.ratio


def latest_figures(
    results_dir: str | os.PathLike, suites: list[str] | None = None, case_regex: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows, runs): per machine and case, the row of the machine's latest run that measured it;
    and the index rows of those runs. The index names the runs; only they are read."""
    index = run_index(results_dir)
    runs = select_runs(index)
    names = sorted(
        {case for measured_id in set(runs["measured_id"].tolist()) for _, case in index.measured[measured_id]}
    )
    kept = (
        set(names) if not case_regex else {n for n, hit in zip(names, matching(names, case_regex), strict=True) if hit}
    )
    latest: dict[tuple[str, str, str], str] = {}  # (machine, suite, case) -> run id
    # Runs share few sets of measured cases: per machine, only the newest run of each set can be
    # the latest of any of its cases, so a year of runs is walked as a handful per machine.
    newest = runs.iloc[::-1].drop_duplicates(["machine", "measured_id"])
    for run_id, machine, measured_id in zip(newest["run_id"], newest["machine"], newest["measured_id"], strict=True):
        for suite, case in index.measured[measured_id]:
            if (suites and suite not in suites) or case not in kept:
                continue
            latest.setdefault((machine, suite, case), run_id)
    chosen = runs[runs["run_id"].isin(set(latest.values()))]
    rows = pc.field("status") == "ok"
    if suites:
        rows = rows & pc.field("suite").isin(sorted(set(suites)))
    frame = read_files(index, chosen, READ_COLUMNS, rows)
    if frame.empty:
        return frame, chosen
    frame["machine"] = machine_key(frame)
    keys = zip(frame["machine"], frame["suite"].astype(object), frame["case"].astype(object), frame["run_id"],
               strict=True)  # fmt: skip
    keep = [latest.get((machine, suite, case)) == run_id for machine, suite, case, run_id in keys]
    return frame[pd.Series(keep, index=frame.index, dtype=bool)].reset_index(drop=True), chosen


def judge_fleet(
    latest: pd.DataFrame,
    runs: pd.DataFrame | None = None,
    min_peers: int = MIN_PEERS,
    mad_factor: float = MAD_FACTOR,
    min_gap: float = MIN_GAP,
) -> Fleet:
    """Every machine against its peers, case by case (see the module docstring)."""
    if min_peers < 1:
        raise ValueError(f"--min-peers must be at least 1, got {min_peers}")
    fleet = Fleet(rule={"min_peers": min_peers, "mad_factor": mad_factor, "min_gap": min_gap})
    if latest.empty:
        return fleet
    gpu = latest["gpu_name"].astype("string").fillna("no GPU") if "gpu_name" in latest else "no GPU"
    latest = latest.assign(gpu_model=gpu)
    for (model, suite, case), group in latest.groupby(["gpu_model", "suite", "case"], sort=True):
        if len(group) - 1 < min_peers:
            fleet.unjudged += len(group)
            continue
        metric = _headline(group)
        fleet.standings += _standings(group, str(model), str(suite), str(case), metric, mad_factor, min_gap)
    if runs is not None:
        fleet.environment = environment_spread(runs)
    return fleet


def _standings(group: pd.DataFrame, model: str, suite: str, case: str, metric: str, mad_factor: float,
               min_gap: float) -> list[Standing]:  # fmt: skip
    """Each machine of ``group`` (one GPU model, one case) against the others, all at once: row i
    of ``peers`` is every value but the i-th."""
    values = group[metric].astype(float).to_numpy()
    count = len(values)
    peers = np.broadcast_to(values, (count, count))[~np.eye(count, dtype=bool)].reshape(count, count - 1)
    centre = np.median(peers, axis=1)
    ratio = values / centre
    logs = np.log(peers / centre[:, None])
    mad = MAD_TO_SIGMA * np.median(np.abs(logs - np.median(logs, axis=1)[:, None]), axis=1)
    distance = np.abs(np.log(ratio))
    with np.errstate(divide="ignore", invalid="ignore"):
        deviation = np.where(mad > 0, distance / mad, np.where(distance > 0, math.inf, 0.0))
    outlier = (deviation > mad_factor) & (np.abs(ratio - 1) >= min_gap)
    slower = ratio < 1 if metric != "median_s" and higher_is_better(metric) else ratio > 1
    rows = zip(group["machine"].astype(str), group["run_id"].astype(str), values, centre, ratio, deviation, outlier,
               slower, strict=True)  # fmt: skip
    return [Standing(machine, model, suite, case, run_id, metric, float(value), float(middle), float(share),
                     count - 1, float(away), bool(is_slower), bool(is_outlier))
            for machine, run_id, value, middle, share, away, is_outlier, is_slower in rows]  # fmt: skip


def _headline(group: pd.DataFrame) -> str:
    complete = list(group.columns[group.notna().all().to_numpy()])
    return suites.headline_metric(str(group["suite"].iloc[0]), complete)


def environment_spread(runs: pd.DataFrame) -> list[EnvironmentSpread]:
    """Per GPU model, the environment keys whose values differ among its machines' latest runs."""
    if runs.empty:
        return []
    newest = runs.sort_values("started_at", kind="stable").groupby("machine", sort=True).tail(1)
    spreads = []
    gpu = newest["gpu_name"].astype("string").fillna("no GPU")
    for model, group in newest.groupby(gpu, sort=True):
        if len(group) < 2:
            continue
        pairs = zip(group["machine"], group["environment"], strict=True)
        settings = {str(machine): json.loads(text or "{}") for machine, text in pairs}
        keys = sorted({key for values in settings.values() for key in values})
        for key in keys:
            values = {machine: settings[machine].get(key) for machine in sorted(settings)}
            if len(set(values.values())) > 1:
                spreads.append(EnvironmentSpread(str(model), key, values))
    return spreads


def require_runs(latest: pd.DataFrame, results_dir: str | os.PathLike) -> None:
    if latest.empty:
        raise StoreError(f"no measured case to compare across machines in {results_dir}")
