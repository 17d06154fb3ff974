"""A run stopped by a signal keeps what it measured (gpubench.run.stopping).

The first gpu-check on a lent H200 lost 34 measured copy cases when the step's time limit
(GNU ``timeout``: SIGTERM to gpubench, then to its process group) ended the run. Here a real
``gpubench run`` over three host-copy cases is stopped while the third one runs: the first two
are stored as measured, the third as skipped with the reason "not run", and no scratch folder is
left in the store.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gpubench.run.stopping import StopRequests, not_run_reason
from gpubench.store.read import read_results

REPO = Path(__file__).resolve().parents[1]

# Three host-baseline copies (they run without a GPU); the third waits until the test stops the run.
BENCHMARK = """
import time
from pathlib import Path

from gpubench.run.pytest_plugin import parametrize_cases
from gpubench.suites.copy import case as copy

STARTED = Path({started!r})


def three(profile):
    return [copy.CopyConfig("h2h", size, "pageable", samples=5, warmup=1) for size in (4096, 65536, 131072)]


def pytest_generate_tests(metafunc):
    parametrize_cases(metafunc, three)


def test_copy(gpubench, config):
    if config.nbytes == 131072:
        STARTED.write_text("the third case runs")
        time.sleep(300)
    gpubench.run(copy.measure, config)
"""


def _benchmarks(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    started = tmp_path / "third-started"
    (folder / "conftest.py").write_text("from gpubench.run.pytest_plugin import *  # noqa: F403\n")
    (folder / "test_copy.py").write_text(textwrap.dedent(BENCHMARK.format(started=str(started))))
    return folder, started


def _stop_while_the_third_case_runs(command: list[str], started: Path, to_group: bool) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 240
    while not started.exists():
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "the third case never started"
        time.sleep(0.1)
    if to_group:  # as GNU timeout does: the child, then its whole process group
        os.kill(process.pid, signal.SIGTERM)
        os.killpg(process.pid, signal.SIGTERM)
    else:  # gpubench alone: it forwards the stop to pytest
        os.kill(process.pid, signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    return subprocess.CompletedProcess(command, process.returncode, output)


@pytest.mark.parametrize("to_group", [True, False], ids=["to-the-process-group", "to-gpubench-alone"])
def test_a_stopped_run_stores_its_finished_cases_and_the_rest_as_not_run(tmp_path: Path, to_group: bool) -> None:
    folder, started = _benchmarks(tmp_path)
    store = tmp_path / "store"
    command = [sys.executable, "-m", "gpubench", "run", "--benchmarks", str(folder), "--results", str(store)]
    done = _stop_while_the_third_case_runs(command, started, to_group)

    assert done.returncode == 128 + signal.SIGTERM, done.stdout
    assert "STOPPED by SIGTERM: 2 measured, 1 skipped" in done.stdout
    frame = read_results(store)
    by_size = dict(
        zip(frame["bytes"].astype(int), zip(frame["status"], frame["skip_reason"], strict=True), strict=True)
    )
    assert by_size[4096][0] == by_size[65536][0] == "ok"
    assert by_size[131072] == ("skipped", not_run_reason("SIGTERM"))
    assert not list(store.glob(".gpubench-run-*")), "a scratch folder was left in the store"
    assert not (store / "plots").exists()  # no figures drawn on a stop: a time limit leaves seconds


def test_a_stopped_night_stores_its_run_and_judges_nothing(tmp_path: Path) -> None:
    folder, started = _benchmarks(tmp_path)
    store = tmp_path / "store"
    command = [sys.executable, "-m", "gpubench", "nightly", "--benchmarks", str(folder), "--results", str(store)]
    done = _stop_while_the_third_case_runs(command, started, to_group=True)

    assert done.returncode == 128 + signal.SIGTERM, done.stdout
    assert "nightly stopped" in done.stdout and "judged nothing" in done.stdout
    assert len(read_results(store)) == 3
    assert not (store / "nightly").exists()  # no verdicts for a night that did not run to its end


def test_a_second_sigterm_is_the_same_stop_and_a_second_ctrl_c_aborts() -> None:
    with StopRequests() as stops:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)  # timeout: to the child, then to its group
        assert stops.stop == "SIGTERM"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handlers are put back


def test_a_stopped_verify_returns_the_checks_done_and_the_rest_as_not_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from gpubench.measure.agreement import Pair, Skip
    from gpubench.verify import runner

    def stopped_by_a_time_limit(reference_first: bool) -> tuple[float, float]:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)  # the stop interrupts this
        return 1.0, 1.0

    pairs = {
        "copy": [
            Skip("copy", "checked before the stop", "cannot run here"),
            Pair("copy", "running at the stop", "ours", "reference", both=stopped_by_a_time_limit),
            Pair("copy", "never reached", "ours", "reference", both=stopped_by_a_time_limit),
        ]
    }
    monkeypatch.setattr(runner, "pairs_of", lambda name: pairs[name])
    started = time.monotonic()
    outcomes = runner.run_checks(["copy", "conv"], rounds=5, tolerance=0.05)

    assert time.monotonic() - started < 20
    stopped = not_run_reason("SIGTERM")
    assert [(outcome.case, outcome.reason) for outcome in outcomes] == [
        ("checked before the stop", "cannot run here"),
        ("running at the stop", stopped),
        ("never reached", stopped),
        ("(not run)", stopped),  # conv: its pairs were never built
    ]
    assert runner.exit_code(outcomes) == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
