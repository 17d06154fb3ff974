"""The numbers pytest-benchmark reports are the device-measured ones, and skips are recorded."""

import json
import statistics

import pytest
import torch
from support import REPO, run_benchmarks


@pytest.fixture(scope="module")
def document(copy_json):
    return json.loads(copy_json.read_text())


def test_stats_are_the_replayed_samples(document):
    measured = document["benchmarks"]
    assert measured, "the host baseline must run on every machine"
    for bench in measured:
        stats, ours = bench["stats"], bench["extra_info"]["gpubench"]
        assert "ReplayClock" in bench["options"]["timer"]
        assert stats["rounds"] == len(stats["data"]) and stats["iterations"] == 1
        assert stats["median"] == pytest.approx(statistics.median(stats["data"]), rel=1e-9)
        # The reported bandwidth was computed from the very median pytest-benchmark shows.
        assert ours["metrics"]["gbps"] == pytest.approx(ours["params"]["bytes"] / stats["median"] / 1e9, rel=1e-6)


def test_environment_and_run_block(document):
    env = document["machine_info"]["gpubench"]
    assert env["torch_version"] and "cuda_available" in env and "hostname" in env
    block = document["gpubench"]
    assert block["run_id"] and block["profile"] == "quick"


def test_skipped_cases_carry_their_reason(document):
    skipped = document["gpubench"]["skipped"]
    if torch.cuda.is_available():
        pytest.skip("on a CUDA machine the GPU copy cases run")
    assert skipped and all(skip["reason"] for skip in skipped)
    assert {skip["params"]["direction"] for skip in skipped} >= {"h2d", "d2h", "d2d", "bidir"}


def test_a_session_of_skips_only_still_writes_its_json(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("on a CUDA machine these cases run")
    out = tmp_path / "skips.json"
    done = run_benchmarks(out, "-k", "copy and h2d and 4096")
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(out.read_text())
    assert document["benchmarks"] == [] and len(document["gpubench"]["skipped"]) == 2
    assert document["machine_info"]["gpubench"]["torch_version"]
    assert not (REPO / "skips.json").exists()
