"""Real Gloo ranks (spawned worker processes on 127.0.0.1): the sweep, its check, and its faults."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import allreduce_faults
import pytest

from gpubench.allreduce.launch import AllReduceError, launch
from gpubench.allreduce.spec import Sweep
from gpubench.cases import allreduce
from gpubench.result import CaseSkipped, VerificationError

SMALL = (8, 4096)


def _sweep(sizes=SMALL, **overrides) -> Sweep:
    fields = {"warmup": 5, "samples": 5, "min_sample_s": 1e-3, "max_iters": 20, **overrides}
    return Sweep("gloo", "cpu", 2, sizes, **fields)


def test_two_gloo_ranks_measure_and_check_every_size():
    (outcome,) = launch([_sweep()], timeout_s=30)
    assert outcome.skip_reason is None and outcome.nodes == 1 and outcome.hosts == 1
    assert [(r.nbytes, r.dtype) for r in outcome.results] == [(8, "float32"), (4096, "float32")]
    for size in outcome.results:
        assert size.skip_reason is None and size.wrong == 0
        assert len(size.samples) == 5 and all(s > 0 for s in size.samples)
        assert 1 <= size.iters <= 20 and size.clock == "host-perf_counter"
    result = allreduce.case_result(outcome, "float32", 4096, launcher="test")
    assert result.metrics["busbw_gbps"] == pytest.approx(result.metrics["algbw_gbps"])  # 2(n-1)/n = 1 for n = 2


def test_a_wrong_reduction_is_counted_and_fails_the_case():
    (outcome,) = launch([_sweep(sizes=(4096,))], timeout_s=30, all_reduce=allreduce_faults.max_instead_of_sum)
    (size,) = outcome.results
    assert size.wrong == 2 * 1024  # every element, on both ranks
    with pytest.raises(VerificationError, match="2048 element"):
        allreduce.verify(allreduce.case_result(outcome, "float32", 4096, launcher="test"))


def test_a_size_that_does_not_fit_is_skipped_and_the_sweep_goes_on():
    (outcome,) = launch([_sweep(sizes=(8, 1 << 44, 4096))], timeout_s=30)
    skipped = outcome.result("float32", 1 << 44)
    assert skipped.skip_reason and "needs" in skipped.skip_reason and "free" in skipped.skip_reason
    assert outcome.result("float32", 8).wrong == 0 and outcome.result("float32", 4096).samples
    with pytest.raises(CaseSkipped, match="needs"):
        allreduce.case_result(outcome, "float32", 1 << 44, launcher="test")


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
        (allreduce_faults.rank_1_hangs, "rank(s) 1 stopped answering"),
    ],
    ids=["killed", "hangs"],
)
def test_a_rank_that_dies_or_hangs_ends_the_run_naming_it(fault, expected, tmp_path, monkeypatch):
    monkeypatch.setenv("GPUBENCH_TEST_PIDS", str(tmp_path))
    start = time.monotonic()
    with pytest.raises(AllReduceError) as caught:
        launch([_sweep(sizes=(4096,))], timeout_s=5, deadline_s=90, all_reduce=fault)
    elapsed = time.monotonic() - start
    message = str(caught.value)
    assert expected in message, message
    assert "\n" not in message
    assert elapsed < 60, f"took {elapsed:.0f} s"  # the collective timeout (5 s) plus start-up, not the deadline
    pids = _pids(tmp_path)
    assert len(pids) == 2, "both ranks reached their first collective"
    assert not [pid for pid in pids if _alive(pid)], "no rank outlives the run"
