"""The conv suite as a user runs it: pytest benchmarks/ -k conv --benchmark-json, then the store and views."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import run_benchmarks

from gpubench.store import ingest, read_results
from gpubench.views.figures.run import plot_run
from gpubench.views.tables import summary

REPO = Path(__file__).resolve().parents[1]
# One quick shape in NCHW (12 static cases) plus its dynamic scenario, on the CPU, all four combinations.
SELECTION = "conv and cpu and resnet50_64to64_3x3_56 and nchw"
REQUIRED = [
    *("batch", "in_channels", "out_channels", "height", "width", "kernel_h", "kernel_w", "stride", "padding"),
    *("dtype", "layout", "direction", "cudnn_benchmark", "cudnn_deterministic", "allow_tf32"),
    *("median_s", "tflops", "first_call_s", "deterministic_output"),
]


@pytest.fixture(scope="module")
def suite_json(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("conv") / "conv.json"
    done = run_benchmarks(path, "-k", SELECTION, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return path


@pytest.fixture(scope="module")
def frame(suite_json, tmp_path_factory):
    store = tmp_path_factory.mktemp("store")
    stored = ingest(suite_json, store)
    assert stored.measured == 16 and stored.skipped == 0
    return read_results(store, stored.run_id)


def test_every_case_lands_in_parquet_with_the_required_columns(frame):
    assert set(REQUIRED) <= set(frame.columns)
    static = frame[frame["scenario"] == "static"]
    assert len(static) == 12 and static["deterministic_output"].notna().all()
    assert static[REQUIRED].notna().all().all()
    combos = static.groupby("direction")[["cudnn_benchmark", "cudnn_deterministic"]].apply(
        lambda rows: len(rows.drop_duplicates())
    )
    assert (combos == 4).all()
    assert (static["tflops"] > 0).all() and (static["first_call_s"] > 0).all()
    assert (frame["threads"] == 1).all()
    assert frame["note"].str.contains("do not apply on the CPU").all()


def test_each_combination_ran_in_one_fresh_worker(suite_json):
    """The regression test for flag isolation, read from what the suite itself recorded."""
    document = json.loads(suite_json.read_text())
    runs = [bench["extra_info"]["gpubench"] for bench in document["benchmarks"]]
    pid_of_combo, keys_of_pid = {}, {}
    parents = set()
    for run in runs:
        params, info = run["params"], run["info"]
        combo = (params["cudnn_benchmark"], params["cudnn_deterministic"])
        pid_of_combo.setdefault(combo, set()).add(info["worker_pid"])
        parents.add(info["parent_pid"])
        key = (params["shape"], params["batch"], params["dtype"], params["layout"], params["direction"])
        keys_of_pid.setdefault(info["worker_pid"], []).append(key)
    assert len(pid_of_combo) == 4 and all(len(pids) == 1 for pids in pid_of_combo.values())
    assert len(keys_of_pid) == 4, "two flag combinations shared a process"
    assert len(parents) == 1 and not parents & set(keys_of_pid), "cases ran in the pytest process"
    for keys in keys_of_pid.values():
        assert len(keys) == len(set(keys)), "a convolution ran twice in one process"


def test_plots_and_table_render(frame, tmp_path):
    paths = plot_run(frame, tmp_path)
    names = sorted(path.name for path in paths)
    assert names == [
        "conv_dynamic_cpu.png",
        "conv_first_call_cpu_float32_nchw.png",
        "conv_speedup_cpu_float32_nchw.png",
    ]
    assert all(path.stat().st_size > 10_000 for path in paths)
    text = summary(frame)
    assert "# conv" in text and "TFLOP/s" in text and "1st call (s)" in text


def test_dynamic_rows_keep_their_steps_in_order(frame):
    dynamic = frame[frame["scenario"] == "dynamic"]
    assert len(dynamic) == 4
    for _, row in dynamic.iterrows():
        steps = list(row["samples_s"])
        assert len(steps) == len(row["batch_sequence"].split(","))
        assert sum(steps) == pytest.approx(row["total_s"])
