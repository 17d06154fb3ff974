"""The nightly on recorded runs: a confirmed x1.3 regression of a case whose own detectable figure
is ~20% (above the 5% threshold: ``noisy`` under the old rule) fails the night."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from compare_support import REPO, bench_case, inject, load, write_json

from gpubench.analysis.baseline import accept_night, flagged_cases, night_marks
from gpubench.nightly import job as nightly_module
from gpubench.pipeline import Outcome, RunRequest
from gpubench.store import ingest

RECORDED = REPO / "results" / "json" / "20261127T002306Z-9a356c.json"  # a real CPU run of the copy suite
CASE = "copy[direction=h2h,host_memory=pageable,bytes=16777216]"
# Earlier nights 6.5% above and 6% below the centre: allowance 2 x log(1 / 0.94), detectable ~19%.
HISTORY = (1.0, 1.065, 0.94)


def recorded_run(
    factors: dict[str, float], run_id: str, days_later: float, folder: Path, driver: str | None = None
) -> Path:
    """The recorded run, each case ``factors[case]`` (default 1) times as long, dated later."""
    data = load(RECORDED)
    if driver:
        data["machine_info"]["gpubench"]["driver_version"] = driver
    for case in [bench_case(bench) for bench in data["benchmarks"]]:
        data = inject(data, case, factors.get(case, factors.get("*", 1.0)))
    data["gpubench"]["run_id"] = run_id
    started = datetime.fromisoformat(data["gpubench"]["started_at"]) + timedelta(days=days_later)
    data["gpubench"]["started_at"] = started.isoformat()
    return write_json(data, folder / f"{run_id}.json")


@pytest.fixture(params=[1.3])
def recorded_nights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Path:
    """A store with three earlier nights; ``run_suites`` replays today's run (``CASE`` x1.3) and
    its rerun (``CASE`` x the fixture's parameter)."""
    store = tmp_path / "results"
    for day, factor in enumerate(HISTORY):
        ingest(recorded_run({"*": factor}, f"night-{day}", day, tmp_path), store)
    replay = [
        recorded_run({CASE: 1.3}, "today", 10, tmp_path),
        recorded_run({CASE: request.param}, "today-rerun", 10.01, tmp_path),
    ]

    def run_suites(request: RunRequest, results: Path) -> Outcome:
        stored = ingest(replay.pop(0), results)
        return Outcome(stored.run_id, 0, f"replayed {stored.run_id}", [])

    monkeypatch.setattr(nightly_module, "run_suites", run_suites)
    return store


def test_a_confirmed_regression_of_a_noisy_case_fails_the_night(recorded_nights: Path) -> None:
    night = nightly_module.nightly(recorded_nights, RunRequest(suites=("copy",)), threshold=0.05)
    judged = {case.case: case.judgement for case in night.comparison.cases}
    assert judged[CASE].detectable == pytest.approx(0.19, abs=0.02)  # noise well above the threshold
    assert judged[CASE].ratio == pytest.approx(1.3)
    assert {case: j.verdict for case, j in judged.items() if j.verdict != "same"} == {CASE: "slower"}
    assert night.rerun_id == "today-rerun"
    assert [case.case for case in night.regressions] == [CASE] and not night.transients
    assert night.status == "regression" and night.exit_code == 1
    verdicts = json.loads((recorded_nights / "nightly" / "today" / "verdicts.json").read_text())
    assert [(c["case"], c["confirmed"]) for c in verdicts["cases"] if c["verdict"] == "slower"] == [(CASE, True)]
    # What history's change points are told about these nights.
    assert night_marks(recorded_nights) == {("today", CASE): "regression", ("today-rerun", CASE): "regression"}
    accept_night(recorded_nights, "today")
    assert set(night_marks(recorded_nights).values()) == {"accepted"} and not flagged_cases(recorded_nights)


@pytest.mark.parametrize("recorded_nights", [1.0], indirect=True)
def test_a_slowdown_the_rerun_does_not_confirm_is_transient(recorded_nights: Path) -> None:
    night = nightly_module.nightly(recorded_nights, RunRequest(suites=("copy",)), threshold=0.05)
    assert night.status == "pass" and night.exit_code == 0
    assert [case.case for case in night.transients] == [CASE]
    assert night_marks(recorded_nights) == {("today", CASE): "transient"}
    assert flagged_cases(recorded_nights) == {("today", CASE)}  # still kept out of baselines


@pytest.mark.parametrize("ruptures_installed", [True, False])
def test_the_night_report_lists_change_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ruptures_installed: bool
) -> None:
    # Fourteen earlier nights with the case 20% slower from night 7 on, when the driver changed.
    store = tmp_path / "results"
    wobble = (1.0, 1.01, 0.99, 1.005, 0.995, 1.0, 1.01)
    for day in range(14):
        factor = wobble[day % 7] * (1.2 if day >= 7 else 1.0)
        driver = "585.12" if day >= 7 else "580.65"
        ingest(recorded_run({CASE: factor}, f"night-{day:02d}", day, tmp_path, driver), store)
    today = recorded_run({CASE: 1.2}, "today", 20, tmp_path, "585.12")

    def run_suites(request: RunRequest, results: Path) -> Outcome:
        return Outcome(ingest(today, results).run_id, 0, "replayed", [])

    monkeypatch.setattr(nightly_module, "run_suites", run_suites)
    if not ruptures_installed:
        monkeypatch.setitem(sys.modules, "ruptures", None)
    night = nightly_module.nightly(store, RunRequest(suites=("copy",)), threshold=0.05)
    assert night.exit_code == 0
    report = (store / "nightly" / "today" / "report.md").read_text()
    assert "## Change points on " in report
    if ruptures_installed:
        (point,) = night.change_points
        assert (point.case, point.run_id) == (CASE, "night-07")
        # markdown_text escapes ">" (no raw HTML from data): it renders as "->"
        assert "from run night-07" in report and "when driver_version 580.65 -&gt; 585.12" in report
    else:
        assert night.change_points is None
        assert "change points need the ruptures package: pip install ruptures" in report


def test_the_confirming_rerun_measures_under_the_first_runs_pytest_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``gpubench nightly -- --gpubench-world-size=4 -k copy``: the rerun must measure what the night did.

    The replayed rerun is slower again only when it is asked for the same world size; without the
    argument it measures another configuration, where the case is as fast as ever, and a real
    regression would be called transient.
    """
    store = tmp_path / "results"
    for day, factor in enumerate(HISTORY):
        ingest(recorded_run({"*": factor}, f"night-{day}", day, tmp_path), store)
    requests: list[RunRequest] = []

    def run_suites(request: RunRequest, results: Path) -> Outcome:
        requests.append(request)
        same_world = "--gpubench-world-size=4" in request.pytest_args
        factor = 1.3 if len(requests) == 1 or same_world else 1.0
        stored = ingest(
            recorded_run({CASE: factor}, f"run-{len(requests)}", 10 + len(requests) / 100, tmp_path), results
        )
        return Outcome(stored.run_id, 0, "replayed", [])

    monkeypatch.setattr(nightly_module, "run_suites", run_suites)
    first = RunRequest(suites=("copy",), pytest_args=("--", "--gpubench-world-size=4", "-k", "copy"))
    night = nightly_module.nightly(store, first, threshold=0.05)
    assert [case.case for case in night.regressions] == [CASE] and not night.transients
    assert night.status == "regression" and night.exit_code == 1
    rerun = requests[1]
    assert rerun.suites == ("copy",) and "--gpubench-world-size=4" in rerun.pytest_args
    keyword = rerun.pytest_args[rerun.pytest_args.index("-k") + 1]
    assert keyword == "(copy) and (test_copy[h2h-pageable-16777216])"  # the user's -k and the slower case
