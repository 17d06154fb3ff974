"""The store's promises under fire: one winner per run, umask permissions, no debris, no write outside.

Concurrent writers, writes that would leave the store, permissions and debris.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from support import REPO
from untrusted_support import bench, copy_bench, document, one_error_line, run_cli, snapshot, write_json

from gpubench import store
from gpubench.store.write import DEBRIS_AGE_S


def test_two_writers_of_one_run_at_the_same_moment_one_wins(tmp_path, monkeypatch):
    """Both writers pass every check before either publishes: exactly one run file, the other refused."""
    first = write_json(document(bench("test_a", 1e-3), run_id="same"), tmp_path / "first.json")
    second = write_json(document(bench("test_a", 9e-3), run_id="same"), tmp_path / "second.json")
    both_written = threading.Barrier(2, timeout=30)
    original = pd.DataFrame.to_parquet

    def write_then_wait(self, path, **kwargs):
        original(self, path, **kwargs)
        both_written.wait()

    monkeypatch.setattr(pd.DataFrame, "to_parquet", write_then_wait)
    outcomes: dict[str, object] = {}

    def ingest(path: Path) -> None:
        try:
            outcomes[path.name] = store.ingest(path, tmp_path / "results")
        except store.StoreError as error:
            outcomes[path.name] = error

    threads = [threading.Thread(target=ingest, args=(path,)) for path in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    errors = [o for o in outcomes.values() if isinstance(o, store.StoreError)]
    assert len(errors) == 1 and "already in the store" in str(errors[0]), outcomes
    winner = next(name for name, o in outcomes.items() if not isinstance(o, store.StoreError))
    stored = store.read_results(tmp_path / "results")
    assert stored["source"].tolist() == [winner]
    assert stored["median_s"].tolist() == [1e-3 if winner == "first.json" else 9e-3]
    assert [p.name for p in (tmp_path / "results" / "runs").iterdir()] == ["same.parquet"]  # no temporary left


def test_concurrent_ingest_processes_exactly_one_wins(tmp_path):
    """Several real processes ingest documents of one run id at once: one exit 0, the others exit 2."""
    results = tmp_path / "results"
    paths = [
        write_json(document(bench("test_a", (n + 1) * 1e-3), run_id="contested"), tmp_path / f"doc{n}.json")
        for n in range(4)
    ]
    start = time.time() + 8  # after every process has imported gpubench
    script = (
        "import sys, time; from gpubench.cli import main; "
        "time.sleep(max(0, float(sys.argv[1]) - time.time())); sys.exit(main(sys.argv[2:]))"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(start), "ingest", str(path), "--results", str(results)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in paths
    ]
    done = [(process.wait(timeout=120), *process.communicate()) for process in processes]
    assert sorted(status for status, _, _ in done) == [0, 2, 2, 2], done
    for status, _, err in done:
        if status == 2:
            assert one_error_line(err) and "already in the store" in err, err
    stored = store.read_results(results)
    winner = next(i for i, (status, _, _) in enumerate(done) if status == 0)
    assert stored["source"].tolist() == [f"doc{winner}.json"]
    assert os.listdir(results / "runs") == ["contested.parquet"]


def test_run_files_get_the_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        run = store.ingest(write_json(document(bench(), run_id="perm"), tmp_path / "d.json"), tmp_path / "r")
    finally:
        os.umask(old)
    assert run.path.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("code", [errno.EPERM, errno.EXDEV])
def test_a_filesystem_without_hard_links_still_gets_one_whole_file_per_run(tmp_path, monkeypatch, code):
    def no_links(source, target):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "link", no_links)
    results = tmp_path / "r"
    run = store.ingest(write_json(document(bench(), run_id="nolink"), tmp_path / "d.json"), results)
    assert store.read_results(results, "nolink")["run_id"].tolist() == ["nolink"]
    with pytest.raises(store.StoreError, match="already in the store"):
        store.ingest(write_json(document(bench(), run_id="nolink"), tmp_path / "again.json"), results)
    assert sorted(path.name for path in (results / "runs").iterdir()) == [run.path.name]  # no debris, no claim left


def test_old_temporary_debris_is_removed_by_the_next_write_fresh_kept(tmp_path):
    runs = tmp_path / "r" / "runs"
    runs.mkdir(parents=True)
    old, fresh = runs / ".killed.abc.tmp", runs / ".live.def.tmp"
    old.write_bytes(b"PAR1 half")
    fresh.write_bytes(b"PAR1 half")
    hours_ago = time.time() - DEBRIS_AGE_S - 60
    os.utime(old, (hours_ago, hours_ago))
    store.ingest(write_json(document(bench(), run_id="next"), tmp_path / "d.json"), tmp_path / "r")
    assert not old.exists() and fresh.exists()


def test_a_symlink_in_the_store_is_never_written_through(tmp_path):
    results = tmp_path / "results"
    data = document(copy_bench("h2h", 4096, 1e-6), copy_bench("h2h", 1 << 20, 1e-4), run_id="copy-run")
    assert run_cli("ingest", str(write_json(data, tmp_path / "c.json")), "--results", str(results))[0] == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    plots = results / "plots" / "copy-run"
    plots.mkdir(parents=True)
    (plots / "copy_bandwidth.png").symlink_to(victim)
    status, _, err = run_cli("plot", "--results", str(results))
    assert status == 2 and one_error_line(err) and "symbolic link" in err, err
    # history: a link planted at the PNG's name
    status, out, err = run_cli("history", "--results", str(results))
    assert status == 0, err
    png = Path(out.strip().splitlines()[-1])
    png.unlink()
    png.symlink_to(victim)
    status, _, err = run_cli("history", "--results", str(results))
    assert status == 2 and "symbolic link" in err, err
    assert victim.read_text() == "precious"


@pytest.mark.parametrize(("folder", "command"), [("plots", ["plot"]), ("history", ["history"]), ("fleet", ["fleet"])])
def test_a_folder_link_planted_in_the_store_is_never_followed(tmp_path, folder, command):
    results = tmp_path / "results"
    data = document(copy_bench("h2h", 4096, 1e-6), copy_bench("h2h", 1 << 20, 1e-4), run_id="copy-run")
    assert run_cli("ingest", str(write_json(data, tmp_path / "c.json")), "--results", str(results))[0] == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (results / folder).symlink_to(elsewhere, target_is_directory=True)
    status, _, err = run_cli(*command, "--results", str(results))
    assert status == 2 and one_error_line(err) and "symbolic link" in err, err
    assert list(elsewhere.iterdir()) == []  # nothing written through the link


def test_a_stored_param_cannot_steer_a_plot_outside_out(tmp_path):
    """conv plots name files after stored params (device, dtype, layout): '/../' must stay a name."""
    rows = []
    for benchmark in (False, True):
        for deterministic in (False, True):
            rows.append(
                {
                    "suite": "conv", "case": f"conv[{benchmark}-{deterministic}]", "status": "ok",
                    "device": "cpu/../../../../escaped", "dtype": "float32", "allow_tf32": False,
                    "layout": "nchw/../../x", "shape": "s", "batch": 1, "scenario": "static",
                    "direction": "forward", "cudnn_benchmark": benchmark, "cudnn_deterministic": deterministic,
                    "median_s": 1e-3, "first_call_s": 2e-3,
                }
            )  # fmt: skip
    from gpubench.views.figures.run import plot_run

    out = tmp_path / "deep" / "er" / "out"
    written = plot_run(pd.DataFrame(rows), out)
    assert written and all(path.parent == out for path in written), written
    outside = [p for p in tmp_path.rglob("*.png") if out not in p.parents]
    assert outside == []


def test_nightly_accept_never_writes_outside_the_store(tmp_path):
    results = tmp_path / "results"
    (results / "nightly").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "verdicts.json").write_text(json.dumps({"run_id": "x", "rerun_id": None, "cases": []}))
    before = snapshot(tmp_path)
    for run_id in ("../../outside", "..", " ", "a\nb", "*"):
        status, _, err = run_cli("nightly", "--accept", run_id, "--results", str(results))
        assert status == 2 and one_error_line(err) and "invalid run id" in err, (run_id, err)
    assert snapshot(tmp_path) == before
    # a verdicts file naming a rerun outside the store
    night = results / "nightly" / "night-1"
    night.mkdir()
    (night / "verdicts.json").write_text(json.dumps({"run_id": "night-1", "rerun_id": "../../outside", "cases": []}))
    before = snapshot(tmp_path)
    status, _, err = run_cli("nightly", "--accept", "night-1", "--results", str(results))
    assert status == 2 and "invalid run id" in err, err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("run_id", ["../x", " ", "*", "a\nb", ".hidden", "a/b"])
def test_run_ids_from_the_command_line_are_validated(tmp_path, run_id):
    assert run_cli("ingest", str(write_json(document(bench(), run_id="ok"), tmp_path / "d.json")),
                   "--results", str(tmp_path))[0] == 0  # fmt: skip
    readings = write_json({"format": 1, "torch": {"version": "2"}}, tmp_path / "readings.json")
    for command in (["plot", "--run", run_id], ["doctor", "--readings", str(readings), "--run", run_id]):
        status, _, err = run_cli(*command, "--results", str(tmp_path))
        assert status == 2 and one_error_line(err), (command, err)
    assert not (tmp_path / "plots").exists()


@pytest.mark.parametrize("raw", ["a/../b.png", "..", ".hidden.png", "history_host_._..png", "x\n/y.png", "", "é€.png"])
def test_safe_names_are_one_plain_name_keeping_the_extension(raw):
    from gpubench.files.safe import safe_name

    name = safe_name(raw)
    assert name and "/" not in name and ".." not in name and not name.startswith(".")
    assert name.endswith(".png") == raw.endswith(".png")
