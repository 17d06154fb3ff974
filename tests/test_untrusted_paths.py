"""Where the store's bytes go: one path from the first call to the last, no link followed at any
cache folder, caches refused served from memory, read-only stores, and a store check that never
calls an uninspectable store healthy.

Classes 1, 2, 9, 10 and 14 of issue 17.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from untrusted_support import (
    bench,
    copy_store,
    document,
    listing,
    no_traceback,
    one_error_line,
    read_only,
    run_cli,
    write_json,
)

from gpubench import store

IDS = ["run-1", "run-2", "run-3", "run-4"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Four runs of two machines, caches warm (history ran once): copied by each test."""
    folder = tmp_path_factory.mktemp("base")
    results = folder / "results"
    assert copy_store(results, folder) == IDS
    assert run_cli("history", "--results", str(results))[0] == 0
    return results


def warm_store(built: Path, tmp_path: Path) -> Path:
    results = tmp_path / "results"
    shutil.copytree(built, results, symlinks=True)
    return results


# --- 1. one expanded path -------------------------------------------------------------------


@pytest.mark.parametrize("given", ["~/store", "~/./store/", "~/sub/../store"])
def test_a_store_path_with_an_unexpanded_tilde_is_one_path(tmp_path, monkeypatch, given):
    """``--results '~/store'`` (quoted, or from a config file): the run file is written whole where
    every later command reads it, and nothing lands in ``./~`` or stays behind as a temporary."""
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    doc = write_json(document(bench("test_a", 1e-3), run_id="tilde"), tmp_path / "d.json")
    status, out, err = run_cli("ingest", str(doc), "--results", given)
    assert status == 0, err
    run_file = home / "store" / "runs" / "tilde.parquet"
    assert run_file.stat().st_size > 0 and str(run_file) in out, out
    assert store.read_results(run_file.parent.parent)["run_id"].tolist() == ["tilde"]
    assert sorted(os.listdir(run_file.parent)) == ["tilde.parquet"]  # no temporary left beside it
    assert list(work.iterdir()) == []  # no ./~ folder
    status, out, err = run_cli("store", "check", "--results", given)
    assert status == 0 and "1 run file(s), 0 bad" in out, (out, err)
    assert store.read_results(given)["run_id"].tolist() == ["tilde"]  # the library takes the same path


def test_a_run_file_is_published_whole_or_not_at_all(tmp_path, monkeypatch):
    """A writer that leaves its temporary file short (a library writing elsewhere, a full disk)
    publishes nothing: the next reader never meets a 0-byte run file."""
    original = pd.DataFrame.to_parquet

    def elsewhere(self, path, **kwargs):
        original(self, tmp_path / "elsewhere.parquet", **kwargs)  # what a reinterpreted path does

    monkeypatch.setattr(pd.DataFrame, "to_parquet", elsewhere)
    import pyarrow.parquet as pq

    write_table = pq.write_table

    def table_elsewhere(table, where, **kwargs):
        write_table(table, tmp_path / "elsewhere-stamped.parquet", **kwargs)  # the stamped writer's path

    monkeypatch.setattr(pq, "write_table", table_elsewhere)
    doc = write_json(document(bench("test_a", 1e-3), run_id="short"), tmp_path / "d.json")
    status, _, err = run_cli("ingest", str(doc), "--results", str(tmp_path / "results"))
    assert status == 2 and one_error_line(err), err
    runs = tmp_path / "results" / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []


# --- 2 and 9. cache folders: no link followed, a refusal is served from memory ---------------------

CACHE_LINKS = ["index", "index/figures", "cache", "cache/changepoints"]


@pytest.mark.parametrize("folder", CACHE_LINKS)
def test_a_link_planted_at_a_cache_folder_is_neither_followed_nor_fatal(built, tmp_path, folder):
    results, ids = warm_store(built, tmp_path), IDS
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "planted.parquet").write_bytes(b"PAR1 foreign")
    shutil.rmtree(results / folder)
    (results / folder).symlink_to(outside, target_is_directory=True)
    before = listing(outside)
    for command in (["history"], ["fleet", "--min-peers", "1"], ["compare", ids[0], ids[2]]):
        status, _, err = run_cli(*command, "--results", str(results))
        assert status in (0, 1), (command, err)
        assert "symbolic link" in err or command[0] != "history", (command, err)  # said, once
    assert listing(outside) == before  # nothing written, moved or removed through the link


@pytest.mark.parametrize("planted", ["index-file-link", "index-plain-file", "cache-plain-file", "figures-plain-file"])
def test_a_refused_cache_file_is_served_from_memory(built, tmp_path, planted):
    results, ids = warm_store(built, tmp_path), IDS
    outside = tmp_path / "outside.parquet"
    outside.write_bytes((results / "index" / "runs.parquet").read_bytes())
    if planted == "index-file-link":
        (results / "index" / "runs.parquet").unlink()
        (results / "index" / "runs.parquet").symlink_to(outside)
    else:
        folder = {"index-plain-file": "index", "cache-plain-file": "cache", "figures-plain-file": "index/figures"}
        shutil.rmtree(results / folder[planted])
        (results / folder[planted]).write_text("a plain file")
    before = outside.read_bytes()
    store.write_run(store.read_results(results, ids[0]).assign(run_id="run-late"), results)  # caches stale
    for command in (["history"], ["fleet", "--min-peers", "1"], ["compare", ids[0], ids[2]]):
        status, _, err = run_cli(*command, "--results", str(results))
        assert status in (0, 1), (command, err)
    assert outside.read_bytes() == before


def test_quarantine_through_a_planted_link_moves_nothing(built, tmp_path):
    results = warm_store(built, tmp_path)
    bad = results / "runs" / "garbage.parquet"
    bad.write_bytes(b"PAR1 not really")
    outside = tmp_path / "outside"
    outside.mkdir()
    (results / "quarantine").symlink_to(outside, target_is_directory=True)
    status, out, err = run_cli("store", "check", "--results", str(results), "--quarantine")
    assert status == 2 and one_error_line(err) and "symbolic link" in err, (out, err)
    assert bad.exists() and list(outside.iterdir()) == []


# --- 10. a read-only store ------------------------------------------------------------------


def test_a_read_only_store_is_read_and_says_where_figures_would_go(built, tmp_path):
    results, ids = warm_store(built, tmp_path), IDS
    (results / "history").rename(tmp_path / "old-history")  # the default output folder not made yet
    store.write_run(store.read_results(results, ids[0]).assign(run_id="run-late"), results)  # caches stale
    with read_only(results):
        before = listing(results)
        for command in (["history"], ["fleet", "--min-peers", "1"]):
            status, out, err = run_cli(*command, "--results", str(results))
            assert status in (0, 1), (command, err)
            assert "--out" in err and err.count("\n") == 1, (command, err)  # said in one line
            assert "copy[" in out or command[0] == "fleet"
        status, _, err = run_cli("compare", ids[0], ids[2], "--results", str(results))
        assert status in (0, 1), err
        status, _, err = run_cli("plot", "--results", str(results))
        assert status == 2 and one_error_line(err) and "--out" in err, err
        assert listing(results) == before
    status, out, err = run_cli("history", "--results", str(results), "--out", str(tmp_path / "figures"))
    assert status == 0 and list((tmp_path / "figures").glob("*.png")), err


# --- 14. store check never reports a store it could not inspect as healthy -----------------------


def _uninspectable(tmp_path: Path, kind: str) -> str:
    if kind == "missing":
        return str(tmp_path / "nowhere")
    if kind == "plain-file":
        (tmp_path / "file").write_text("x")
        return str(tmp_path / "file")
    if kind == "dev-null":
        return "/dev/null"
    if kind == "unknown-scheme":
        return "foo://bar"
    if kind == "s3-without-s3fs":
        pytest.importorskip("fsspec")
        try:
            import s3fs  # noqa: F401
        except ImportError:
            return "s3://bucket/results"
        pytest.skip("s3fs is installed here")
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["missing", "plain-file", "dev-null", "unknown-scheme", "s3-without-s3fs"])
def test_store_check_of_a_store_it_cannot_inspect_is_an_error(tmp_path, kind):
    status, out, err = run_cli("store", "check", "--results", _uninspectable(tmp_path, kind))
    assert status == 2 and one_error_line(err) and "0 bad" not in out, (out, err)


def test_store_check_of_unlistable_runs_is_an_error(built, tmp_path, monkeypatch):
    results = warm_store(built, tmp_path)
    real = os.scandir

    def refuse(path="."):
        if Path(path) == results / "runs":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", refuse)
    status, out, err = run_cli("store", "check", "--results", str(results))
    assert status == 2 and one_error_line(err) and "runs" in err, (out, err)


def test_store_check_fails_while_a_newer_schema_file_makes_readers_refuse_the_store(built, tmp_path):
    results, ids = warm_store(built, tmp_path), IDS
    frame = store.read_results(results, ids[0]).assign(run_id="future", schema_version=store.SCHEMA_VERSION + 1)
    frame.to_parquet(results / "runs" / "future.parquet", index=False)
    assert run_cli("history", "--results", str(results))[0] == 2  # readers refuse the store
    status, out, _ = run_cli("store", "check", "--results", str(results), "--quarantine")
    assert status == 1 and "newer" in out and (results / "runs" / "future.parquet").exists(), out


@pytest.mark.parametrize("trouble", ["folder-named-parquet", "quarantine-plain-file", "immovable-file"])
def test_quarantine_trouble_is_reported_never_a_traceback(built, tmp_path, trouble):
    results = warm_store(built, tmp_path)
    bad = results / "runs" / "garbage.parquet"
    bad.write_bytes(b"PAR1 not really")
    if trouble == "folder-named-parquet":
        (results / "runs" / "X.parquet").mkdir()
    elif trouble == "quarantine-plain-file":
        (results / "quarantine").write_text("a plain file")
    status, out, err = run_cli("store", "check", "--results", str(results))
    assert status == 1 and str(bad) in out, (out, err)
    if trouble == "immovable-file":
        with read_only(results / "runs"):
            status, out, err = run_cli("store", "check", "--results", str(results), "--quarantine")
        assert status == 1 and "not moved" in out and bad.exists(), (out, err)
        return
    status, out, err = run_cli("store", "check", "--results", str(results), "--quarantine")
    assert no_traceback(status, err), err
    if trouble == "quarantine-plain-file":
        assert status == 2 and "quarantine" in err and bad.exists(), err
    else:
        assert status == 0 and not bad.exists() and not (results / "runs" / "X.parquet").exists(), (out, err)
        assert run_cli("store", "check", "--results", str(results))[0] == 0
