"""Hostile and careless documents: stored so that every reader works, or refused in one line, store unchanged.

Documents refused at ingest, types settled across runs, run ids, and the readers' own defence.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from support import cli
from untrusted_support import bench, copy_bench, document, one_error_line, run_cli, snapshot, write_json

from gpubench import store
from gpubench.analysis.compare import compare_frames
from gpubench.analysis.history import case_history

GOOD = document(bench("test_a", 1e-3), bench("test_b", 2e-3), run_id="good-run")
CASE_BLOCK = {"suite": "copy", "case": "copy[x]", "params": {}, "metrics": {}, "info": {}}


def _mutated(path: str, value) -> dict:
    """GOOD with the field at ``path`` (dotted, list indices as numbers) set to ``value``."""
    data = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    here = data
    for part in parents:
        here = here[int(part)] if isinstance(here, list) else here[part]
    if isinstance(here, list):
        here[int(last)] = value
    else:
        here[last] = value
    return data


# (field set, value, words the one-line error must hold)
MALFORMED = [
    ("benchmarks.0.stats.data", 5, "stats.data"),
    ("benchmarks.0.stats.data", [1e-3, "fast"], "stats.data[1]"),
    ("benchmarks.0.stats", [1, 2], "stats"),
    ("benchmarks.0.params", [1, 2], "params"),
    ("benchmarks.0.params", "n=1", "params"),
    ("machine_info", ["node"], "machine_info"),
    ("machine_info.cpu", "x86", "machine_info.cpu"),
    ("machine_info.node", {"name": "n"}, "machine_info.node"),
    ("benchmarks.0.extra_info", "info", "extra_info"),
    ("benchmarks.0.options", ["timer"], "options"),
    ("gpubench", ["run"], "gpubench"),
    ("gpubench.skipped", [1, 2], "gpubench.skipped[0]"),
    ("gpubench.skipped", "none", "gpubench.skipped"),
    ("benchmarks.0.extra_info", {"gpubench": {"suite": "s", "params": {}}}, "extra_info.gpubench.case"),
    ("benchmarks.0.extra_info", {"gpubench": {"suite": "s", "case": "c"}}, "extra_info.gpubench.params"),
    ("benchmarks.0.extra_info", {"gpubench": "copy"}, "extra_info.gpubench"),
    ("benchmarks.0.params", {"n": 2**80}, "params.n"),
    ("benchmarks.0.extra_info", {"items": -(2**70)}, "extra_info.items"),
    ("benchmarks.0.stats.rounds", 2**64, "stats.rounds"),
    ("benchmarks.0.name", None, "name"),
    ("benchmarks.0", "test_a", "benchmarks[0]"),
    ("commit_info", "abc", "commit_info"),
    ("datetime", "9999-12-31T00:00:00", "datetime"),
    ("datetime", "1200-01-01T00:00:00", "datetime"),
    ("datetime", "yesterday", "datetime"),
    ("gpubench.started_at", "9999-12-31T23:59:59+00:00", "gpubench.started_at"),
    ("benchmarks.0.stats.median", -1e-3, "stats.median"),
    ("benchmarks.0.stats.median", 0, "stats.median"),
    ("benchmarks.0.stats.min", -1.0, "stats.min"),
    ("benchmarks.0.stats.median", float("inf"), "stats.median"),
    ("benchmarks.0.stats.data", [0.0, 0.0, 0.0], "stats.data[0]"),
    ("benchmarks.0.stats.data", [1e-3, float("nan")], "stats.data[1]"),
    ("gpubench.run_id", " ", "run_id"),
    ("gpubench.run_id", "*", "run_id"),
    ("gpubench.run_id", "a\nb", "run_id"),
    ("gpubench.run_id", "../escape", "run_id"),
    ("gpubench.run_id", ".hidden", "run_id"),
    ("gpubench.run_id", 42, "run_id"),
    # issue 17: metrics, samples, texts and times that used to pass and then break readers
    ("benchmarks.0.stats.data", [10**400], "stats.data[0]"),
    ("benchmarks.0.stats.data", [1e308, 1e-3], "stats.data[0]"),
    ("benchmarks.0.stats.median", 10**400, "stats.median"),
    ("benchmarks.0.stats.max", 1e308, "stats.max"),
    ("benchmarks.0.extra_info", {"gbps": float("inf")}, "extra_info.gbps"),
    ("benchmarks.0.extra_info", {"gbps": 1e308}, "extra_info.gbps"),
    ("benchmarks.0.extra_info", {"gbps": "fast"}, "extra_info.gbps"),
    ("benchmarks.0.extra_info", {"gbps": True}, "extra_info.gbps"),
    ("benchmarks.0.extra_info", {"gbps": 0}, "extra_info.gbps"),
    ("benchmarks.0.extra_info", {"tflops": -2.5}, "extra_info.tflops"),
    ("benchmarks.0.extra_info", {"gpubench": {**CASE_BLOCK, "metrics": {"gbps": [1, 2]}}}, "metrics.gbps"),
    ("benchmarks.0.extra_info", {"gpubench": {**CASE_BLOCK, "metrics": {"latency_us": "slow"}}}, "metrics.latency_us"),
    ("benchmarks.0.extra_info", {"gpubench": {**CASE_BLOCK, "metrics": {"busbw_gbps": 0.0}}}, "metrics.busbw_gbps"),
    ("benchmarks.0.params", {"gbps": -1}, "params.gbps"),
    ("machine_info.gpubench", {"hostname": 5}, "machine_info.gpubench.hostname"),
    ("machine_info.gpubench", {"gpu_name": ["A100"]}, "machine_info.gpubench.gpu_name"),
    ("machine_info.gpubench", {"platform": 3}, "machine_info.gpubench.platform"),
    ("benchmarks.0.name", "", "an empty text"),
    ("benchmarks.0.name", "test_\ud800", "name"),
    ("benchmarks.0.params", {"\udc80": 1}, "params"),
    ("machine_info.node", "node\udfff", "machine_info.node"),
    ("datetime", "now", "datetime"),
    ("gpubench.started_at", "today", "gpubench.started_at"),
    ("gpubench.started_at", "tomorrow 3pm", "gpubench.started_at"),
]


@pytest.mark.parametrize(("field", "value", "named"), MALFORMED, ids=[f"{f}={v!r}"[:60] for f, v, _ in MALFORMED])
def test_malformed_document_is_one_line_naming_file_and_field(tmp_path, field, value, named):
    results = tmp_path / "results"
    status, _, _ = run_cli("ingest", str(write_json(GOOD, tmp_path / "good.json")), "--results", str(results))
    assert status == 0
    before = snapshot(results)
    bad = write_json(_mutated(field, value), tmp_path / "bad.json")
    status, out, err = run_cli("ingest", str(bad), "--results", str(results))
    assert status == 2, (out, err)
    assert one_error_line(err), err
    assert "bad.json" in err and named in err, err
    assert snapshot(results) == before


def test_refusal_is_one_line_from_a_real_process_too(tmp_path):
    bad = write_json(_mutated("benchmarks.0.stats.data", 5), tmp_path / "bad.json")
    done = cli("ingest", str(bad), "--results", str(tmp_path / "results"))
    assert done.returncode == 2 and one_error_line(done.stderr), done.stderr
    assert not (tmp_path / "results" / "runs").exists() or not any((tmp_path / "results" / "runs").iterdir())


def test_doctor_readings_of_the_wrong_shape_are_one_line(tmp_path):
    readings = {"format": 1, "torch": {"version": "2"}, "gpus": "GPU 0", "pairs": [], "problems": {}}
    path = write_json(readings, tmp_path / "readings.json")
    status, _, err = run_cli("doctor", "--readings", str(path))
    assert status == 2 and one_error_line(err) and "gpus" in err and "readings.json" in err, err
    readings["gpus"] = [{"index": 0, "pcie": {"gen_current": "four"}}]
    status, _, err = run_cli("doctor", "--readings", str(write_json(readings, path)))
    assert status == 2 and one_error_line(err) and "gpus[0].pcie.gen_current" in err, err


MIXED = [None, 2, "two", True, 1.5, [1, "a"], {"k": None}]


def test_mixed_type_params_are_stored_losslessly(tmp_path):
    """parametrize("indent", [None, 2]) and a param mixing every JSON kind."""
    benches = [
        bench(f"test_dump[{index}]", 1e-3 * (index + 1), params={"indent": [None, 2][index % 2], "value": value})
        for index, value in enumerate(MIXED)
    ]
    path = write_json(document(*benches), tmp_path / "mixed.json")
    status, _, err = run_cli("ingest", str(path), "--results", str(tmp_path / "results"))
    assert status == 0, err
    frame = store.read_results(tmp_path / "results").set_index("name").loc[[b["name"] for b in benches]]
    assert pd.api.types.is_integer_dtype(frame["indent"])  # None and ints agree: a typed column
    assert frame["indent"].isna().tolist() == [True, False] * 3 + [True]
    # Types disagree: each value's JSON text, None still missing; every value told apart.
    expected = [None, "2", '"two"', "true", "1.5", '[1,"a"]', '{"k":null}']
    assert [None if pd.isna(v) else v for v in frame["value"]] == expected
    assert [json.loads(v) for v in expected[1:]] == MIXED[1:]


def test_a_real_pytest_benchmark_suite_with_mixed_params_ingests(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_json.py").write_text(
        "import json, pytest\n"
        "@pytest.mark.parametrize('indent', [None, 2, '\\t'])\n"
        "def test_dumps(benchmark, indent):\n"
        "    benchmark(json.dumps, {'a': [1, 2, 3]}, indent=indent)\n"
    )
    out = tmp_path / "suite.json"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(suite), f"--benchmark-json={out}", "-q", "-p", "no:cacheprovider",
         "--benchmark-max-time=0.01", "--benchmark-min-rounds=3"],
        cwd=suite, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    status, _, err = run_cli("ingest", str(out), "--results", str(tmp_path / "results"))
    assert status == 0, err
    frame = store.read_results(tmp_path / "results")
    assert sorted(frame["indent"].dropna()) == ['"\\t"', "2"]


def test_columns_whose_type_differs_between_runs_are_unified(tmp_path):
    results = tmp_path / "results"
    for run_id, value in (("run-int", 4), ("run-text", "four"), ("run-list", [4]), ("run-none", None)):
        item = bench("test_p", 1e-3, params={"p": value, "n": 1 if run_id != "run-text" else 1.5})
        status, _, err = run_cli("ingest", str(write_json(document(item, run_id=run_id), tmp_path / "d.json")),
                                 "--results", str(results))  # fmt: skip
        assert status == 0, err
    frame = store.read_results(results).set_index("run_id")
    assert frame.loc["run-int", "p"] == "4" and frame.loc["run-text", "p"] == '"four"'
    assert frame.loc["run-list", "p"] == "[4]" and pd.isna(frame.loc["run-none", "p"])
    assert pd.api.types.is_float_dtype(frame["n"])  # ints and floats agree as numbers
    comparison = compare_frames(store.read_results(results, "run-int"), store.read_results(results, "run-text"))
    assert len(comparison.cases) == 1
    for command in (["history"], ["plot", "--run", "run-text"], ["compare", "run-int", "run-list"]):
        status, _, err = run_cli(*command, "--results", str(results))
        assert status == 0, (command, err)


def test_duplicate_case_names_are_told_apart_by_fullname_and_said(tmp_path):
    twins = [
        bench("test_same", 1e-3, fullname="tests/a/test_suite.py::test_same"),
        bench("test_same", 5e-3, fullname="tests/b/test_suite.py::test_same"),
    ]
    path = write_json(document(*twins, run_id="twins"), tmp_path / "twins.json")
    status, out, err = run_cli("ingest", str(path), "--results", str(tmp_path / "results"))
    assert status == 0, err
    assert "test_same" in out and "fullname" in out  # said so
    frame = store.read_results(tmp_path / "results")
    assert sorted(frame["case"]) == sorted(item["fullname"] for item in twins)
    assert sorted(frame["median_s"]) == [1e-3, 5e-3]  # neither row dropped


def test_exact_duplicate_benchmarks_are_refused(tmp_path):
    twin = bench("test_same", 1e-3)
    path = write_json(document(twin, copy.deepcopy(twin), run_id="twins"), tmp_path / "twins.json")
    status, _, err = run_cli("ingest", str(path), "--results", str(tmp_path / "results"))
    assert status == 2 and one_error_line(err) and "test_same" in err and "twice" in err, err
    assert snapshot(tmp_path / "results") == {}
    # Nor can compare count one run twice: a JSON side with twins is refused the same way.
    good = write_json(document(bench("test_same", 1e-3), run_id="one"), tmp_path / "one.json")
    status, _, err = run_cli("compare", str(path), str(good))
    assert status == 2 and one_error_line(err) and "twice" in err, err


# --- readers defend themselves: files that never went through this ingest -----------------------


def _write_run_file(results: Path, run_id: str, **overrides) -> Path:
    """A run file as another node or an older gpubench might have left it (no ingest checks)."""
    frame = store.frame_from_json(document(bench("test_a", 1e-3), run_id=run_id))
    for column, value in overrides.items():
        frame[column] = value
    path = results / "runs" / f"{run_id}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


BAD_FILES = {
    "future": {"started_at": pd.Timestamp("9999-12-31", tz="UTC").as_unit("s")},
    "negative": {"median_s": -1e-3},
    "zeros": {"samples_s": [[0.0, 0.0, 0.0]]},
    "nostatus": {"status": "exploded"},
}


def test_readers_skip_bad_run_files_naming_each_and_quarantine_moves_them(tmp_path):
    results = tmp_path / "results"
    status, _, err = run_cli("ingest", str(write_json(GOOD, tmp_path / "good.json")), "--results", str(results))
    assert status == 0, err
    bad = [_write_run_file(results, f"bad-{name}", **columns) for name, columns in BAD_FILES.items()]
    (results / "runs" / "garbage.parquet").write_bytes(b"PAR1 not really")
    bad.append(results / "runs" / "garbage.parquet")
    readers = (["history"], ["plot"], ["doctor", "--readings", str(_readings(tmp_path))])  # read every run
    for command in readers:
        status, out, err = run_cli(*command, "--results", str(results))
        assert status in (0, 1), (command, err)  # doctor may find things; never a crash
        for path in bad:
            assert str(path) in err, (command, path, err)
    assert run_cli("compare", "good-run", "good-run", "--results", str(results))[0] == 0
    assert set(store.read_results(results)["run_id"]) == {"good-run"}
    status, out, _ = run_cli("store", "check", "--results", str(results))
    assert status == 1 and all(str(path) in out for path in bad), out
    status, out, _ = run_cli("store", "check", "--results", str(results), "--quarantine")
    assert status == 0 and sorted(p.name for p in (results / "quarantine").iterdir()) == sorted(p.name for p in bad)
    status, out, err = run_cli("history", "--results", str(results))
    assert status == 0 and "skipped" not in err, err
    assert run_cli("store", "check", "--results", str(results))[0] == 0


def test_a_run_asked_for_by_id_whose_file_is_bad_is_an_error_naming_it(tmp_path):
    path = _write_run_file(tmp_path / "results", "bad-one", median_s=0.0)
    status, _, err = run_cli("plot", "--results", str(tmp_path / "results"), "--run", "bad-one")
    assert status == 2 and one_error_line(err) and str(path) in err and "median_s" in err, err


def test_copy_plot_of_a_good_run(tmp_path):
    data = document(copy_bench("h2h", 4096, 1e-6), copy_bench("h2h", 1 << 20, 1e-4), run_id="copy-run")
    run_cli("ingest", str(write_json(data, tmp_path / "c.json")), "--results", str(tmp_path / "r"))
    status, out, err = run_cli("plot", "--results", str(tmp_path / "r"))
    assert status == 0 and out.strip().endswith("copy_bandwidth.png"), err
    assert len(case_history(store.read_results(tmp_path / "r"))) == 2


def _readings(tmp_path: Path) -> Path:
    readings = {"format": 1, "source": "test", "torch": {"version": "2", "cuda_available": False}, "gpus": []}
    return write_json(readings, tmp_path / "readings.json")


# --- issue 17: accepted documents and hand-made run files that every reader must still read -------


@pytest.fixture(scope="module")
def two_machines_base(tmp_path_factory) -> Path:
    from untrusted_support import copy_store

    folder = tmp_path_factory.mktemp("two-machines")
    copy_store(folder / "results", folder, runs=4)
    return folder / "results"


@pytest.fixture
def two_machines(two_machines_base, tmp_path) -> Path:
    """Two copy runs on each of two machines (hosts n1, n2), the store a test then damages."""
    import shutil

    shutil.copytree(two_machines_base, tmp_path / "results")
    return tmp_path / "results"


def _every_reader_reads(results: Path, tmp_path: Path, every: bool = True) -> None:
    readers = [["compare", "run-1", "run-3"], ["fleet", "--min-peers", "1"]]  # history: scripts/store_probe.py
    if every:
        readers += [["history"], ["doctor", "--readings", str(_readings(tmp_path))], ["plot", "--run", "run-2"]]
    for command in readers:
        status, _, err = run_cli(*command, "--results", str(results))
        assert status in (0, 1), (command, err)


def test_a_start_time_with_nanoseconds_is_stored_so_that_every_reader_reads(two_machines, tmp_path):
    results = two_machines
    data = document(copy_bench("h2h", 4096, 1e-6), run_id="ns-run", when="2026-11-27T00:30:00.123456789Z")
    status, _, err = run_cli("ingest", str(write_json(data, tmp_path / "ns.json")), "--results", str(results))
    assert status == 0, err
    assert run_cli("store", "check", "--results", str(results))[0] == 0
    _every_reader_reads(results, tmp_path)


HAND_MADE = {
    "nanoseconds": lambda f: f.assign(started_at=pd.Timestamp("2026-11-27T00:30:00.123456789Z").as_unit("ns")),
    "categorical": lambda f: f.astype({"status": "category", "suite": "category", "case": "category"}),
    "integer-samples": lambda f: f.assign(samples_s=[[1, 2, 3]] * len(f)),
    "schema-inf": lambda f: f.assign(schema_version=float("inf")),
    "run-id-integer": lambda f: f.assign(run_id=12345),
    "hostname-integer": lambda f: f.assign(hostname=7),
    "rate-text": lambda f: f.assign(gbps="fast"),
    "rate-zero": lambda f: f.assign(gbps=0.0),
    "samples-huge": lambda f: f.assign(samples_s=[[1e308, 1e308]] * len(f)),
}


@pytest.mark.parametrize("change", sorted(HAND_MADE))
def test_a_hand_made_run_file_is_read_or_skipped_by_every_reader(two_machines, tmp_path, change):
    """Files no ingest of ours wrote: read as a run where the reader can (a finer time, categories,
    integer samples), else skipped and named; never a traceback, never other runs renamed."""
    results = two_machines
    later = pd.Timestamp("2026-11-20T00:30:00", tz="UTC").as_unit("us")  # the latest run of n1: fleet reads it
    frame = HAND_MADE[change](store.read_results(results, "run-1").assign(run_id="hand-made", started_at=later))
    name = f"{frame['run_id'].iloc[0]}.parquet"
    frame.to_parquet(results / "runs" / name, index=False)
    _every_reader_reads(results, tmp_path, every=False)
    status, _, err = run_cli("compare", "run-3", str(frame["run_id"].iloc[0]), "--results", str(results))
    last = err.splitlines()[-1] + "\n" if err else ""
    assert status in (0, 1) or (status == 2 and one_error_line(last) and name in last), err  # read, or named
    machines = set(store.list_runs(results)["machine"])
    assert machines == {"no GPU @ n1", "no GPU @ n2"}, machines  # no host read as JSON text
    status, out, _ = run_cli("store", "check", "--results", str(results), "--quarantine")
    assert status == 0, out
    assert run_cli("store", "check", "--results", str(results))[0] == 0


@pytest.mark.parametrize("damage", ["no-case-block", "bytes-as-text"])
def test_copy_runs_whose_rows_cannot_all_be_drawn_still_plot(tmp_path, damage):
    cases = [copy_bench("h2h", 4096, 1e-6), copy_bench("h2h", 1 << 20, 1e-4), copy_bench("h2h", 1 << 22, 4e-4)]
    if damage == "no-case-block":
        cases[1]["extra_info"] = {}  # a benchmark of the copy group without gpubench's block
    else:
        for item in cases:
            item["extra_info"]["gpubench"]["params"]["bytes"] = f"{item['extra_info']['gpubench']['params']['bytes']} B"
    results = tmp_path / "results"
    data = write_json(document(*cases, run_id="copy-run"), tmp_path / "c.json")
    assert run_cli("ingest", str(data), "--results", str(results))[0] == 0
    status, _, err = run_cli("plot", "--results", str(results))
    assert status == 0 and "Traceback" not in err, err
    assert "warning" in err, err  # what was not drawn is said


def test_params_and_metrics_named_like_store_columns_are_kept_apart(tmp_path):
    item = copy_bench("h2h", 4096, 1e-6)
    item["extra_info"]["gpubench"]["params"]["quartile_source"] = "mine"
    item["extra_info"]["gpubench"]["metrics"]["hostname"] = 3.5
    data = document(item, run_id="named")
    data["machine_info"]["gpubench"] = {"hostname": "real-host"}
    results = tmp_path / "results"
    assert run_cli("ingest", str(write_json(data, tmp_path / "d.json")), "--results", str(results))[0] == 0
    row = store.read_results(results).iloc[0]
    assert row["param_quartile_source"] == "mine" and row["quartile_source"] != "mine"
    assert row["hostname"] == "real-host" and row["param_hostname"] == 3.5
