"""pytest-benchmark, fed with device-measured samples.

pytest-benchmark's own timer is a host clock that never synchronises a GPU. Here a case measures
itself (CUDA events on a GPU, see timing.py) and the ``gpubench`` fixture replays its
per-operation samples through ``benchmark.pedantic`` with a ``ReplayClock``, a clock that advances
only by each measured duration: one pedantic round per sample, so ``stats`` in
``--benchmark-json`` (median, iqr, data, ...) are exactly the device-measured figures.

The plugin also records the environment fingerprint in ``machine_info["gpubench"]`` and, in a
``gpubench`` block of the JSON, the run id, profile and every skipped case with its reason.
``benchmarks/conftest.py`` loads it.

Progress: once collected, and after each case (never inside one), the plugin tells ``gpubench
run``'s display where the run is (gpubench.measure.progress_events; nothing when run by plain
pytest).

A stop (SIGTERM, made a KeyboardInterrupt by gpubench.run.stopping, or Ctrl-C) ends the case that
runs; the JSON still gets the finished cases, and every collected case that did not finish is
listed among the skipped ones with the reason ``not run: the run was stopped by ...``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest

from gpubench.machine.fingerprint import fingerprint
from gpubench.measure import progress_events
from gpubench.measure.result import CaseResult, CaseSkipped
from gpubench.run.document import case_block, run_block, run_document, skipped_entry, write_document
from gpubench.run.run_id import new_run_id
from gpubench.run.stopping import interrupt_on_sigterm, not_run_reason
from gpubench.suites.profiles import DEFAULT_PROFILE, PROFILES


class ReplayClock:
    """A clock that replays measured durations: read before a round it says 0, read after it says
    the round's sample, so pytest-benchmark's ``end - start`` is each sample exactly (a running
    total would round it in the last bits, and stats.data would no longer be the samples)."""

    def __init__(self) -> None:
        self._reading = 0.0
        self._pending: list[float] = []

    def __call__(self) -> float:
        reading, self._reading = self._reading, 0.0
        return reading

    def load(self, samples: tuple[float, ...]) -> None:
        self._pending = list(samples)

    def advance(self) -> None:
        self._reading = self._pending.pop(0)

    def __repr__(self) -> str:
        return "gpubench.ReplayClock(device-measured samples)"


REPLAY_CLOCK = ReplayClock()
_SKIPPED = pytest.StashKey[list]()
_RUN = pytest.StashKey[dict]()
_ITEMS = pytest.StashKey[list]()  # every collected case, in order
_FINISHED = pytest.StashKey[set]()  # nodeids of the cases whose teardown ran
# For the progress display: nodeid -> its suite, wall seconds so far, outcome and reason.
_CASES: dict[str, dict[str, Any]] = {}
_CONFIG: dict[str, pytest.Config] = {}  # the session's config, for hooks that are not given it


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gpubench")
    group.addoption(
        "--gpubench-profile", choices=PROFILES, default=DEFAULT_PROFILE, help="which cases to run (default: quick)"
    )
    # AllReduce (benchmarks/test_allreduce.py): how many ranks each worker group runs.
    group.addoption(
        "--gpubench-world-size",
        default=None,
        metavar="N[,N...]",
        help="AllReduce ranks per group, comma-separated (default: the GPU count with 2+ GPUs, else 2)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_SKIPPED] = []
    config.stash[_RUN] = {
        "run_id": new_run_id(),
        "started_at": datetime.now(timezone.utc).isoformat(),
        "profile": config.getoption("--gpubench-profile"),
        "measured": 0,
        "stopped": None,  # the signal that stopped the run, once one did
        "saving": False,  # the cases are over: a stop no longer interrupts
    }
    config.stash[_ITEMS], config.stash[_FINISHED] = [], set()
    _CONFIG["config"] = config
    config.add_cleanup(
        interrupt_on_sigterm(lambda name: _stopped(config, name), lambda: not config.stash[_RUN]["saving"])
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Any:
    """Until the cases are over a stop interrupts (collection, the case that runs); then pytest saves in peace."""
    try:
        yield
    finally:
        session.config.stash[_RUN]["saving"] = True


def _stopped(config: pytest.Config, how: str) -> None:
    run = config.stash[_RUN]
    run["stopped"] = run["stopped"] or how


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo) -> None:
    """Ctrl-C (or a SIGTERM made KeyboardInterrupt, already named): the run stops here."""
    config = _CONFIG.get("config")
    if config is not None:
        _stopped(config, "SIGINT")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "gpubench" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.benchmark(timer=REPLAY_CLOCK))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Keep the cases to run (for a stop) and tell the display which, in order, and on which machine."""
    session.config.stash[_ITEMS] = list(session.items)
    if not progress_events.enabled():
        return
    cases = _CASES
    cases.clear()
    for item in session.items:
        cases[item.nodeid] = {"suite": item.path.stem.removeprefix("test_"), "seconds": 0.0, "outcome": "measured"}
    env = fingerprint(session.config.getoption("--gpubench-profile"))
    progress_events.emit(
        "collected",
        run_id=session.config.stash[_RUN]["run_id"],
        machine={"gpu_name": env.get("gpu_name"), "hostname": env.get("hostname")},
        cases=[[case["suite"], nodeid] for nodeid, case in cases.items()],
    )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """After a case's teardown (the case is over): its outcome, wall seconds and skip or failure reason."""
    config = _CONFIG.get("config")
    if report.when == "teardown" and config is not None:
        config.stash[_FINISHED].add(report.nodeid)
    case = _CASES.get(report.nodeid)
    if case is None:
        return
    case["seconds"] += report.duration
    if report.failed:
        case["outcome"], case["reason"] = "failed", _first_line(report.longreprtext)
    elif report.skipped and case["outcome"] != "failed":
        case["outcome"], case["reason"] = "skipped", _skip_reason(report)
    if report.when == "teardown":
        progress_events.emit("case", nodeid=report.nodeid, **case)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return _first_line(report.longreprtext)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("E ")]
    return (errors or lines or [""])[0].removeprefix("E ").strip()[:300]


def parametrize_cases(metafunc: pytest.Metafunc, configs: Callable[[str], list[Any]], argname: str = "config") -> None:
    """Parametrise ``argname`` with the profile's configs, each id'd by its parameters."""
    if argname in metafunc.fixturenames:
        cases = configs(metafunc.config.getoption("--gpubench-profile"))
        ids = ["-".join(str(value) for value in case.params().values()) for case in cases]
        metafunc.parametrize(argname, cases, ids=ids)


class CaseRunner:
    """What a benchmark test calls: ``gpubench.run(measure, config)``."""

    def __init__(self, benchmark: Any, request: pytest.FixtureRequest) -> None:
        self._benchmark = benchmark
        self._request = request

    def run(self, measure: Callable[[Any], CaseResult], config: Any) -> CaseResult:
        try:
            result = measure(config)
        except CaseSkipped as skip:
            self._record_skip(config, skip.reason)
            pytest.skip(skip.reason)
        return self.report(result)

    def report(self, result: CaseResult) -> CaseResult:
        """Hand a measured case to pytest-benchmark: its samples become the benchmark's stats."""
        benchmark = self._benchmark
        benchmark.group = result.suite
        benchmark.extra_info["gpubench"] = case_block(result)
        self._request.config.stash[_RUN]["measured"] += 1
        REPLAY_CLOCK.load(result.measurement.samples)
        benchmark.pedantic(REPLAY_CLOCK.advance, rounds=result.measurement.n, iterations=1, warmup_rounds=0)
        self._request.config.stash[_FINISHED].add(self._request.node.nodeid)  # stored, even if a stop follows
        return result

    def _record_skip(self, config: Any, reason: str) -> None:
        node = self._request.node
        params = config.params() if hasattr(config, "params") else {}
        entry = skipped_entry(suite_of(config, node), params, reason, name=node.name, fullname=node.nodeid)
        self._request.config.stash[_SKIPPED].append(entry)
        self._request.config.stash[_FINISHED].add(node.nodeid)


def suite_of(config: Any, node: pytest.Item) -> str:
    """The suite a case belongs to: its config's ``suite`` where it has one (a family of suites
    sharing one config type), else the wrapper's name, ``benchmarks/test_<suite>.py``."""
    return getattr(config, "suite", None) or node.path.stem.removeprefix("test_")


@pytest.fixture
def gpubench(benchmark: Any, request: pytest.FixtureRequest) -> CaseRunner:
    return CaseRunner(benchmark, request)


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    machine_info["gpubench"] = fingerprint(config.getoption("--gpubench-profile"))


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: Any, output_json: dict[str, Any]) -> None:
    output_json["gpubench"] = _run_block(config)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """When every case was skipped pytest-benchmark writes no JSON; write the skips ourselves."""
    config = session.config
    path = config.getoption("benchmark_json", None)
    if not path or config.stash[_RUN]["measured"] or not _skips(config):
        return
    write_document(run_document([], _run_block(config), fingerprint(config.getoption("--gpubench-profile"))), path)


def _run_block(config: pytest.Config) -> dict[str, Any]:
    run = config.stash[_RUN]
    return run_block(run["run_id"], run["started_at"], run["profile"], run["measured"], _skips(config))


def _skips(config: pytest.Config) -> list[dict[str, Any]]:
    """The skipped cases, and after a stop every case that did not finish, with its reason."""
    skipped = list(config.stash[_SKIPPED])
    stop = config.stash[_RUN]["stopped"]
    if stop is None:
        return skipped
    finished, reason = config.stash[_FINISHED], not_run_reason(stop)
    for item in config.stash[_ITEMS]:
        if item.nodeid not in finished:
            case = getattr(getattr(item, "callspec", None), "params", {}).get("config")
            params = case.params() if hasattr(case, "params") else {}
            skipped.append(skipped_entry(suite_of(case, item), params, reason, name=item.name, fullname=item.nodeid))
    return skipped


__all__ = [
    "gpubench",
    "pytest_addoption",
    "pytest_benchmark_update_json",
    "pytest_benchmark_update_machine_info",
    "pytest_collection_finish",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_keyboard_interrupt",
    "pytest_runtest_logreport",
    "pytest_runtestloop",
    "pytest_sessionfinish",
]
