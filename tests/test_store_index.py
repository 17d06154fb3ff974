"""The runs index: a cache of runs/ that notices added, removed and changed files, and bad ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import fsspec
import pandas as pd
import pytest
from store_runs import COMMITTED, copy_run

from gpubench import store
from gpubench.store import index as index_module


def committed_store(folder: Path) -> Path:
    shutil.copytree(COMMITTED, folder / "runs")
    return folder


def count_opened(monkeypatch) -> list[str]:
    opened: list[str] = []
    real = index_module._index_file

    def spy(location, name, stamp):
        opened.append(name)
        return real(location, name, stamp)

    monkeypatch.setattr(index_module, "_index_file", spy)
    return opened


def test_index_lists_every_run_and_opens_only_new_files(tmp_path, monkeypatch):
    results = committed_store(tmp_path)
    opened = count_opened(monkeypatch)
    runs = store.list_runs(results)
    assert sorted(runs["run_id"]) == sorted(path.stem for path in COMMITTED.glob("*.parquet"))
    assert len(opened) == len(runs) and (results / "index" / "runs.parquet").is_file()
    assert set(runs.loc[runs["run_id"] == "20261127T012346Z-338b7e", "suites"]) == {"allreduce,conv,copy"}
    opened.clear()
    store.read_results(results, "20261127T002306Z-9a356c")  # fresh index: no run file is opened to choose
    assert opened == []


def test_added_removed_and_replaced_files_are_picked_up(tmp_path, monkeypatch):
    results = committed_store(tmp_path)
    before = set(store.list_runs(results)["run_id"])
    opened = count_opened(monkeypatch)
    # Added by hand (another node, an older gpubench): no ingest, no index update.
    copy_run("by-hand", "2026-11-28T00:00:00").to_parquet(results / "runs" / "by-hand.parquet")
    assert set(store.list_runs(results)["run_id"]) == before | {"by-hand"} and opened == ["by-hand.parquet"]
    # Removed.
    (results / "runs" / "20261127T002306Z-9a356c.parquet").unlink()
    assert set(store.list_runs(results)["run_id"]) == (before | {"by-hand"}) - {"20261127T002306Z-9a356c"}
    # Replaced by hand with different content: its stamp changed, so it is read again.
    opened.clear()
    copy_run("by-hand", "2026-11-29T00:00:00", hostname="other").to_parquet(results / "runs" / "by-hand.parquet")
    runs = store.list_runs(results)
    assert opened == ["by-hand.parquet"]
    assert runs.loc[runs["run_id"] == "by-hand", "hostname"].item() == "other"


def test_a_broken_index_is_rebuilt(tmp_path):
    results = committed_store(tmp_path)
    expected = store.list_runs(results)
    (results / "index" / "runs.parquet").write_bytes(b"not parquet")
    pd.testing.assert_frame_equal(store.list_runs(results), expected)


def test_bad_files_are_skipped_and_named_once(tmp_path, capsys):
    results = committed_store(tmp_path)
    (results / "runs" / "garbage.parquet").write_bytes(b"PAR1 half a file")
    negative = copy_run("negative", "2026-11-28T00:00:00")
    negative["median_s"] = -negative["median_s"]
    negative.to_parquet(results / "runs" / "negative.parquet")
    ancient = copy_run("ancient", "1960-01-01T00:00:00")
    ancient.to_parquet(results / "runs" / "ancient.parquet")
    (results / "quarantine").mkdir()
    copy_run("quarantined", "2026-11-28T00:00:00").to_parquet(results / "quarantine" / "quarantined.parquet")
    frame = store.read_results(results)
    assert not {"negative", "ancient", "quarantined"} & set(frame["run_id"])
    warnings = capsys.readouterr().err.splitlines()
    assert len(warnings) == 3 and all(line.startswith("gpubench: warning: skipped ") for line in warnings)
    assert any("garbage.parquet: unreadable parquet" in line for line in warnings)
    assert any("negative.parquet: median_s" in line for line in warnings)
    assert any("ancient.parquet: started_at" in line for line in warnings)
    store.read_results(results)
    assert capsys.readouterr().err == ""  # named once per process


def test_newer_schema_is_still_refused(tmp_path):
    results = committed_store(tmp_path)
    newer = copy_run("newer", "2026-11-28T00:00:00")
    newer["schema_version"] = store.SCHEMA_VERSION + 1
    newer.to_parquet(results / "runs" / "newer.parquet")
    with pytest.raises(store.StoreError, match="newer"):
        store.read_results(results)


def test_memory_store_write_index_read():
    fs = fsspec.filesystem("memory")
    url = "memory://gpubench-index-test/results"
    fs.rm("/gpubench-index-test", recursive=True) if fs.exists("/gpubench-index-test") else None
    first = store.write_run(copy_run("one", "2026-11-28T00:00:00"), url)
    store.write_run(copy_run("two", "2026-11-29T00:00:00", hostname="other"), url)
    assert str(first).startswith("memory://")
    with pytest.raises(store.StoreError, match="already in"):  # the conditional create refuses
        store.write_run(copy_run("one", "2026-11-30T00:00:00"), url)
    assert list(store.list_runs(url)["run_id"]) == ["one", "two"]
    assert store.latest_run_id(url) == "two"
    assert fs.exists("/gpubench-index-test/results/index/runs.parquet")
    frame = store.read_results(url, machine="no GPU @ other", columns=["gbps"])
    assert set(frame["run_id"]) == {"two"} and "gbps" in frame and "bytes" not in frame
    fs.rm("/gpubench-index-test/results/runs/two.parquet")
    assert list(store.list_runs(url)["run_id"]) == ["one"]


def test_two_writers_of_one_run_id_one_wins(tmp_path, monkeypatch):
    frame = copy_run("same", "2026-11-28T00:00:00")
    real_link = index_module.os.link

    def racing_link(source, target):  # another node creates the name between check and link
        Path(target).write_bytes(b"the other node's run")
        return real_link(source, target)

    monkeypatch.setattr("gpubench.store.write.os.link", racing_link)
    with pytest.raises(store.StoreError, match="already in"):
        store.write_run(frame, tmp_path)
    assert (tmp_path / "runs" / "same.parquet").read_bytes() == b"the other node's run"
    assert [path.name for path in (tmp_path / "runs").iterdir()] == ["same.parquet"]


def test_a_read_of_one_machine_checks_the_stamps_of_its_files_only(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    runs.mkdir()
    for day in (1, 2, 3):
        for host in ("vm", "other"):
            run = copy_run(f"{host}-{day}", f"2026-11-0{day}T02:00:00", hostname=host)
            run.to_parquet(runs / f"{host}-{day}.parquet")
    (runs / "mended.parquet").write_bytes(b"PAR1 half a file")
    assert len(store.list_runs(tmp_path)) == 6
    opened = count_opened(monkeypatch)
    for host in ("vm", "other"):  # each machine's first run rewritten in place, by hand
        copy_run(f"{host}-1", "2026-11-20T02:00:00", hostname=host).to_parquet(runs / f"{host}-1.parquet")
    copy_run("other-4", "2026-11-04T02:00:00", hostname="other").to_parquet(runs / "other-4.parquet")
    (runs / "other-2.parquet").unlink()
    copy_run("mended", "2026-11-05T02:00:00", hostname="other").to_parquet(runs / "mended.parquet")
    index = index_module.run_index(tmp_path, machine="vm")
    # New files, vm's and the bad one are checked; other-1 is not.
    assert sorted(opened) == ["mended.parquet", "other-4.parquet", "vm-1.parquet"]
    started = dict(zip(index.runs["run_id"], index.runs["started_at"].dt.day, strict=True))
    assert started == {"vm-1": 20, "vm-2": 2, "vm-3": 3, "other-1": 1, "other-3": 3, "other-4": 4, "mended": 5}
    opened.clear()
    index = index_module.run_index(tmp_path)  # the whole store: every stamp checked
    assert opened == ["other-1.parquet"]
    assert dict(zip(index.runs["run_id"], index.runs["started_at"].dt.day, strict=True))["other-1"] == 20
