"""Many machines' nightlies into one store at the same moment: no run and no verdict lost.

Eight nightlies (machines told apart by ``GPUBENCH_HOSTNAME``) start together, into one shared
folder and into an S3 endpoint (moto's server, through s3fs). Afterwards the store holds eight
runs of eight machines and eight nights' verdicts, every reader agrees, and a store that cannot
take a run says so in one line and keeps the local run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fleet_support import make_bucket, s3_endpoint, start_nightly
from support import cli, subprocess_env

pytest.importorskip("s3fs", reason="s3fs is not installed (pip install -e '.[test]')")
pytest.importorskip("moto", reason="moto is not installed (pip install -e '.[test]')")

MACHINES = 8

READ_BACK = """
import json, sys
from gpubench.analysis.baseline import night_marks
from gpubench.store import list_runs
from gpubench.store.location import locate
store = sys.argv[1]
runs = list_runs(store)
location = locate(store)
nights = {}
for run_id in runs["run_id"]:
    path = location.join("nightly", run_id, "verdicts.json")
    nights[run_id] = json.loads(location.read_bytes(path))["machine"]
night_marks(store)  # every verdicts file reads
print(json.dumps({"hosts": sorted(runs["hostname"]), "machines": sorted(set(runs["machine"])), "nights": nights}))
"""


def run_fleet(results: str, scratch: Path, env: dict[str, str]) -> None:
    started = [start_nightly(results, f"sim-{number}", scratch, env) for number in range(MACHINES)]
    for process in started:
        output, _ = process.communicate(timeout=1200)
        assert process.returncode == 0, output[-3000:]
    done = subprocess.run(
        [sys.executable, "-c", READ_BACK, results],
        env=subprocess_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["hosts"] == sorted(f"sim-{number}" for number in range(MACHINES))  # no run lost
    assert len(found["machines"]) == MACHINES
    assert sorted(found["nights"].values()) == found["machines"]  # one night's verdicts per machine
    fleet = cli("fleet", "--results", results, "--format", "json", **env)
    assert fleet.returncode in (0, 1), fleet.stderr
    assert not list(scratch.iterdir())  # every scratch folder removed: the store took it all


def test_eight_nightlies_into_one_folder(tmp_path: Path) -> None:
    (tmp_path / "scratch").mkdir()
    run_fleet(str(tmp_path / "store"), tmp_path / "scratch", {})


def test_eight_nightlies_into_one_s3_bucket(tmp_path: Path) -> None:
    (tmp_path / "scratch").mkdir()
    with s3_endpoint() as env:
        make_bucket(env, "fleet")
        run_fleet("s3://fleet/store", tmp_path / "scratch", env)


def test_a_store_that_cannot_take_the_run_keeps_it_locally(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with s3_endpoint() as env:  # no such bucket
        process = start_nightly("s3://no-such-bucket/store", "sim-lost", scratch, env)
        output, _ = process.communicate(timeout=600)
    assert process.returncode == 2, output[-3000:]
    errors = [line for line in output.splitlines() if line.startswith("gpubench: error:")]
    assert len(errors) == 1 and "the local run is kept in" in errors[0], output[-3000:]
    (kept,) = scratch.iterdir()
    assert str(kept) in errors[0]
    (run_file,) = (kept / "runs").glob("*.parquet")
    assert (kept / "json" / f"{run_file.stem}.json").is_file()
