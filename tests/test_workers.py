import os
import time

import pytest
import workers_targets as targets

from gpubench.measure.workers import WorkerError, WorkerTimeout, run_group, run_in_worker


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose; check /proc where it exists.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return True


def test_result_comes_back():
    assert run_in_worker(targets.add, 2, 3, timeout=60) == 5


def test_environment_is_set_in_the_worker():
    assert run_in_worker(targets.read_env, "GPUBENCH_TEST_FLAG", timeout=60, env={"GPUBENCH_TEST_FLAG": "on"}) == "on"


def test_exception_is_raised_in_the_parent():
    with pytest.raises(RuntimeError, match="boom"):
        run_in_worker(targets.fail, "boom", timeout=60)


def test_crash_names_the_worker():
    with pytest.raises(WorkerError, match=r"conv worker died \(exit code 9\)"):
        run_in_worker(targets.crash, 9, timeout=60, label="conv worker")


def test_timeout_is_bounded_and_leaves_no_process():
    start = time.monotonic()
    with pytest.raises(WorkerTimeout, match="worker 0 did not finish within 2 s"):
        run_group(targets.hang, [(30,)], timeout=2)
    assert time.monotonic() - start < 20


def test_group_returns_in_order_and_each_ran_in_its_own_process():
    pids = run_group(targets.pid_after, [(0.1,), (0.1,), (0.1,)], timeout=60)
    assert len(set(pids)) == 3 and os.getpid() not in pids
    assert not any(alive(pid) for pid in pids)


def test_one_dead_rank_stops_the_group_and_is_named():
    start = time.monotonic()
    with pytest.raises(WorkerError, match=r"rank 1 died \(exit code 7\)"):
        run_group(targets.crash_or_hang, [(0,), (1,)], timeout=30, labels=["rank 0", "rank 1"])
    assert time.monotonic() - start < 20  # not the 60 s rank 0 would have slept
