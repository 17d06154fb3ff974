"""The read path: partial reads, old stores, type unification, baselines chosen through the index."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from store_runs import COMMITTED, REPO, copy_run

import gpubench.analysis.baseline as baseline_module
from gpubench import store
from gpubench.analysis.baseline import flagged_cases, load_baseline, select_baseline
from gpubench.analysis.history import HISTORY_COLUMNS, case_history
from gpubench.measure.quartiles import with_sample_quartiles
from gpubench.views.figures.history import environment_changes, plot_history

FULL_RUN = "20261127T012346Z-338b7e"


def test_old_store_reads_as_before_without_migration(tmp_path):
    shutil.copytree(COMMITTED, tmp_path / "runs")
    frame = store.read_results(tmp_path)
    files = sorted(COMMITTED.glob("*.parquet"))
    expected = pd.concat([pd.read_parquet(path) for path in files], ignore_index=True)
    expected = expected.sort_values(["started_at", "run_id"], kind="stable", ignore_index=True)
    expected = with_sample_quartiles(expected)  # runs stored before ingest computed them: recomputed at read
    assert list(frame.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(frame, expected)


def test_partial_reads(tmp_path):
    shutil.copytree(COMMITTED, tmp_path / "runs")
    whole = store.read_results(tmp_path)
    part = store.read_results(tmp_path, run_ids=[FULL_RUN], suites=["copy"], status="ok", columns=["gbps"])
    assert list(part.columns) == ["run_id", "started_at", "suite", "case", "status", "gbps"]
    expected = whole[(whole["run_id"] == FULL_RUN) & (whole["suite"] == "copy") & (whole["status"] == "ok")]
    assert list(part["case"]) == list(expected["case"]) and len(part) == 5
    # Quartiles a projected read returns are those of the whole read (recomputed from the samples).
    quartiles = store.read_results(tmp_path, run_ids=[FULL_RUN], status="ok", columns=["q1_s", "q3_s"])
    full = whole[(whole["run_id"] == FULL_RUN) & (whole["status"] == "ok")]
    assert list(quartiles["q1_s"]) == list(full["q1_s"]) and "samples_s" not in quartiles
    cases = store.read_results(tmp_path, cases=["copy[direction=h2h,host_memory=pageable,bytes=4096]"])
    assert len(cases) == 6 and set(cases["case"]) == {"copy[direction=h2h,host_memory=pageable,bytes=4096]"}
    pattern = store.read_results(tmp_path, case_regex=store.read.case_pattern_regex("h2h*4096]"), columns=[])
    assert set(pattern["case"]) == {"copy[direction=h2h,host_memory=pageable,bytes=4096]"}
    assert store.read_results(tmp_path, machine="no GPU @ elsewhere").empty
    with pytest.raises(store.StoreError, match="not in"):
        store.read_results(tmp_path, run_ids=[FULL_RUN, "no-such-run"])


def test_a_column_whose_type_changed_between_runs_reads_as_one(tmp_path):
    older = copy_run("older", "2026-11-28T00:00:00")
    newer = copy_run("newer", "2026-11-29T00:00:00")
    older["bytes"] = older["bytes"].astype("Int64")  # an integer parameter ...
    newer["bytes"] = newer["bytes"].astype(str)  # ... that a later version stored as text
    older["gbps"] = older["gbps"].round().astype("Int64")  # a metric that happened to be whole
    for frame in (older, newer):
        store.write_run(frame, tmp_path)
    frame = store.read_results(tmp_path)
    # Text in one run, integers in another: each value's JSON text, so that "4096" and 4096 stay apart.
    assert pd.api.types.is_string_dtype(frame["bytes"])
    assert set(frame.loc[frame["run_id"] == "newer", "bytes"]) == {f'"{value}"' for value in newer["bytes"]}
    assert set(frame.loc[frame["run_id"] == "older", "bytes"]) == {str(value) for value in older["bytes"]}
    assert pd.api.types.is_float_dtype(frame["gbps"])


def test_latest_run_is_never_a_verify_only_run(tmp_path):
    store.write_run(copy_run("measured", "2026-11-28T00:00:00"), tmp_path)
    verify = copy_run("fidelity", "2026-11-29T00:00:00")
    verify["suite"] = "verify"
    store.write_run(verify, tmp_path)
    assert store.latest_run_id(tmp_path) == "measured"


def test_baseline_through_the_index_is_what_the_whole_store_gives(tmp_path):
    nights = [f"2026-11-{day:02d}T02:00:00" for day in range(1, 13)]
    for number, night in enumerate(nights):
        store.write_run(copy_run(f"night-{number:02d}", night, seed=number, noise=0.02), tmp_path)
        store.write_run(copy_run(f"other-{number:02d}", night, hostname="other", seed=number), tmp_path)
    # Night 9 judged one case slower: it must not serve as baseline; night 10's judgement accepted.
    case = "copy[direction=h2h,host_memory=pageable,bytes=4096]"
    for run, accepted in (("night-09", False), ("night-10", True)):
        folder = tmp_path / "nightly" / run
        folder.mkdir(parents=True)
        verdicts = {"run_id": run, "cases": [{"case": case, "verdict": "slower"}]}
        (folder / "verdicts.json").write_text(json.dumps(verdicts))
        if accepted:
            (folder / "accepted.json").write_text("{}")
    whole = store.read_results(tmp_path)
    for candidate, n_runs, before_only in (("night-11", 7, True), ("night-11", 3, True), ("night-05", 4, False)):
        expected = select_baseline(whole, candidate, n_runs, flagged_cases(tmp_path), before_only)
        chosen, baseline = load_baseline(tmp_path, candidate, n_runs, before_only)
        assert set(chosen["run_id"]) == {candidate}
        key = ["run_id", "case"]
        got = baseline.sort_values(key, ignore_index=True)[expected.columns]
        pd.testing.assert_frame_equal(got, expected.sort_values(key, ignore_index=True), check_dtype=False)
    _, baseline = load_baseline(tmp_path, "night-11", 7)
    assert "night-09" not in set(baseline.loc[baseline["case"] == case, "run_id"])  # flagged
    assert "night-10" in set(baseline.loc[baseline["case"] == case, "run_id"])  # accepted
    assert "night-09" in set(baseline["run_id"]) and not baseline["run_id"].str.startswith("other").any()


def test_history_figures_one_per_suite_and_machine_with_environment_markers(tmp_path):
    for day in range(1, 9):
        torch = "2.13.0" if day < 5 else "2.14.0"
        store.write_run(copy_run(f"n{day}", f"2026-11-{day:02d}T02:00:00", torch_version=torch), tmp_path)
        store.write_run(copy_run(f"o{day}", f"2026-11-{day:02d}T02:00:00", hostname="other"), tmp_path)
    frame = store.read_results(tmp_path, status="ok", columns=HISTORY_COLUMNS)
    history = case_history(frame)
    runs = store.list_runs(tmp_path)
    changes = environment_changes(runs, "no GPU @ vm")
    assert [(when.day, text) for when, text in changes] == [(5, "torch_version 2.13.0 -> 2.14.0")]
    assert environment_changes(runs, "no GPU @ other") == []
    points = [{"run_id": "n6", "started_at": "2026-11-06T02:00:00+00:00", "ratio": 1.2, "case": None}]
    paths = plot_history(history, tmp_path / "png", change_points=points, environment=runs)
    assert sorted(path.name for path in paths) == ["history_no_GPU_other_copy.png", "history_no_GPU_vm_copy.png"]
    assert all(path.stat().st_size > 10_000 for path in paths)


def test_commands_that_read_the_store_do_not_import_torch():
    modules = ["gpubench.cli", "gpubench.commands.fleet", "gpubench.commands.history", "gpubench.commands.compare",
               "gpubench.analysis.fleet", "gpubench.analysis.baseline", "gpubench.store",
               "gpubench.views.figures.history"]  # fmt: skip
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules[1:]) + "print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_baseline_reads_only_the_runs_it_chooses(tmp_path, monkeypatch):
    case = "copy[direction=h2h,host_memory=pageable,bytes=4096]"
    for day in range(1, 13):
        store.write_run(copy_run(f"night-{day:02d}", f"2026-11-{day:02d}T02:00:00", seed=day), tmp_path)
    folder = tmp_path / "nightly" / "night-10"
    folder.mkdir(parents=True)
    verdicts = {"run_id": "night-10", "cases": [{"case": case, "verdict": "slower"}]}
    (folder / "verdicts.json").write_text(json.dumps(verdicts))

    read = []
    real = baseline_module.read_files

    def spy(index, runs, columns=None, rows=None, **options):
        read.append(set(runs["run_id"]))
        return real(index, runs, columns, rows, **options)

    monkeypatch.setattr(baseline_module, "read_files", spy)
    _, baseline = load_baseline(tmp_path, "night-12", 3)
    # The candidate, then night-11, -10, -9 for every case; night-10 judged the 4 KiB case slower,
    # so night-08 stands in.
    assert read == [{"night-12"}, {"night-11", "night-10", "night-09", "night-08"}]
    assert set(baseline.loc[baseline["case"] == case, "run_id"]) == {"night-11", "night-09", "night-08"}
