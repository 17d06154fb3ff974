"""Change points in history: a step is found at its run and attributed to what changed there; a
flat history has none; a slow drift of small steps shows; the nightly's marks are respected."""

from __future__ import annotations

import json
import math
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from compare_support import REPO, bench_case, inject, load, write_json

from gpubench import cli as gpubench_cli
from gpubench.analysis.changepoints import ChangePoint, change_points
from gpubench.analysis.changepoints import cases as cases_module
from gpubench.store import ingest
from gpubench.views.changepoints import describe

RECORDED = REPO / "results" / "json" / "20261127T002306Z-9a356c.json"  # a real CPU run of the copy suite
STEP_CASE = "copy[direction=h2h,host_memory=pageable,bytes=16777216]"
RUNS, STEP_AT = 16, 8


def recorded_history(folder: Path, step: float, driver_from: int | None, seed: int = 5) -> Path:
    """A store of ``RUNS`` nights made of the recorded run: every case at a level that moves by
    ~1.5% from night to night, ``STEP_CASE`` ``step`` times slower from night ``STEP_AT`` on,
    and the driver 585.12 instead of 580.65 from night ``driver_from`` on."""
    rng = np.random.default_rng(seed)
    store = folder / "results"
    recorded = load(RECORDED)
    cases = [bench_case(bench) for bench in recorded["benchmarks"]]
    for night in range(RUNS):
        data = recorded
        for case in cases:
            factor = math.exp(rng.normal(0.0, 0.015)) * (step if case == STEP_CASE and night >= STEP_AT else 1.0)
            data = inject(data, case, factor)
        data["gpubench"]["run_id"] = f"night-{night:02d}"
        started = datetime.fromisoformat(recorded["gpubench"]["started_at"]) + timedelta(days=night)
        data["gpubench"]["started_at"] = started.isoformat()
        data["machine_info"]["gpubench"]["driver_version"] = (
            "585.12" if driver_from is not None and night >= driver_from else "580.65"
        )
        data["machine_info"]["gpubench"]["git_commit"] = f"{night:02d}" + "c" * 38
        ingest(write_json(data, folder / f"night-{night:02d}.json"), store)
    return store


@pytest.fixture
def history_json(capsys: pytest.CaptureFixture):
    def run(store: Path) -> dict:
        code = gpubench_cli.main(["history", "--results", str(store), "--out", str(store / "png"), "--format", "json"])
        out = capsys.readouterr().out
        assert code == 0
        return json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in strict JSON"))

    return run


def test_a_step_is_found_at_its_run_and_attributed(tmp_path: Path, history_json, capsys) -> None:
    store = recorded_history(tmp_path, step=1.15, driver_from=STEP_AT)
    document = history_json(store)
    (point,) = document["change_points"]
    assert (point["case"], point["run_id"]) == (STEP_CASE, f"night-{STEP_AT:02d}")
    assert point["ratio"] == pytest.approx(1.15, rel=0.03) and point["confidence"] >= 0.99
    assert point["metric"] == "gbps" and point["change"] == pytest.approx(1 / 1.15 - 1, rel=0.2)
    assert point["environment_changes"] == [{"key": "driver_version", "before": "580.65", "after": "585.12"}]
    assert point["commits"] == {"before": "06" + "c" * 38, "after": "09" + "c" * 38}  # a range, one run of slack
    assert {row["case"] for row in document["cases"]} >= {STEP_CASE} and document["plots"]
    # The table says the same in a line.
    gpubench_cli.main(["history", "--results", str(store), "--out", str(tmp_path / "png")])
    table = capsys.readouterr().out
    assert "copy h2h pageable 16777216 -13." in table and "GB/s from run night-08" in table
    assert "when driver_version 580.65 -> 585.12" in table


def test_a_flat_history_has_no_change_point(tmp_path: Path, history_json) -> None:
    store = recorded_history(tmp_path, step=1.0, driver_from=STEP_AT)  # the driver changed, nothing moved
    assert history_json(store)["change_points"] == []


def case_frame(levels: list[float] | np.ndarray, **columns) -> pd.DataFrame:
    """One case's history on one machine: run i at ``levels[i]``; columns: per-run values."""
    n = len(levels)
    frame = pd.DataFrame(
        {
            "run_id": [f"r{i:03d}" for i in range(n)],
            "started_at": pd.date_range("2026-01-01", periods=n, freq="D", tz="UTC"),
            "suite": "s",
            "case": "c",
            "status": "ok",
            "median_s": np.asarray(levels, dtype=float),
            "gpu_name": "H200",
            "hostname": "node1",
            "git_commit": [f"commit{i}" for i in range(n)],
        }
    )
    for key, values in columns.items():
        frame[key] = values
    return frame


def noisy(steps: dict[int, float], n: int, sigma: float = 0.01, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    level = np.zeros(n)
    for at, factor in steps.items():
        level[at:] += math.log(factor)
    return np.exp(level + rng.normal(0.0, sigma, n)) * 1e-3


@pytest.mark.parametrize("changed_at, attributed", [(9, True), (10, True), (11, True), (8, False), (12, False)])
def test_attribution_allows_one_run_either_side(changed_at: int, attributed: bool) -> None:
    nccl = ["2.21"] * changed_at + ["2.23"] * (24 - changed_at)
    (point,) = change_points(case_frame(noisy({10: 0.8}, 24), nccl_version=nccl))
    assert point.run_id == "r010" and point.ratio == pytest.approx(0.8, rel=0.03)
    found = [(c.key, c.before, c.after) for c in point.environment_changes]
    assert found == ([("nccl_version", "2.21", "2.23")] if attributed else [])


def test_a_slow_drift_of_small_steps_shows() -> None:
    # Five steps of 3% six runs apart, each clear of the 0.5% noise but under the 5% a change
    # point needs: they merge into the shifts they add up to, none is lost, none is reported alone.
    steps = {12 + 6 * i: 1.03 for i in range(5)}
    points = change_points(case_frame(noisy(steps, 48, sigma=0.005)))
    assert points, "a 16% drift went unseen"
    assert all(11 <= int(point.run_id[1:]) <= 37 and point.ratio > 1.05 for point in points)
    assert math.prod(point.ratio for point in points) == pytest.approx(1.03**5, rel=0.06)
    assert change_points(case_frame(noisy({}, 48, sigma=0.005))) == []


def test_small_or_unproven_shifts_are_not_change_points() -> None:
    assert change_points(case_frame(noisy({20: 1.03}, 40, sigma=0.003))) == []  # real, but under 5%
    assert change_points(case_frame(noisy({}, 60, sigma=0.08, seed=0))) == []  # noise 8%: nothing proven


def test_transient_nights_are_left_out_and_marks_are_shown() -> None:
    levels = noisy({24: 1.25}, 40)
    levels[8:12] *= 1.6  # four nights 60% slow that their reruns did not confirm: not a level
    frame = case_frame(levels)
    marks = {(f"r{night:03d}", "c"): "transient" for night in range(8, 12)}
    (point,) = change_points(frame, {**marks, ("r024", "c"): "regression"})
    assert point.run_id == "r024" and point.nightly == "regression"
    (accepted,) = change_points(frame, {**marks, ("r025", "c"): "accepted"})
    assert accepted.nightly == "accepted"


def test_results_are_cached_per_case_and_recomputed_when_a_run_arrives(tmp_path: Path, monkeypatch) -> None:
    frame = case_frame(noisy({10: 1.3}, 24))
    first = change_points(frame, results_dir=tmp_path)
    assert len(first) == 1 and list((tmp_path / "cache" / "changepoints").glob("*.json"))

    def refuse(*args, **kwargs):
        raise AssertionError("computed again")

    monkeypatch.setattr(cases_module, "find_shifts", refuse)
    assert change_points(frame, results_dir=tmp_path) == first  # from the cache, equal field by field
    longer = case_frame(noisy({10: 1.3}, 25))
    with pytest.raises(AssertionError, match="computed again"):
        change_points(longer, results_dir=tmp_path)


def test_json_is_strict_and_round_trips() -> None:
    levels = noisy({10: 1.3}, 24)
    (point,) = change_points(case_frame(levels))
    odd = ChangePoint.from_dict({**point.as_dict(), "median_before_s": None})
    assert odd.as_dict()["median_before_s"] is None
    json.dumps(odd.as_dict(), allow_nan=False)
    assert ChangePoint.from_dict(point.as_dict()) == point
    # The size shown is the step in the data: the median time after run 10 over the median before
    # (the x1.3 step blurred by the 1% noise of each run), to the tenth of a percent shown.
    step = float(np.median(levels[10:]) / np.median(levels[:10]))
    assert abs(step - 1.3) < 0.02
    shown = describe(point)
    assert shown.startswith(f"c {step - 1:+.1%} time from run r010 (2026-01-11 00:00 UTC), confidence "), shown


def test_without_ruptures_history_says_so_and_carries_on(tmp_path: Path, monkeypatch, capsys) -> None:
    store = recorded_history(tmp_path, step=1.15, driver_from=None)
    monkeypatch.setitem(sys.modules, "ruptures", None)  # import ruptures -> ImportError
    code = gpubench_cli.main(["history", "--results", str(store), "--out", str(tmp_path / "png")])
    captured = capsys.readouterr()
    assert code == 0 and "# change points need the ruptures package: pip install ruptures" in captured.out
    assert captured.err.count("change points need the ruptures package") == 1
    gpubench_cli.main(["history", "--results", str(store), "--out", str(tmp_path / "png"), "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert document["change_points"] is None and "pip install ruptures" in document["change_points_unavailable"]


def test_history_reads_every_column_a_shift_is_attributed_to():
    from gpubench.analysis.changepoints.attribute import ATTRIBUTABLE
    from gpubench.analysis.history import HISTORY_COLUMNS

    assert set(ATTRIBUTABLE) <= set(HISTORY_COLUMNS)  # else history and the nightly attribute nothing
