"""gpubench nightly end to end on this machine (GPU cases skipped with their reasons), its
confirmation rerun, and the choice of baseline runs."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import torch
import yaml
from compare_support import REPO, cli, inject, load, run_copy_suite, write_json

from gpubench.analysis.baseline import flagged_cases, select_baseline
from gpubench.store import ingest, read_results
from gpubench.suites.copy import case as copy_case

CASE_4K = "copy[direction=h2h,host_memory=pageable,bytes=4096]"
TEST_4K = "test_copy[h2h-pageable-4096]"


@pytest.fixture(scope="module")
def run_4k(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One real run of the 4 KiB host copy (the steadiest case here): material for histories."""
    return load(run_copy_suite(tmp_path_factory.mktemp("one") / "run.json", "-k", TEST_4K))


def history_run(data: dict, index: int, factor: float, folder: Path, hostname: str | None = None) -> Path:
    """A stored-run-to-be: the real run with times scaled by ``factor``, dated ``index`` hours back."""
    out = inject(data, CASE_4K, factor, run_id=f"history-{index}")
    started = datetime.fromisoformat(data["gpubench"]["started_at"]) - timedelta(hours=index)
    out["gpubench"]["started_at"] = started.isoformat()
    if hostname:
        out["machine_info"]["gpubench"]["hostname"] = hostname
    return write_json(out, folder / f"history-{index}.json")


def test_first_and_second_night(tmp_path: Path) -> None:
    store = tmp_path / "results"
    first = cli("nightly", "--suite", "copy", "--results", store)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    assert "first night on" in first.stdout and "nightly first night" in first.stdout
    (run_dir,) = (store / "nightly").iterdir()
    page = (run_dir / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "data:image/png;base64," in page
    if not torch.cuda.is_available():
        gpu_cases = len([c for c in copy_case.configs("quick") if c.direction != "h2h"])
        assert f"{gpu_cases} case(s): torch" in page and "CPU build" in page  # GPU cases: skipped, with why
    assert json.loads((run_dir / "verdicts.json").read_text())["status"] == "first night"

    second = cli("nightly", "--suite", "copy", "--results", store)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    assert "history too short to fail a night: 1 of 3" in second.stdout
    newest = max((store / "nightly").iterdir(), key=lambda path: path.name)
    markdown = (newest / "report.md").read_text()
    assert "## Verdicts" in markdown and "![time ratio per case" in markdown
    assert (newest / "verdicts.png").stat().st_size > 10_000
    assert len(read_results(store)["run_id"].unique()) == 2


def test_a_regression_is_confirmed_and_fails_the_night(tmp_path: Path, run_4k: dict) -> None:
    # Three earlier nights at a fifth of a live run's time: today is about x5 slower against a
    # history with no between-run noise. x5, not x2: on a shared 2-core CI machine the live 4 KiB
    # copy alone moves by x2 between the fixture's run, tonight's run and its rerun (seen in CI:
    # 1.50 us, then 0.78 us in the rerun), and the rerun must still be slower. The threshold is
    # 10%: a 4 KiB copy's own samples can scatter by more than 5%, and then it is (rightly) noisy.
    store = tmp_path / "results"
    for index in (1, 2, 3):
        ingest(history_run(run_4k, index, 0.2, tmp_path), store)
    done = cli("nightly", "--suite", "copy", "--results", store, "--threshold", "10%", "--", "-k", TEST_4K)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "REGRESSION: 1 case(s) slower, confirmed by a rerun" in done.stdout
    assert f"confirming 1 slower case(s) with a rerun: {CASE_4K}" in done.stdout
    verdict_files = sorted((store / "nightly").glob("*/verdicts.json"))
    documents = [json.loads(path.read_text()) for path in verdict_files]
    night = next(doc for doc in documents if doc["confirmation_of"] is None)
    rerun = next(doc for doc in documents if doc["confirmation_of"] == night["run_id"])
    assert [(case["case"], case["verdict"], case["confirmed"]) for case in night["cases"]] == [
        (CASE_4K, "slower", True)
    ]
    # The ratio is the x5 injected times the live copy's own drift from the fixture's run, both
    # read here from the stored samples: the history is the fixture's run at 0.2 x its times.
    for document in (night, rerun):
        (row,) = read_results(store, document["run_id"]).query("case == @CASE_4K").itertuples()
        drift = statistics.median(row.samples_s) / statistics.median(_samples(run_4k))
        assert document["cases"][0]["ratio"] == pytest.approx(5 * drift, rel=1e-9)
    assert [case["verdict"] for case in rerun["cases"]] == ["slower"]
    assert night["rerun_id"] == rerun["run_id"]
    report = (store / "nightly" / night["run_id"] / "report.html").read_text()
    assert "REGRESSION" in report and "confirmation rerun" in report
    # Both measurements of the slow case are kept out of later baselines.
    assert flagged_cases(store) == {(night["run_id"], CASE_4K), (rerun["run_id"], CASE_4K)}
    # Accepting the night as the new normal lets its runs serve as baseline again.
    assert cli("nightly", "--accept", night["run_id"], "--results", store).returncode == 0
    assert flagged_cases(store) == set()
    assert cli("nightly", "--accept", "no-such-run", "--results", store).returncode == 2
    # The workflow's collecting step finds this night's report, run and rerun.
    staged = run_collect_step(store, tmp_path / "runner")
    assert (staged / "report" / "report.html").is_file()
    assert sorted(path.name for path in (staged / "runs").iterdir()) == sorted(
        f"{run}.{ext}" for run in (night["run_id"], rerun["run_id"]) for ext in ("json", "parquet")
    )
    assert "REGRESSION" in (tmp_path / "runner" / "summary.md").read_text()


def _samples(data: dict) -> list[float]:
    (bench,) = [bench for bench in data["benchmarks"] if bench["name"] == TEST_4K]
    return bench["stats"]["data"]


def run_collect_step(store: Path, runner: Path) -> Path:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "nightly.yml").read_text())
    (job,) = workflow["jobs"].values()
    (step,) = [step for step in job["steps"] if step.get("name", "").startswith("Collect")]
    runner.mkdir()
    environment = dict(
        os.environ, GPUBENCH_RESULTS=str(store), RUNNER_TEMP=str(runner), GITHUB_STEP_SUMMARY=str(runner / "summary.md")
    )
    done = subprocess.run(["bash", "-e", "-c", step["run"]], env=environment, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return runner / "gpubench"


@pytest.fixture(scope="module")
def history_store(tmp_path_factory: pytest.TempPathFactory, run_4k: dict) -> tuple[Path, str]:
    """Five earlier runs of this machine, one of another host, and today's run."""
    folder = tmp_path_factory.mktemp("history")
    store = folder / "results"
    for index in range(1, 6):
        ingest(history_run(run_4k, index, 1.0, folder), store)
    ingest(history_run(run_4k, 6, 1.0, folder, hostname="elsewhere"), store)
    return store, ingest(write_json(run_4k, folder / "today.json"), store).run_id


def test_baseline_is_the_last_good_runs_of_the_same_machine(history_store: tuple[Path, str]) -> None:
    store, candidate = history_store
    frame = read_results(store)
    chosen = select_baseline(frame, candidate, n_runs=3)
    assert sorted(chosen["run_id"]) == ["history-1", "history-2", "history-3"]  # the latest three
    flagged = {("history-2", CASE_4K)}  # judged slower by an earlier night: not a norm
    chosen = select_baseline(frame, candidate, n_runs=3, flagged=flagged)
    assert sorted(chosen["run_id"]) == ["history-1", "history-3", "history-4"]
    everything = select_baseline(frame, "history-5", n_runs=10, before_only=False)
    assert "history-6" not in set(everything["run_id"])  # another host is another machine
    assert set(everything["run_id"]) == {"history-1", "history-2", "history-3", "history-4", candidate}
    assert select_baseline(frame, "history-5", n_runs=3).empty  # nothing before the oldest run here


def test_history_per_machine(history_store: tuple[Path, str], tmp_path: Path) -> None:
    store, _ = history_store
    done = cli("history", "--results", store, "--case", "h2h*4096]", "--out", tmp_path / "png")
    assert done.returncode == 0, done.stderr
    machines = [line for line in done.stdout.splitlines() if line.startswith("# ") and " @ " in line]
    assert len(machines) == 2 and any(line.endswith("@ elsewhere") for line in machines)
    rows = [line.split() for line in done.stdout.splitlines() if line.strip().startswith(CASE_4K)]
    assert sorted(int(row[1]) for row in rows) == [1, 6]  # runs per machine
    pngs = sorted((tmp_path / "png").glob("history_*.png"))
    assert len(pngs) == 2 and all(png.stat().st_size > 5_000 for png in pngs)
    missing = cli("history", "--results", store, "--case", "no-such-case")
    assert missing.returncode == 2 and "no measured case matches 'no-such-case'" in missing.stderr
    one = cli("history", "--results", store, "--case", "h2h*4096]", "--machine", "elsewhere", "--out", tmp_path / "one")
    assert one.returncode == 0, one.stderr
    assert [line for line in one.stdout.splitlines() if line.startswith("# ") and " @ " in line] == [
        line for line in machines if line.endswith("@ elsewhere")
    ]
    assert len(list((tmp_path / "one").glob("history_*.png"))) == 1
    unknown = cli("history", "--results", store, "--machine", "nowhere")
    assert unknown.returncode == 2 and "no machine named 'nowhere'" in unknown.stderr and "elsewhere" in unknown.stderr
