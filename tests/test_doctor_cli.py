"""`gpubench doctor` and `gpubench env` as a user runs them: `python -m gpubench` in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from support import cli

DATA = Path(__file__).parent / "data" / "doctor"
CPU_BUILD = torch.version.cuda is None


def gpubench(*args: str, **env: str) -> subprocess.CompletedProcess:
    return cli(*args, timeout=120, **env)


@pytest.mark.skipif(not CPU_BUILD, reason="this machine's finding: a CPU build of torch")
def test_doctor_here_names_the_cpu_build_in_one_line_and_exits_1():
    done = gpubench("doctor")
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    errors = [line for line in lines if line.startswith("error")]
    assert len(errors) == 1
    assert "CPU build" in errors[0] and torch.__version__ in errors[0] and "->" in errors[0]
    assert lines[0] == errors[0]  # most severe first
    assert lines[-1].startswith("-- 1 error(s)")
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(not CPU_BUILD, reason="this machine's finding: a CPU build of torch")
def test_doctor_json_here_is_valid_and_exits_1():
    done = gpubench("doctor", "--json")
    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert document["exit_code"] == 1 and document["counts"]["error"] == 1
    (error,) = [finding for finding in document["findings"] if finding["severity"] == "error"]
    assert error["check"] == "cuda" and "CPU build" in error["message"] and error["action"]
    assert document["readings"]["torch"]["cuda_build"] is None
    assert set(document["findings"][0]) == {"severity", "check", "message", "action"}


def test_doctor_on_recorded_readings(tmp_path):
    healthy = gpubench("doctor", "--readings", str(DATA / "healthy_h100_node.json"))
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert all(line.startswith("info") for line in healthy.stdout.splitlines()[:-1])
    throttled = gpubench("doctor", "--readings", str(DATA / "throttled_card.json"), "--json")
    assert throttled.returncode == 1
    severities = [finding["severity"] for finding in json.loads(throttled.stdout)["findings"]]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)


def test_doctor_json_round_trips_as_readings(tmp_path):
    done = gpubench("doctor", "--readings", str(DATA / "ecc_errors.json"), "--json")
    (tmp_path / "doctor.json").write_text(done.stdout)
    again = gpubench("doctor", "--readings", str(tmp_path / "doctor.json"), "--json")
    assert json.loads(again.stdout)["findings"] == json.loads(done.stdout)["findings"]


def test_doctor_refuses_bad_readings_in_one_line(tmp_path):
    (tmp_path / "bad.json").write_text('{"torch": 1}')
    done = gpubench("doctor", "--readings", str(tmp_path / "bad.json"))
    assert done.returncode == 2
    assert done.stderr.strip().startswith("gpubench: error:") and "not doctor readings" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_doctor_with_cuda_visible_devices_empty():
    done = gpubench("doctor", "--json", CUDA_VISIBLE_DEVICES="")
    document = json.loads(done.stdout)
    assert done.returncode == 1
    assert document["readings"]["environment"]["CUDA_VISIBLE_DEVICES"] == ""
    reason = "CPU build" if CPU_BUILD else "CUDA_VISIBLE_DEVICES is set but empty"
    assert reason in document["findings"][0]["message"]


def test_env_json_is_valid_with_the_versions():
    done = gpubench("env", "--json")
    assert done.returncode == 0, done.stderr
    env = json.loads(done.stdout)
    assert env["torch_version"] == torch.__version__
    assert env["cuda_version"] == torch.version.cuda
    assert env["python_version"] == ".".join(map(str, sys.version_info[:3]))
    for key in ("cudnn_version", "nccl_version", "driver_version", "cuda_driver_version", "gpus", "git_commit"):
        assert key in env


def test_env_text_is_one_line_per_key():
    done = gpubench("env")
    assert done.returncode == 0
    assert any(line.startswith("torch_version") and torch.__version__ in line for line in done.stdout.splitlines())
