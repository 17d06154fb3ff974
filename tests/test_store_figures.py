"""The figures cache: the same rows as a read of the run files, kept current as runs come and go."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import fsspec
import pandas as pd
import pyarrow.parquet as pq
import pytest
from store_runs import COMMITTED, copy_run

from gpubench import store
from gpubench.store import figures as figures_module
from gpubench.store.figures import FIGURE_COLUMNS, MAX_SEGMENTS, read_figures
from gpubench.store.location import Location

CASE = "copy[direction=h2h,host_memory=pageable,bytes=4096]"
COMPARED = ["run_id", "suite", "case", "median_s", "q1_s", "q3_s", "gbps", "hostname", "torch_version"]


def segments(results: Path) -> list[Path]:
    return sorted((results / "index" / "figures").glob("*.parquet"))


def from_run_files(results, **filters) -> pd.DataFrame:
    """The reference: the same rows read from the run files themselves."""
    frame = store.read_results(results, status="ok", columns=FIGURE_COLUMNS, **filters)
    return frame.sort_values(["started_at", "run_id", "case"], ignore_index=True)


def same_rows(cached: pd.DataFrame, reference: pd.DataFrame) -> None:
    cached = cached.sort_values(["started_at", "run_id", "case"], ignore_index=True)
    assert len(cached) == len(reference) > 0
    for column in COMPARED:
        assert cached[column].astype(str).tolist() == reference[column].astype(str).tolist(), column


def test_figures_are_the_rows_of_the_run_files_read_by_one_scan(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(COMMITTED, results / "runs")  # real runs of three suites, two schema versions
    same_rows(read_figures(results), from_run_files(results))
    assert len(segments(results)) == 1
    same_rows(read_figures(results, case_regex="h2h.*4096"), from_run_files(results, case_regex="h2h.*4096"))
    same_rows(read_figures(results, suites=["conv"]), from_run_files(results, suites=["conv"]))
    machine = str(store.list_runs(results)["machine"].iloc[-1])
    same_rows(read_figures(results, machine=machine), from_run_files(results, machine=machine))
    assert read_figures(results, cases={"no such case"}).empty
    # Within a run, cases keep the order their suite lists them in (sizes ascending), as stored.
    cached, reference = read_figures(results), store.read_results(results, status="ok", columns=FIGURE_COLUMNS)
    for run_id, rows in reference.groupby("run_id", sort=False):
        assert cached.loc[cached["run_id"] == run_id, "case"].tolist() == rows["case"].tolist()


def test_a_segment_of_another_version_or_unreadable_is_replaced(tmp_path):
    results = tmp_path / "results"
    for day in range(1, 3):
        store.write_run(copy_run(f"night-{day}", f"2026-11-0{day}T02:00:00"), results)
    read_figures(results)
    folder = results / "index" / "figures"
    table = pq.read_table(segments(results)[0])
    meta = {**table.schema.metadata, b"gpubench.figures_version": b"0"}
    pq.write_table(table.replace_schema_metadata(meta), folder / "older.parquet")
    (folder / "torn.parquet").write_bytes(b"PAR1 not really")
    segments(results)[0].unlink()
    same_rows(read_figures(results), from_run_files(results))
    assert [path.name for path in segments(results)] != [] and not any(
        path.name in ("older.parquet", "torn.parquet") for path in segments(results)
    )


def test_added_removed_and_changed_run_files_are_followed(tmp_path, monkeypatch):
    results = tmp_path / "results"
    for day in range(1, 4):
        store.write_run(copy_run(f"night-{day}", f"2026-11-0{day}T02:00:00"), results)
    assert sorted(set(read_figures(results)["run_id"])) == ["night-1", "night-2", "night-3"]
    built = []
    real = figures_module._build

    def spy(index, files):
        built.append(sorted(files))
        return real(index, files)

    monkeypatch.setattr(figures_module, "_build", spy)
    store.write_run(copy_run("night-4", "2026-11-04T02:00:00"), results)  # another node's run
    assert sorted(set(read_figures(results)["run_id"])) == ["night-1", "night-2", "night-3", "night-4"]
    assert built == [["night-4.parquet"]]  # only the new file was read
    (results / "runs" / "night-2.parquet").unlink()  # removed by hand
    assert sorted(set(read_figures(results)["run_id"])) == ["night-1", "night-3", "night-4"]
    slower = copy_run("night-3", "2026-11-03T02:00:00", slower=2.0)  # replaced by hand, with other figures
    (results / "runs" / "night-3.parquet").unlink()
    store.write_run(slower, results)
    cached = read_figures(results, cases={CASE})
    same_rows(cached, from_run_files(results, cases={CASE}))
    night_3 = cached.loc[cached["run_id"] == "night-3", "median_s"].iloc[0]
    assert night_3 == pytest.approx(2 * cached.loc[cached["run_id"] == "night-1", "median_s"].iloc[0])
    assert len(cached) == 3 and built[-1] == ["night-3.parquet"]
    assert not read_figures(results).duplicated(["run_id", "case"]).any()


def test_segments_are_merged_and_a_file_covered_twice_is_read_once(tmp_path):
    results = tmp_path / "results"
    for day in range(1, MAX_SEGMENTS + 3):  # a segment per night: past MAX_SEGMENTS they are merged
        store.write_run(copy_run(f"night-{day:02d}", f"2026-11-{day:02d}T02:00:00"), results)
        read_figures(results)
    assert len(segments(results)) <= MAX_SEGMENTS // 2 + 1
    same_rows(read_figures(results), from_run_files(results))
    before = len(segments(results))
    shelf = segments(results)[0].name.split("-")[0]
    copy = segments(results)[0].with_name(f"{shelf}-{'0' * 20}.parquet")  # two readers' race: the same files twice
    shutil.copy(segments(results)[0], copy)
    same_rows(read_figures(results), from_run_files(results))
    assert not read_figures(results).duplicated(["run_id", "case"]).any()
    assert len(segments(results)) == before  # one of the two merged away


def test_segments_are_bounded_so_a_fleets_year_fits_in_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(figures_module, "SEGMENT_FILES", 2)
    monkeypatch.setattr(figures_module, "MAX_SEGMENTS", 2)
    built = []
    real = figures_module._build
    monkeypatch.setattr(figures_module, "_build", lambda index, files: built.append(len(files)) or real(index, files))
    results = tmp_path / "results"
    for day in range(1, 6):
        store.write_run(copy_run(f"night-{day}", f"2026-11-0{day}T02:00:00", hostname=f"node{day % 2}"), results)
    same_rows(read_figures(results), from_run_files(results))
    assert built == [2, 1, 2]  # a machine at a time (node1: nights 1, 3, 5; node0: 2, 4), a segment's worth each
    covered = {path.name: files_covered(path) for path in segments(results)}
    assert sorted(map(len, covered.values())) == [1, 2, 2]
    for path in segments(results):  # one machine per segment, named by its shelf
        machines = set(pq.read_table(path, columns=["machine"])["machine"].to_pylist())
        assert len(machines) == 1 and path.name.startswith(figures_module.shelf_of(machines.pop()) + "-")
    full = {name for name, files in covered.items() if len(files) == 2}
    for day in range(6, 9):  # an open segment a night: past MAX_SEGMENTS merged into full ones
        store.write_run(copy_run(f"night-{day}", f"2026-11-0{day}T02:00:00"), results)
        same_rows(read_figures(results), from_run_files(results))
    assert built[3:] == [1, 1, 1] and len(segments(results)) == 5
    assert full <= {path.name for path in segments(results)}  # full segments are not rewritten
    gone = next(name for name in full if "night-2.parquet" in covered[name])
    (results / "runs" / "night-2.parquet").unlink()  # but one whose file goes is
    same_rows(read_figures(results), from_run_files(results))
    assert gone not in {path.name for path in segments(results)}
    assert full - {gone} <= {path.name for path in segments(results)}


def test_a_read_of_one_machine_opens_and_builds_only_its_shelf(tmp_path, monkeypatch):
    built = []
    real = figures_module._build
    monkeypatch.setattr(
        figures_module, "_build", lambda index, files: built.append(sorted(files)) or real(index, files)
    )
    results = tmp_path / "results"
    for day, host in enumerate(["a", "b", "a", "b"], start=1):
        store.write_run(copy_run(f"night-{day}", f"2026-11-0{day}T02:00:00", hostname=host), results)
    a, b = "no GPU @ a", "no GPU @ b"
    same_rows(read_figures(results, machine=a), from_run_files(results, machine=a))
    assert built == [["night-1.parquet", "night-3.parquet"]]  # b's files not read
    assert {path.name.split("-")[0] for path in segments(results)} == {figures_module.shelf_of(a)}
    same_rows(read_figures(results), from_run_files(results))  # a whole read builds the rest
    assert built[1:] == [["night-2.parquet", "night-4.parquet"]]
    store.write_run(copy_run("night-5", "2026-11-05T02:00:00", hostname="b"), results)
    opened = []
    real_dataset = figures_module._dataset
    monkeypatch.setattr(
        figures_module, "_dataset", lambda location, paths: opened.extend(paths) or real_dataset(location, paths)
    )
    same_rows(read_figures(results, machine=[a]), from_run_files(results, machine=a))
    assert len(built) == 2  # b's new run is left for a read of b
    assert {Path(path).name.split("-")[0] for path in opened} == {figures_module.shelf_of(a)}
    same_rows(read_figures(results, machine=b), from_run_files(results, machine=b))
    assert built[2:] == [["night-5.parquet"]]


def test_a_run_file_naming_two_hosts_is_its_first_rows_machines_as_in_every_read(tmp_path):
    results = tmp_path / "results"
    store.write_run(copy_run("night-1", "2026-11-01T02:00:00", hostname="a"), results)
    made_by_hand = copy_run("night-2", "2026-11-02T02:00:00", hostname="b")
    made_by_hand.loc[made_by_hand.index[1::2], "hostname"] = "a"  # every other row from another host
    store.write_run(made_by_hand, results)
    for machine in ("no GPU @ a", "no GPU @ b"):
        same_rows(read_figures(results, machine=machine), from_run_files(results, machine=machine))
    shelf = {path.name.split("-")[0]: files_covered(path) for path in segments(results)}
    assert shelf == {figures_module.shelf_of("no GPU @ a"): ["night-1.parquet"],
                     figures_module.shelf_of("no GPU @ b"): ["night-2.parquet"]}  # fmt: skip
    same_rows(read_figures(results), from_run_files(results))


def files_covered(segment: Path) -> list[str]:
    return [file for file, _, _ in json.loads(pq.read_schema(segment).metadata[b"gpubench.figures_files"])]


def test_a_store_that_cannot_be_written_is_served_from_memory(tmp_path, monkeypatch):
    results = tmp_path / "results"
    for day in range(1, 4):
        store.write_run(copy_run(f"night-{day}", f"2026-11-0{day}T02:00:00"), results)
    read_figures(results)
    store.write_run(copy_run("night-4", "2026-11-04T02:00:00"), results)
    (results / "runs" / "night-1.parquet").unlink()
    before = {path.name: path.read_bytes() for path in segments(results)}

    def refuse(self, *args):
        raise PermissionError(args[0])

    monkeypatch.setattr(Location, "write_cache", lambda self, parts, data: None)  # None: not written
    monkeypatch.setattr(Location, "remove", refuse)
    same_rows(read_figures(results), from_run_files(results))
    assert {path.name: path.read_bytes() for path in segments(results)} == before  # nothing written


def test_an_object_store_through_fsspec(tmp_path):
    url = "memory://figures-test/results"
    for day in range(1, 4):
        store.write_run(copy_run(f"night-{day}", f"2026-11-0{day}T02:00:00"), url)
    try:
        cached = read_figures(url, cases={CASE})
        assert cached["run_id"].tolist() == ["night-1", "night-2", "night-3"]
        assert fsspec.filesystem("memory").glob("/figures-test/results/index/figures/*.parquet")
    finally:
        fsspec.filesystem("memory").rm("/figures-test", recursive=True)
