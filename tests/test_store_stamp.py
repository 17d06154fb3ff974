"""The run file's footer stamp: the index reads what it needs from it; unstamped files and false
stamps are read whole (or, for a lie about the data, unified): never a wrong index, never a crash."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gpubench.store import index as index_module
from gpubench.store import ingest, read_results, run_index
from gpubench.store.stamp import STAMP_KEY

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted((REPO / "results" / "json").glob("*.json"))[:3]


@pytest.fixture
def stamped_store(tmp_path: Path) -> Path:
    store = tmp_path / "stamped"
    for document in DOCUMENTS:
        ingest(document, store)
    return store


def _rewrite(path: Path, change) -> None:
    table = pq.read_table(path)
    metadata = dict(table.schema.metadata)
    table = change(table, metadata)
    pq.write_table(table.replace_schema_metadata(metadata), path)


def test_ingest_stamps_and_the_index_reads_only_the_footer(stamped_store: Path, monkeypatch) -> None:
    for path in (stamped_store / "runs").glob("*.parquet"):
        stamp = json.loads(pq.read_metadata(path).metadata[STAMP_KEY])
        assert stamp["validated"] is True and stamp["run_id"] == path.stem
    shutil.rmtree(stamped_store / "index", ignore_errors=True)
    monkeypatch.setattr(index_module.pq, "read_table", _no_data_read)  # a data read: the file counted bad
    index = run_index(stamped_store, warn=False)
    assert len(index.runs) == len(DOCUMENTS) and index.bad.empty


def _no_data_read(*args, **kwargs):
    raise AssertionError("the index read a run file's data")


def test_the_footer_gives_the_index_what_a_full_read_gives(stamped_store: Path, tmp_path: Path) -> None:
    unstamped = tmp_path / "unstamped"
    shutil.copytree(stamped_store / "runs", unstamped / "runs")
    for path in (unstamped / "runs").glob("*.parquet"):
        _rewrite(path, lambda table, metadata: (metadata.pop(STAMP_KEY), table)[1])
    fast, slow = run_index(stamped_store), run_index(unstamped)
    columns = [column for column in index_module.COLUMNS if column not in ("size", "modified")]
    assert fast.runs[columns].astype(str).equals(slow.runs[columns].astype(str))
    assert fast.schemas.keys() == slow.schemas.keys() and fast.measured == slow.measured


def test_a_stamp_that_disagrees_with_its_footer_is_not_believed(stamped_store: Path) -> None:
    path = sorted((stamped_store / "runs").glob("*.parquet"))[0]

    def lie(table: pa.Table, metadata: dict) -> pa.Table:
        stamp = json.loads(metadata[STAMP_KEY])
        stamp["rows"] += 5  # not the footer's row count
        metadata[STAMP_KEY] = json.dumps(stamp).encode()
        return table.set_column(table.column_names.index("status"), "status", pa.array(["bad"] * len(table)))

    _rewrite(path, lie)
    index = run_index(stamped_store, warn=False)
    assert path.name in set(index.bad["file"])  # read whole, validated, skipped with its reason
    assert "status" in str(index.bad["problem"].iloc[0])


def test_a_false_stamp_never_crashes_a_reader(stamped_store: Path) -> None:
    path = sorted((stamped_store / "runs").glob("*.parquet"))[0]

    def lie(table: pa.Table, metadata: dict) -> pa.Table:  # the stamp stays, the data becomes text
        index = table.column_names.index("median_s")
        return table.set_column(index, "median_s", pa.array(["fast"] * len(table)))

    _rewrite(path, lie)
    frame = read_results(stamped_store)
    assert set(frame["run_id"]) == {p.stem for p in (stamped_store / "runs").glob("*.parquet")}
