"""Quartiles by one definition: the pytest path and the torchrun path store the same figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import run_benchmarks

from gpubench import store
from gpubench.measure.quartiles import quartile_columns
from gpubench.measure.result import CaseResult
from gpubench.measure.stats import Measurement
from gpubench.run.document import benchmark_entry, dumps, run_block, run_document

# Eight samples: pytest-benchmark's own quartiles (medians of the halves) are not numpy's here.
SAMPLES = (3.1e-6, 2.0e-6, 2.2e-6, 9.7e-6, 2.05e-6, 2.4e-6, 2.15e-6, 5.5e-6)
PARAMS = {"direction": "h2h", "host_memory": "pageable", "bytes": 4096}

PYTEST_SUITE = f"""
from gpubench.measure.result import CaseResult
from gpubench.measure.stats import Measurement

def test_copy(gpubench):
    gpubench.report(CaseResult("copy", {PARAMS!r}, Measurement({SAMPLES!r}, clock="cuda-event")))
"""


def result() -> CaseResult:
    return CaseResult("copy", dict(PARAMS), Measurement(SAMPLES, clock="cuda-event"))


def numpy_quartiles() -> dict[str, float]:
    q1, median, q3 = np.quantile(SAMPLES, [0.25, 0.5, 0.75])
    return {"median_s": median, "q1_s": q1, "q3_s": q3, "iqr_s": q3 - q1}


def stored_quartiles(json_path: Path, results: Path) -> dict:
    """The quartiles ingest wrote into the run's parquet file (read raw, not through the reader)."""
    run = store.ingest(json_path, results)
    (row,) = pd.read_parquet(run.path).to_dict("records")
    return {key: row[key] for key in ("median_s", "q1_s", "q3_s", "iqr_s", "quartile_source")}


def test_the_two_definitions_differ_on_these_samples():
    ordered = sorted(SAMPLES)
    halves_q1 = float(np.median(ordered[:4]))  # pytest-benchmark's q1
    assert halves_q1 != pytest.approx(numpy_quartiles()["q1_s"], rel=1e-3)


def test_pytest_path_and_torchrun_path_store_the_same_quartiles(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_copy.py").write_text(PYTEST_SUITE)
    plugin_json = tmp_path / "plugin.json"
    done = run_benchmarks(plugin_json, "-p", "gpubench.run.pytest_plugin", target=str(suite), cwd=suite)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (bench,) = json.loads(plugin_json.read_text())["benchmarks"]
    assert tuple(bench["stats"]["data"]) == SAMPLES  # the replay clock hands pytest-benchmark each sample exactly
    assert bench["stats"]["q1"] != pytest.approx(numpy_quartiles()["q1_s"], rel=1e-3)  # its own definition

    entry = benchmark_entry(result(), name="test_copy", fullname="test_copy.py::test_copy", timer="torchrun")
    block = run_block("20261120T100000Z-torchrun", "2026-11-20T10:00:00+00:00", "quick", 1, [])
    torchrun_json = tmp_path / "torchrun.json"
    torchrun_json.write_text(dumps(run_document([entry], block, {"hostname": "here"})))

    from_pytest = stored_quartiles(plugin_json, tmp_path / "store")
    from_torchrun = stored_quartiles(torchrun_json, tmp_path / "store")
    assert from_pytest == from_torchrun == {**numpy_quartiles(), "quartile_source": "samples"}


def test_runs_stored_before_are_read_with_sample_quartiles(tmp_path):
    entry = benchmark_entry(result(), name="test_copy", fullname="test_copy.py::test_copy", timer="t")
    m = result().measurement
    old = {"q1": m.min, "q3": m.max, "iqr": m.max - m.min}  # another definition, as stored then
    entry["stats"].update(old)
    document = run_document([entry], run_block("old", "2026-01-01T00:00:00+00:00", "quick", 1, []), {})
    frame = store.frame_from_json(document).drop(columns=["quartile_source"])
    frame[["q1_s", "q3_s", "iqr_s"]] = [old["q1"], old["q3"], old["iqr"]]
    assert old["q1"] != pytest.approx(numpy_quartiles()["q1_s"])  # the test can tell them apart
    path = store.write_run(frame, tmp_path)
    stored_bytes = path.read_bytes()
    (row,) = store.read_results(tmp_path).to_dict("records")
    assert {key: row[key] for key in numpy_quartiles()} == numpy_quartiles()
    assert row["quartile_source"] == "samples"
    assert path.read_bytes() == stored_bytes  # never rewritten


def test_a_run_without_samples_keeps_its_quartiles_marked_stored(tmp_path):
    entry = benchmark_entry(result(), name="test_copy", fullname="test_copy.py::test_copy", timer="t")
    del entry["stats"]["data"]
    median = result().measurement.median
    entry["stats"].update(q1=0.5 * median, q3=2.0 * median, iqr=1.5 * median)
    document = run_document([entry], run_block("no-data", "2026-01-01T00:00:00+00:00", "quick", 1, []), {})
    path = tmp_path / "run.json"
    path.write_text(dumps(document))
    assert stored_quartiles(path, tmp_path / "store") == {
        "median_s": median,
        "q1_s": 0.5 * median,
        "q3_s": 2.0 * median,
        "iqr_s": 1.5 * median,
        "quartile_source": "stored",
    }


def test_quartile_columns():
    assert quartile_columns(None) == {"quartile_source": "stored"}
    assert quartile_columns([]) == {"quartile_source": "stored"}
    assert quartile_columns([1.0, 2.0, 3.0, 4.0]) == {
        "median_s": 2.5,
        "q1_s": 1.75,
        "q3_s": 3.25,
        "iqr_s": 1.5,
        "quartile_source": "samples",
    }
