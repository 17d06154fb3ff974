"""The parquet store: ingest real output, append-only, atomic, and bad input leaves it untouched."""

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from support import cli, run_benchmarks

from gpubench import store


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_ingest_real_benchmark_json(copy_json, tmp_path):
    run = store.ingest(copy_json, tmp_path)
    frame = store.read_results(tmp_path)
    assert run.measured >= 1 and len(frame) == run.measured + run.skipped
    ok = frame[frame["status"] == "ok"]
    for column in ("run_id", "started_at", "suite", "case", "median_s", "iqr_s", "min_s", "rounds"):
        assert ok[column].notna().all(), column
    assert set(ok["direction"]) >= {"h2h"}
    # Typed columns, not JSON strings.
    assert pd.api.types.is_integer_dtype(frame["bytes"])
    assert pd.api.types.is_float_dtype(ok["gbps"]) and pd.api.types.is_float_dtype(ok["median_s"])
    assert pd.api.types.is_datetime64_any_dtype(frame["started_at"])
    assert all(len(samples) == rounds for samples, rounds in zip(ok["samples_s"], ok["rounds"], strict=True))
    assert frame["torch_version"].notna().all() and frame["hostname"].notna().all()
    skipped = frame[frame["status"] == "skipped"]
    assert skipped["skip_reason"].notna().all()


def test_two_runs_append_and_read_back(copy_json, tmp_path):
    first = store.ingest(copy_json, tmp_path)
    document = json.loads(copy_json.read_text())
    document["gpubench"]["run_id"] = "second-run"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(document))
    second = store.ingest(other, tmp_path)
    frame = store.read_results(tmp_path)
    assert set(frame["run_id"]) == {first.run_id, "second-run"}
    assert len(store.read_results(tmp_path, "second-run")) == second.measured + second.skipped
    assert list(store.list_runs(tmp_path)["run_id"]).count("second-run") == 1


def test_same_run_twice_is_refused_and_store_untouched(copy_json, tmp_path):
    store.ingest(copy_json, tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(store.StoreError, match="already in"):
        store.ingest(copy_json, tmp_path)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        '{"benchmarks": "nope"}',
        '{"benchmarks": [{"name": "x", "stats": {"median": "fast"}}]}',
        '{"benchmarks": [], "gpubench": {"skipped": []}}',
        "\x00\xff",
    ],
)
def test_malformed_input_one_line_error_store_untouched(copy_json, tmp_path, content):
    results = tmp_path / "results"
    store.ingest(copy_json, results)
    before = snapshot(results)
    bad = tmp_path / "bad.json"
    bad.write_text(content, errors="surrogateescape")
    done = cli("ingest", str(bad), "--results", str(results))
    assert done.returncode == 2
    assert done.stderr.startswith("gpubench: error:") and done.stderr.count("\n") == 1, done.stderr
    assert snapshot(results) == before


def test_missing_file_is_an_error(tmp_path):
    done = cli("ingest", str(tmp_path / "absent.json"), "--results", str(tmp_path))
    assert done.returncode == 2 and "no such file" in done.stderr


def test_failing_write_leaves_no_trace(copy_json, tmp_path, monkeypatch):
    store.ingest(copy_json, tmp_path)
    before = snapshot(tmp_path)
    document = json.loads(copy_json.read_text())
    document["gpubench"]["run_id"] = "interrupted"
    other = tmp_path.parent / f"{tmp_path.name}-interrupted.json"
    other.write_text(json.dumps(document))

    def explode(source, target):  # the run file is written in full, under its temporary name
        assert Path(source).read_bytes().startswith(b"PAR1")
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "link", explode)  # the run file is published by a hard link
    monkeypatch.setattr(os, "replace", explode)  # or, where there are none, by a rename
    with pytest.raises(KeyboardInterrupt):
        store.ingest(other, tmp_path)
    assert snapshot(tmp_path) == before


def test_foreign_pytest_benchmark_json_ingests(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_foreign.py").write_text(
        "import pytest\n"
        "@pytest.mark.parametrize('n', [10, 1000])\n"
        "def test_sum(benchmark, n):\n"
        "    benchmark.extra_info['items'] = n\n"
        "    benchmark(sum, range(n))\n"
    )
    out = tmp_path / "foreign.json"
    done = run_benchmarks(out, target=str(suite), cwd=suite)
    assert done.returncode == 0, done.stdout + done.stderr
    run = store.ingest(out, tmp_path / "results")
    frame = store.read_results(tmp_path / "results")
    assert run.measured == 2 and set(frame["n"]) == {10, 1000} and set(frame["items"]) == {10, 1000}
    assert frame["median_s"].notna().all() and frame["suite"].eq("test_foreign").all()
    with pytest.raises(store.StoreError, match="already in"):  # the derived run id is stable
        store.ingest(out, tmp_path / "results")


def test_newer_schema_is_refused(copy_json, tmp_path):
    run = store.ingest(copy_json, tmp_path)
    frame = pd.read_parquet(run.path)
    frame["schema_version"] = store.SCHEMA_VERSION + 1
    frame.to_parquet(run.path)
    with pytest.raises(store.StoreError, match="newer"):
        store.read_results(tmp_path)


def test_empty_store_reads_empty(tmp_path):
    assert store.read_results(tmp_path).empty
    with pytest.raises(store.StoreError, match="no run"):
        store.latest_run_id(tmp_path)
    shutil.rmtree(tmp_path)
