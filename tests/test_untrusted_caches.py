"""Caches and side files that are damaged, foreign or changing under a reader: rebuilt, skipped or
waited out, said once, never a failed read.

Classes 6, 7, 8 and 11 of issue 17: a run file changed in place with its size and modification
time kept, unreadable nightly verdicts files, corrupted caches (figures segments, change points,
night marks, the runs index), and readers racing another reader's compaction (real processes).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from support import subprocess_env
from untrusted_support import copy_store, one_error_line, run_cli

from gpubench import store
from gpubench.analysis.baseline import night_marks
from gpubench.store import figures as figures_module
from gpubench.store.figures import read_figures

IDS = ["run-1", "run-2", "run-3", "run-4"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("base")
    results = folder / "results"
    assert copy_store(results, folder) == IDS
    night = results / "nightly" / "run-3"
    night.mkdir(parents=True)
    slower = {"suite": "copy", "case": "copy[direction=h2h,host_memory=pinned,bytes=4096]", "verdict": "slower"}
    (night / "verdicts.json").write_text(json.dumps({"run_id": "run-3", "cases": [slower]}))
    assert run_cli("history", "--results", str(results))[0] == 0  # every cache built
    return results


@pytest.fixture
def results(built, tmp_path) -> Path:
    shutil.copytree(built, tmp_path / "results", symlinks=True)
    return tmp_path / "results"


# --- 6. a run file changed in place, its size and modification time kept -----------------------------


def test_a_run_file_changed_in_place_is_skipped_named_or_refused_when_asked_for(results):
    path = results / "runs" / "run-4.parquet"  # the latest run of n2: fleet reads it
    before = path.stat()
    path.write_bytes(os.urandom(before.st_size))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    status, _, err = run_cli("fleet", "--min-peers", "1", "--results", str(results))
    assert status in (0, 1) and str(path) in err, err
    status, _, err = run_cli("compare", "run-1", "run-3", "--results", str(results))
    assert status in (0, 1), err
    status, _, err = run_cli("compare", "run-2", "run-4", "--results", str(results))
    assert status == 2 and one_error_line(err.splitlines()[-1] + "\n") and str(path) in err, err
    status, out, _ = run_cli("store", "check", "--results", str(results))
    assert status == 1 and str(path) in out, out


# --- 7. unreadable nightly verdicts: skipped with one warning naming each, the night goes on ------------

BAD_VERDICTS = {
    "random-bytes": bytes(range(128, 256)) * 4,
    "deep-nesting": b"[" * 100_000 + b"]" * 100_000,
    "a-list": b"[1, 2]",
    "cases-a-number": b'{"run_id": "x", "cases": 5}',
    "bad-run-id": b'{"run_id": "../../x", "cases": [{"case": "c", "verdict": "slower"}]}',
}


@pytest.mark.parametrize("kind", sorted(BAD_VERDICTS))
def test_an_unreadable_verdicts_file_costs_its_own_night_only(results, kind):
    bad = results / "nightly" / "run-2" / "verdicts.json"  # a shown run's night: history reads it
    bad.parent.mkdir(parents=True)
    bad.write_bytes(BAD_VERDICTS[kind])
    status, _, err = run_cli("history", "--results", str(results))
    assert status == 0, err
    assert [line for line in err.splitlines() if str(bad) in line] == [err.splitlines()[0]], err  # once, named
    assert set(night_marks(results).values()) == {"regression"}  # the good night's marks still count


# --- 8. corrupted caches: rebuilt, said once, the read never fails ------------------------------------


def _segment_without_file_list(results: Path) -> None:
    for path in (results / "index" / "figures").glob("*.parquet"):
        table = pq.read_table(path)
        meta = {key: value for key, value in (table.schema.metadata or {}).items() if b"files" not in key}
        pq.write_table(table.replace_schema_metadata(meta), path)


def _change_points_without_environment(results: Path) -> None:
    for path in (results / "cache" / "changepoints").glob("*.json"):
        document = json.loads(path.read_text())
        for entry in document["cases"].values():
            entry["change_points"] = [{"run_id": "run-1", "ratio": 1.2}]
        path.write_text(json.dumps(document))


def _night_mark_an_int(results: Path) -> None:
    path = results / "cache" / "night_marks.json"
    document = json.loads(path.read_text())
    document["nights"] = {night: 7 for night in document["nights"]}
    path.write_text(json.dumps(document))


def _index_random(results: Path) -> None:
    (results / "index" / "runs.parquet").write_bytes(b"PAR1" + os.urandom(500) + b"PAR1")


def _segments_truncated(results: Path) -> None:
    for path in (results / "index" / "figures").glob("*.parquet"):
        path.write_bytes(path.read_bytes()[:-20])


CORRUPTIONS = {
    "segment-without-file-list": _segment_without_file_list,
    "change-points-without-environment": _change_points_without_environment,
    "night-mark-an-int": _night_mark_an_int,
    "index-random-bytes": _index_random,
    "segments-truncated": _segments_truncated,
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_corrupted_cache_is_rebuilt_and_the_read_is_the_same(built, results, corruption):
    status, clean, _ = run_cli("history", "--results", str(built), "--format", "json")
    assert status == 0
    CORRUPTIONS[corruption](results)
    status, out, err = run_cli("history", "--results", str(results), "--format", "json")
    assert status == 0, err
    assert json.loads(out)["cases"] == json.loads(clean)["cases"]
    assert json.loads(out)["change_points"] == json.loads(clean)["change_points"]
    said = err.splitlines()
    assert len(said) == len(set(said)) <= 2, err  # said once per damaged file (one per machine) at most
    for command in (["compare", "run-1", "run-3"], ["fleet", "--min-peers", "1"]):
        assert run_cli(*command, "--results", str(results))[0] in (0, 1), command


# --- 11. a reader never fails because another reader is compacting -----------------------------------


def test_segments_merged_away_under_a_reader_are_read_again(results, monkeypatch):
    """Between this reader's listing of the segments and its scan, another reader merges them
    away (deterministic: the segments vanish at the first scan)."""
    store.write_run(store.read_results(results, "run-1").assign(run_id="run-5"), results)
    expected = read_figures(results).drop(columns=[]).sort_values(["run_id", "case"], ignore_index=True)
    store.write_run(store.read_results(results, "run-1").assign(run_id="run-6"), results)
    real = figures_module._dataset
    calls = []

    def vanishing(location, paths):
        calls.append(paths)
        if len(calls) == 1:  # the other reader merges and removes them now
            for path in paths:
                os.unlink(path)
        return real(location, paths)

    monkeypatch.setattr(figures_module, "_dataset", vanishing)
    got = read_figures(results)
    assert set(got["run_id"]) == {*IDS, "run-5", "run-6"}
    assert len(got) == len(expected) + 3


READER = """
import sys
from gpubench.store.figures import read_figures
failures = 0
for _ in range(int(sys.argv[2])):
    try:
        read_figures(sys.argv[1])
    except Exception as error:
        failures += 1
        print(type(error).__name__, error, file=sys.stderr)
print(failures)
"""
WRITER = """
import sys
import pandas as pd
from gpubench import store
from gpubench.store.figures import read_figures
source = store.read_results(sys.argv[1], "run-1")
for number in range(int(sys.argv[2])):
    stamp = pd.Timestamp("2026-12-01", tz="UTC") + pd.Timedelta(days=number)
    store.write_run(source.assign(run_id=f"more-{number}", started_at=stamp), sys.argv[1])
    read_figures(sys.argv[1])  # a segment per run: merges pass MAX_SEGMENTS again and again
"""


@pytest.mark.skipif(sys.platform == "win32", reason="processes racing on one folder: POSIX renames")
def test_readers_racing_a_compacting_reader_never_fail(results):
    """Real processes: one stores 10 runs, each followed by a read that adds a segment (and
    merges past 8); two others read the figures the whole time. No read may fail."""
    env = subprocess_env()
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, "env": env}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(results), "10"], **pipes)
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(results), "15"], **pipes) for _ in range(2)]
    done = [(process.communicate(timeout=600), process.returncode) for process in readers]
    _, written = writer.communicate(timeout=600)
    assert writer.returncode == 0, written[-2000:]
    for (out, err), code in done:
        assert code == 0 and out.strip() == "0", err[-2000:]
    assert len(read_figures(results)["run_id"].unique()) == 14
