"""The verdict table: slower beyond a case's own margin however noisy the case, noisy inside it,
and the between-run noise a one-baseline comparison assumes (store history, else the default)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from compare_support import foreign_run, inject, write_json

from gpubench import cli as gpubench_cli
from gpubench.analysis.compare import NoisePrior, RunSample, compare_frames, judge
from gpubench.analysis.noise import noise_priors
from gpubench.store import frame_from_json


def runs(medians: list[float], spread: float = 0.01, n: int = 15) -> list[RunSample]:
    offsets = np.linspace(-spread, spread, n)
    return [RunSample(f"r{i}", m, tuple(m * (1 + offsets))) for i, m in enumerate(medians)]


# Baseline runs up to 8% off their centre: allowance 2 x log(1.08), detectable ~22.5% at 5%.
NOISY_HISTORY = [1.0, 1.08, 0.93, 1.0, 1.02]


def test_a_change_beyond_a_large_margin_is_slower() -> None:
    for factor in (1.3, 2.0):
        verdict = judge(runs(NOISY_HISTORY), runs([factor])[0], threshold=0.05)
        assert verdict.detectable == pytest.approx(0.225, abs=0.005)
        assert verdict.verdict == "slower", (factor, verdict)
        assert verdict.p_value < 1e-5
    assert judge(runs(NOISY_HISTORY), runs([0.7])[0], threshold=0.05).verdict == "faster"


def test_a_change_inside_the_noise_band_is_noisy_and_says_what_was_detectable() -> None:
    verdict = judge(runs(NOISY_HISTORY), runs([1.15])[0], threshold=0.05)
    assert verdict.verdict == "noisy"
    assert "+15.0% is inside the between-run noise band: detectable from 22.5%" in verdict.note
    assert judge(runs(NOISY_HISTORY), runs([0.88])[0], threshold=0.05).verdict == "noisy"


def test_a_change_within_the_threshold_is_same_however_noisy_the_case() -> None:
    assert judge(runs(NOISY_HISTORY), runs([1.03])[0], threshold=0.05).verdict == "same"


def test_a_change_beyond_the_margin_without_significance_is_noisy() -> None:
    scattered = [RunSample("a", 1.0, (0.5, 1.0, 2.0)), RunSample("b", 1.0, (0.5, 1.0, 2.0))]
    verdict = judge(scattered, RunSample("c", 3.0, (1.5, 3.0, 6.0)), threshold=0.05)
    assert verdict.verdict == "noisy" and "not significantly" in verdict.note


def test_a_one_baseline_prior_sets_the_margin() -> None:
    steady = NoisePrior(math.log(1.01), "store history", 20)
    assert judge(runs([1.0]), runs([1.12])[0], prior=steady).verdict == "slower"
    verdict = judge(runs([1.0]), runs([1.12])[0])  # the default: 5% between runs
    assert verdict.verdict == "noisy" and verdict.noise_source == "default"
    # Several baseline runs measure the noise themselves; a prior is not used.
    assert judge(runs([1.0, 1.0]), runs([1.12])[0], prior=NoisePrior(1.0, "store history")).verdict == "slower"


def store_frame(medians: list[float], machine: tuple[str, str] = ("no GPU", "host-a")) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": [f"run{i}" for i in range(len(medians))],
            "started_at": pd.date_range("2026-01-01", periods=len(medians), freq="D", tz="UTC"),
            "suite": "s",
            "case": "c",
            "status": "ok",
            "median_s": medians,
            "gpu_name": machine[0],
            "hostname": machine[1],
        }
    )


def test_noise_priors_come_from_the_same_machine_and_case() -> None:
    # Steady history with one level shift: consecutive changes of ~1%, one of 20%.
    history = store_frame([1.0, 1.01, 0.995, 1.005, 1.2, 1.21, 1.195, 1.2, 1.205])
    candidate = store_frame([1.3])
    candidate["run_id"] = "today"
    (prior,) = noise_priors(pd.concat([history, candidate]), candidate).values()
    assert prior.source == "store history" and prior.runs == 9
    assert math.expm1(prior.between) == pytest.approx(0.022, abs=0.004)  # the 20% step does not count
    assert noise_priors(history.head(4), candidate) == {}  # too short a history
    elsewhere = store_frame([1.0, 1.01, 0.995, 1.005, 1.2, 1.21], machine=("no GPU", "host-b"))
    assert noise_priors(elsewhere, candidate) == {}  # another machine says nothing about this one


@pytest.fixture(scope="module")
def unchanged_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two unchanged runs of a foreign 40-case suite: thousands of rounds, levels 1-3% apart."""
    folder = tmp_path_factory.mktemp("foreign-pair")
    return write_json(foreign_run(12, run=0), folder / "a.json"), write_json(foreign_run(12, run=1), folder / "b.json")


def test_unchanged_runs_with_one_baseline_are_not_slower(unchanged_pair, tmp_path: Path, capsys) -> None:
    first, second = unchanged_pair
    base = frame_from_json(json.loads(first.read_text()))
    cand = frame_from_json(json.loads(second.read_text()))
    shifts = cand["median_s"].to_numpy() / base["median_s"].to_numpy()
    assert np.median(np.abs(np.log(shifts))) < 0.035  # typically 1-3% apart
    # Realistic enough to fool a rule blind to between-run noise: thousands of rounds make a
    # few percent "significant", and a few shifts pass the 5% threshold.
    blind = {key: NoisePrior(0.0, "none") for key in zip(cand["suite"], cand["case"], strict=True)}
    assert compare_frames(base, cand, 0.05, priors=blind).slower

    code = gpubench_cli.main(["compare", str(first), str(second), "--results", str(tmp_path), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["counts"]["slower"] == 0, [c for c in report["cases"] if c["verdict"] == "slower"]
    assert {case["noise_source"] for case in report["cases"]} == {"default"}
    gpubench_cli.main(["compare", str(first), str(second), "--results", str(tmp_path)])
    assert "between-run noise from the default 5% (no history in the store): 40 case(s)" in capsys.readouterr().out


def test_a_slowdown_with_one_baseline_is_still_caught(unchanged_pair, tmp_path: Path, capsys) -> None:
    first, second = unchanged_pair
    data = json.loads(second.read_text())
    for index in range(40):
        data = inject(data, f"test_function_{index}", 1.3)
    slowed = write_json(data, tmp_path / "slowed.json")
    code = gpubench_cli.main(["compare", str(first), str(slowed), "--results", str(tmp_path), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["counts"]["slower"] == 40, [(c["case"], c["verdict"], c["ratio"]) for c in report["cases"]]
