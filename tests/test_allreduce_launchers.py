"""AllReduce launched as users launch it: the pytest suite through ``gpubench run``, two torchrun nodes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gpubench.store import read_results

REPO = Path(__file__).resolve().parents[1]
REQUIRED_COLUMNS = ["backend", "device", "world_size", "bytes", "dtype", "median_s", "algbw_gbps", "busbw_gbps"]
REQUIRED_COLUMNS += ["wrong", "nodes"]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO / "src"))


def _gpubench(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "gpubench", *args]
    return subprocess.run(command, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=timeout)


def test_gloo_world_size_2_through_pytest_lands_in_parquet(tmp_path):
    done = _gpubench("run", "--suite", "allreduce", "--results", str(tmp_path), "--", "--gpubench-world-size=2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    frame = read_results(tmp_path)
    assert set(REQUIRED_COLUMNS) <= set(frame.columns)
    measured = frame[(frame["status"] == "ok") & (frame["suite"] == "allreduce")]
    gloo = measured[(measured["backend"] == "gloo") & (measured["device"] == "cpu")]
    assert len(gloo) == 6 and set(gloo["world_size"]) == {2} and set(gloo["nodes"]) == {1}
    assert (gloo["wrong"] == 0).all() and (gloo["rounds"] == 10).all()
    assert gloo["algbw_gbps"].tolist() == pytest.approx((gloo["bytes"] / gloo["median_s"] / 1e9).tolist(), rel=1e-9)
    assert gloo["busbw_gbps"].tolist() == pytest.approx(gloo["algbw_gbps"].tolist())  # 2(n-1)/n = 1 at n = 2
    assert "busbw (GB/s)" in done.stdout and (tmp_path / "json").is_dir()
    assert list((tmp_path / "plots").rglob("allreduce_busbw.png"))
    if not torch.cuda.is_available():
        skipped = frame[frame["status"] == "skipped"]
        assert set(skipped["backend"]) == {"nccl", "gloo"} and skipped["skip_reason"].str.contains("GPU").all()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_torchrun_nodes_on_this_machine_land_in_the_store(tmp_path):
    port = _free_port()
    agents = []
    for node in (1, 0):
        command = [
            sys.executable, "-m", "torch.distributed.run",
            "--nnodes", "2", "--node-rank", str(node), "--nproc-per-node", "1",
            "--rdzv-backend", "static", "--master-addr", "127.0.0.1", "--master-port", str(port),
            "-m", "gpubench.allreduce", "--collectives", "all_reduce,all_gather",
            "--backends", "gloo:cpu", "--sizes", "8,64K", "--samples", "5",
            "--timeout", "60", "--results", str(tmp_path / f"store-node{node}"),
        ]  # fmt: skip
        with (tmp_path / f"node{node}.log").open("w") as log:  # the agent keeps its own copy of the handle
            options = {"stdout": log, "stderr": subprocess.STDOUT, "start_new_session": True}
            agents.append(subprocess.Popen(command, cwd=REPO, env=_env(), **options))
    try:
        codes = [agent.wait(timeout=180) for agent in agents]
    finally:
        for agent in agents:
            if agent.poll() is None:
                os.killpg(agent.pid, signal.SIGKILL)
                agent.wait()
    logs = "".join((tmp_path / f"node{node}.log").read_text()[-2000:] for node in (0, 1))
    assert codes == [0, 0], logs
    assert not (tmp_path / "store-node1").exists(), "only rank 0 writes"
    frame = read_results(tmp_path / "store-node0")
    measured = frame[(frame["status"] == "ok") & (frame["suite"] == "allreduce")]
    assert set(REQUIRED_COLUMNS) <= set(frame.columns)
    assert sorted(measured["bytes"]) == [8, 65536]
    gathered = frame[(frame["status"] == "ok") & (frame["suite"] == "all_gather")]
    # 8 B cannot be split into 16-byte-aligned shares on 2 ranks (nccl-tests skips it too): 64 KiB only.
    assert len(gathered) == 2 and set(gathered["bytes"]) == {65536} and set(gathered["in_place"]) == {True, False}
    assert (gathered["wrong"] == 0).all()
    assert set(frame["collective"].dropna()) == {"all_reduce", "all_gather"}  # skipped rows carry no figures
    assert set(measured["nodes"]) == {2} and set(measured["world_size"]) == {2}
    assert set(measured["launcher"]) == {"torchrun"} and (measured["wrong"] == 0).all()
    assert "busbw (GB/s)" in logs


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--sizes", "6"], "6 B is not a whole number of float32 elements"),
        (["--sizes", ""], "no size given in ''; write e.g. 8,64K,16M"),
        (["--world-size", "0"], "--world-size must be at least 1, got 0"),
        (["--min-sample-ms", "nan"], "--min-sample-ms must be a finite number of milliseconds >= 0, got nan"),
        (["--collectives", "gather"], "unknown collective gather; expected some of all_reduce, all_gather, "),
    ],
    ids=["odd-size", "no-size", "no-ranks", "nan-loop", "unknown-collective"],
)
def test_bad_input_is_one_line_before_any_rank_starts_and_stores_nothing(tmp_path, args, error):
    done = _gpubench("allreduce", *args, "--results", str(tmp_path / "store"))
    assert done.returncode == 2
    assert done.stderr.strip().startswith(f"gpubench: error: {error}") and "\n" not in done.stderr.strip()
    assert "rank" not in done.stderr  # refused up front, not blamed on a rank
    assert not (tmp_path / "store").exists()
