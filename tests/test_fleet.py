"""gpubench fleet: a degraded machine among healthy peers is found; a healthy fleet raises nothing."""

from __future__ import annotations

import json

import pytest
from store_runs import copy_run

from gpubench import cli, store
from gpubench.analysis.fleet import judge_fleet, latest_figures

GPU = "NVIDIA H100 80GB HBM3"


def fleet_store(folder, slow: dict[str, float] | None = None, hosts: int = 5, **environment) -> None:
    """``hosts`` machines of one GPU model, two nights each (the latest counts), 1% noise."""
    for night in (1, 2):
        for number in range(hosts):
            host = f"node{number:02d}"
            factor = (slow or {}).get(host, 1.0) if night == 2 else 1.0
            extra = environment.get(host, {})
            run = copy_run(f"{host}-{night}", f"2026-11-0{night}T02:0{number}:00", hostname=host, gpu_name=GPU,
                           slower=factor, seed=10 * night + number, noise=0.01, **extra)  # fmt: skip
            store.write_run(run, folder)


def run_cli(capsys, *args) -> tuple[int, str]:
    code = cli.main(["fleet", *map(str, args)])
    return code, capsys.readouterr().out


def test_one_degraded_machine_is_found(tmp_path, capsys):
    fleet_store(tmp_path, slow={"node03": 1.4}, node01={"driver_version": "550.54"})
    code, out = run_cli(capsys, "--results", tmp_path, "--format", "json", "--out", tmp_path / "png")
    document = json.loads(out, parse_constant=lambda name: pytest.fail(f"not strict JSON: {name}"))
    assert code == 1 and document["exit_code"] == 1
    outliers = document["outliers"]
    assert {o["machine"] for o in outliers} == {f"{GPU} @ node03"}
    assert len(outliers) == 5 and all(o["suite"] == "copy" and o["slower"] for o in outliers)
    assert all(o["ratio"] == pytest.approx(1 / 1.4, rel=0.05) for o in outliers)  # GB/s over the peers' median
    assert all(o["run_id"] == "node03-2" and o["peers"] == 4 for o in outliers)  # its latest run, 4 peers
    spread = {(e["key"], e["values"][f"{GPU} @ node01"]) for e in document["environment"]}
    assert ("driver_version", "550.54") in spread  # shown: peers with another driver are not like for like
    assert document["plots"] and all(path.endswith(".png") for path in document["plots"])
    code, table = run_cli(capsys, "--results", tmp_path)
    assert code == 1 and "slower outliers (fail)" in table and "node03" in table and "driver_version" in table


def test_a_healthy_fleet_has_no_outlier(tmp_path, capsys):
    fleet_store(tmp_path)
    code, out = run_cli(capsys, "--results", tmp_path, "--format", "json")
    document = json.loads(out)
    assert code == 0 and document["outliers"] == [] and document["judged"] == 25
    assert document["environment"] == []


def test_a_faster_machine_is_shown_but_does_not_fail(tmp_path, capsys):
    fleet_store(tmp_path, slow={"node02": 0.7})
    code, out = run_cli(capsys, "--results", tmp_path, "--format", "json")
    document = json.loads(out)
    assert code == 0 and {o["machine"] for o in document["outliers"]} == {f"{GPU} @ node02"}
    assert not any(o["slower"] for o in document["outliers"])


def test_too_few_peers_judges_nothing(tmp_path, capsys):
    fleet_store(tmp_path, slow={"node01": 2.0}, hosts=3)  # two peers each: below the minimum of three
    latest, runs = latest_figures(tmp_path)
    fleet = judge_fleet(latest, runs)
    assert fleet.standings == [] and fleet.unjudged == 15 and fleet.exit_code == 0
    assert judge_fleet(latest, runs, min_peers=2).exit_code == 1


def test_small_differences_in_a_tight_fleet_are_not_flagged(tmp_path):
    fleet_store(tmp_path, slow={"node04": 1.03})  # beyond the peers' MAD, within the 5% minimum gap
    latest, runs = latest_figures(tmp_path)
    assert judge_fleet(latest, runs).outliers == []
    assert judge_fleet(latest, runs, min_gap=0.01).slower_outliers  # the gap is what kept it quiet


def test_fleet_reads_an_fsspec_store(capsys):
    url = "memory://gpubench-fleet-test/results"
    fleet_store(url, slow={"node00": 1.5})
    code, out = run_cli(capsys, "--results", url, "--format", "json")
    assert code == 1 and {o["machine"] for o in json.loads(out)["outliers"]} == {f"{GPU} @ node00"}
    assert json.loads(out)["plots"] == []  # a remote store: figures only where --out says


def test_an_empty_store_is_bad_input(tmp_path, capsys):
    assert cli.main(["fleet", "--results", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("gpubench: error: no measured case")
