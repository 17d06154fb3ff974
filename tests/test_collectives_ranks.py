"""Real Gloo ranks (spawned worker processes on 127.0.0.1): every collective, its check, its faults."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import allreduce_faults
import pytest

from gpubench.measure.result import CaseSkipped, VerificationError
from gpubench.measure.workers import run_group
from gpubench.suites.collectives import case
from gpubench.suites.collectives.launch import CollectiveError, _rank_env, free_port, launch
from gpubench.suites.collectives.spec import COLLECTIVES, Sweep, collective

SMALL = (8, 4096)
FAST = {"warmup": 2, "samples": 3, "min_sample_s": 1e-4, "min_iters": 2, "max_iters": 5}


def _sweep(sizes=SMALL, name="all_reduce", world_size=2, **overrides) -> Sweep:
    return Sweep("gloo", "cpu", world_size, sizes, collective=name, **{**FAST, **overrides})


@pytest.mark.parametrize("world_size", [2, 3])
def test_every_collective_runs_and_checks_right_on_gloo(world_size):
    outcomes = launch([_sweep(name=name, world_size=world_size) for name in COLLECTIVES], timeout_s=30)
    seen = set()
    for outcome in outcomes:
        module = collective(outcome.sweep.collective)
        assert outcome.skip_reason is None and outcome.nodes == 1
        assert [r.in_place for r in outcome.results] == list(module.PLACEMENTS) * len(SMALL)
        for size in outcome.results:
            if module.SPLITS and size.nbytes == 8:  # under 16 B a rank, as nccl-tests' alignment gives
                assert size.count == 0 and f"each of the {world_size} ranks" in size.skip_reason
                assert "under 16 B of float32" in size.skip_reason
                continue
            seen.add((module.NAME, size.in_place))
            assert size.skip_reason is None and size.wrong == 0, (module.NAME, size)
            split = 16 * world_size if module.SPLITS else 4  # the whole array: n shares of 16 B each
            assert size.count * 4 == size.nbytes // split * split
            assert len(size.samples) == len(size.mean_samples) == 3 and size.clock == "host-perf_counter"
            assert 2 <= size.iters <= 5
            assert all(0 < mean <= slowest for mean, slowest in zip(size.mean_samples, size.samples, strict=True))
    placements = {(name, in_place) for name in COLLECTIVES for in_place in collective(name).PLACEMENTS}
    assert seen == placements  # both placements where torch has both, for every collective


def test_the_whole_array_sets_the_figures():
    (outcome,) = launch([_sweep(sizes=(3 * 4096,), name="all_gather", world_size=3)], timeout_s=30)
    result = case.case_result(outcome, "float32", 3 * 4096, in_place=False, launcher="test")
    assert result.params["bytes"] == 3 * 4096 and result.info["count"] == 3 * 1024  # not the 4096 B each rank sends
    assert result.metrics["algbw_gbps"] == pytest.approx(3 * 4096 / result.measurement.median / 1e9)
    assert result.metrics["busbw_gbps"] == pytest.approx(result.metrics["algbw_gbps"] * 2 / 3)
    assert result.params["in_place"] is False and result.info["collective"] == "all_gather"
    assert result.suite == "all_gather" and "root" not in result.info


@pytest.mark.parametrize(
    ("name", "fault", "wrong"),
    [
        ("all_reduce", allreduce_faults.max_instead_of_sum, 2 * 1024),  # every element, on both ranks
        ("all_gather", allreduce_faults.gathered_in_reverse, 2 * 1024),  # both chunks misplaced, on both ranks
    ],
)
def test_a_wrong_result_is_counted_and_fails_the_case(name, fault, wrong):
    (outcome,) = launch([_sweep(sizes=(4096,), name=name, placements=(True,))], timeout_s=30, call=fault)
    (size,) = outcome.results
    assert size.wrong == wrong
    with pytest.raises(VerificationError, match=f"{wrong} element"):
        case.verify(case.case_result(outcome, "float32", 4096, True, launcher="test"))


def test_a_collective_gloo_refuses_is_skipped_with_gloo_s_words():
    (outcome,) = launch([_sweep(sizes=(4096,))], timeout_s=30, call=allreduce_faults.refused_by_gloo)
    (size,) = outcome.results
    assert size.skip_reason == "gloo refuses all_reduce on cpu tensors: Cannot use ReduceOp.PREMUL_SUM with Gloo"
    with pytest.raises(CaseSkipped, match="PREMUL_SUM"):
        case.case_result(outcome, "float32", 4096, True, launcher="test")


def test_the_combination_across_ranks_takes_the_slowest_and_the_mean():
    port = free_port()
    envs = [_rank_env(rank, 3, port) for rank in range(3)]
    results = run_group(allreduce_faults.combine_with_one_rank_later, [(0.006,)] * 3, timeout=120, envs=envs)
    slowest, mean = results[0]
    assert slowest == pytest.approx([0.016, 0.026, 0.036])  # rank 1's, 6 ms later than the others
    assert mean == pytest.approx([0.012, 0.022, 0.032])  # (0 + 6 + 0) / 3 = 2 ms later on average
    assert all(result == results[0] for result in results), "every rank agrees"


def test_one_rank_is_skipped_with_the_reason():
    for transport in ("nccl:cuda", "gloo:cpu"):
        backend, device = transport.split(":")
        outcome = case.sweep_outcome(Sweep(backend, device, 1, (4096,)))
        assert outcome.skip_reason and "one rank measures nothing" in outcome.skip_reason
        with pytest.raises(CaseSkipped, match="one rank measures nothing"):
            case.case_result(outcome, "float32", 4096, True, launcher="test")


def test_a_size_that_does_not_fit_is_skipped_and_the_sweep_goes_on():
    (outcome,) = launch([_sweep(sizes=(8, 1 << 44, 4096))], timeout_s=30)
    skipped = outcome.result("float32", 1 << 44)
    assert skipped.skip_reason and "needs" in skipped.skip_reason and "free" in skipped.skip_reason
    assert outcome.result("float32", 8).wrong == 0 and outcome.result("float32", 4096).samples
    with pytest.raises(CaseSkipped, match="needs"):
        case.case_result(outcome, "float32", 1 << 44, True, launcher="test")


def test_a_busy_port_is_retried():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        (outcome,) = launch([_sweep(sizes=(8,))], timeout_s=30, port=squatter.getsockname()[1])
    assert outcome.results[0].wrong == 0


def _pids(folder: Path) -> list[int]:
    return [int(path.read_text()) for path in folder.glob("*.pid")]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (allreduce_faults.rank_1_killed, "rank 1"),
        # named by rank 0 from what rank 1 last wrote in the store: the same under torchrun
        (allreduce_faults.rank_1_hangs, "rank(s) 1 stopped answering (rank 1 was at warm-up (all_reduce"),
    ],
    ids=["killed", "hangs"],
)
def test_a_rank_that_dies_or_hangs_ends_the_run_naming_it(fault, expected, tmp_path, monkeypatch):
    monkeypatch.setenv("GPUBENCH_TEST_PIDS", str(tmp_path))
    start = time.monotonic()
    with pytest.raises(CollectiveError) as caught:
        launch([_sweep(sizes=(4096,), warmup=5)], timeout_s=5, deadline_s=90, call=fault)
    elapsed = time.monotonic() - start
    message = str(caught.value)
    assert expected in message, message
    assert "\n" not in message
    assert elapsed < 60, f"took {elapsed:.0f} s"  # the collective timeout (5 s) plus start-up, not the deadline
    pids = _pids(tmp_path)
    assert len(pids) == 2, "both ranks reached their first collective"
    assert not [pid for pid in pids if _alive(pid)], "no rank outlives the run"
