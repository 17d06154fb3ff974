"""The main job's pipeline: run the suites -> ingest the document -> plot -> summary.

The torchrun path (``gpubench allreduce``) measures in its ranks and stores rank 0's results here
too (``collectives_document``, ``store_document``).

``gpubench run``, ``gpubench nightly`` and the torchrun entry point all end here, so a run is
stored, archived and shown the same way whichever launched it. Suites run through the documented
interface (``pytest benchmarks/ --benchmark-json ...``) in a subprocess, so what the job stores is
exactly what a user of plain pytest gets.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpubench.files.safe import safe_folder
from gpubench.measure.result import CaseResult
from gpubench.run.document import benchmark_entry, run_block, run_document, skipped_entry, write_document
from gpubench.run.run_id import new_run_id
from gpubench.run.stopping import StopRequests
from gpubench.store.ingest import IngestedRun, ingest
from gpubench.store.location import locate
from gpubench.store.publish import publish_folder, publish_run_file, put_file, scratch_folder, unreachable
from gpubench.store.read import read_results
from gpubench.store.schema import StoreError
from gpubench.suites.profiles import DEFAULT_PROFILE

if TYPE_CHECKING:  # torch is imported only where ranks measured: it costs seconds on a GPU host
    from gpubench.suites.collectives.collect import Skip

BENCHMARKS_HOME = Path(__file__).resolve().parents[2] / "benchmarks"
# What pytest's -k accepts as one name; a test id with other characters reruns its whole suite.
_K_SAFE = re.compile(r"[\w\[\]\-.:+/]+")
INTERRUPTED = 2  # pytest's exit status when a KeyboardInterrupt (here: a stop) ended the session


@dataclass
class Outcome:
    """A finished run: its id, the exit code it earns, the text to print, the figures drawn, and
    the signal that stopped it early (None when it ran to its end)."""

    run_id: str
    exit_code: int
    report: str
    plots: list[Path]
    stopped: str | None = None


@dataclass(frozen=True)
class RunRequest:
    """What one run of the suites measures: profile, suites, the benchmarks folder, pytest's arguments.

    The nightly's first run and its confirming rerun take the same request, the rerun narrowed to
    the slower cases (``narrowed``), so an argument that changes what a case measures (say
    ``--gpubench-world-size=4``) reaches both.
    """

    profile: str = DEFAULT_PROFILE
    suites: tuple[str, ...] | None = None
    benchmarks: str | None = None
    pytest_args: tuple[str, ...] = ()
    output: str = "default"  # how the run shows its progress (views.progress.MODES); measures nothing

    def narrowed(self, suites: list[str], names: list[str]) -> RunRequest:
        """The same request for ``suites`` only and, where pytest's ``-k`` can name them, the tests ``names``.

        A ``-k`` the user gave is kept: the rerun selects ``(theirs) and (these names)``.
        """
        args, theirs = _without_keyword(self.pytest_args)
        if names and all(_K_SAFE.fullmatch(name) for name in names):
            ours = " or ".join(names)
            args += ("-k", f"({theirs}) and ({ours})" if theirs else ours)
        elif theirs:
            args += ("-k", theirs)
        return replace(self, suites=tuple(suites), pytest_args=args)


def run_suites(request: RunRequest, results: str | os.PathLike) -> Outcome:
    """Run the suites under pytest, store, plot; the exit code is pytest's failure (1) or 0.

    A store at a URL (``s3://...``): measured into a local scratch folder, then published
    (``publish_run``); the scratch folder is removed once the store holds the run, kept (and
    named) when it cannot take it.
    """
    location = locate(results)
    if location.is_local:
        return run_local(request, Path(location.root))
    scratch = scratch_folder()
    outcome = run_local(request, scratch)
    publish_run(scratch, outcome.run_id, results)
    shutil.rmtree(scratch, ignore_errors=True)
    shown = os.fspath(results).rstrip("/")
    return replace(outcome, report=outcome.report.replace(str(scratch), shown), plots=[])


def publish_run(scratch: Path, run_id: str, results: str | os.PathLike) -> str:
    """The run measured into the local store ``scratch``, published to the shared store: its run
    file (created once), its JSON and its figures; ``StoreUnreachable`` (scratch kept) if refused."""
    try:
        path = publish_run_file(scratch / "runs" / f"{run_id}.parquet", results)
        location = locate(results)
        put_file(location, ("json", f"{run_id}.json"), (scratch / "json" / f"{run_id}.json").read_bytes())
        publish_folder(scratch / "plots" / run_id, results, "plots", run_id)
    except Exception as error:  # no bucket, no credentials, a refused write, no network: said in one line
        raise unreachable(results, scratch, error, f"run {run_id}") from None
    return path


def run_local(request: RunRequest, results: Path) -> Outcome:
    """``run_suites`` into a local folder store (the store itself, or a scratch folder).

    ``request.output``: ``verbose`` shows pytest's own lines; otherwise pytest's output goes to
    ``<results>/logs/<run id>.log`` and the progress display (gpubench.views.progress) shows where
    the run is (``quiet``: nothing until the tables).

    A SIGTERM or Ctrl-C stops the run (gpubench.run.stopping): what pytest saved is stored, the
    cases that did not finish as skipped ("not run"), no figures are drawn (a time limit leaves
    seconds), and the exit code is 128 + the signal's number.
    """
    from gpubench.measure.progress_events import listen
    from gpubench.run.case_times import save_times
    from gpubench.views.progress import Progress, PytestEvents, renderer_for

    targets = benchmark_files(find_benchmarks(request.benchmarks), list(request.suites or ()))
    results.mkdir(parents=True, exist_ok=True)
    verbose = request.output == "verbose"
    with tempfile.TemporaryDirectory(prefix=".gpubench-run-", dir=results) as scratch:
        json_path = Path(scratch) / "benchmark.json"
        log_path = Path(scratch) / "pytest.log"
        command = [
            sys.executable, "-m", "pytest", *map(str, targets),
            f"--benchmark-json={json_path}", f"--gpubench-profile={request.profile}",
            *(["-v", "-rs"] if verbose else ["-q", "-rfE"]),
            "-p", "no:cacheprovider", "--benchmark-columns=median,iqr,rounds",
            *[arg for arg in request.pytest_args if arg != "--"],
        ]  # fmt: skip
        stops = StopRequests()
        if verbose:
            print("$ " + " ".join(command), flush=True)
            with stops:
                pytest_status = _pytest(command, stops, env=_pytest_env())
            events = None
        else:
            events = PytestEvents(Progress(renderer_for(request.output)), results)
            with listen(events) as channel, open(log_path, "w") as log, stops:
                log.write("$ " + " ".join(command) + "\n")
                log.flush()
                env = {**_pytest_env(), **channel}
                try:
                    pytest_status = _pytest(command, stops, env=env, stdout=log, stderr=subprocess.STDOUT)
                finally:
                    events.progress.close()
        # A stop pytest saw alone (a signal to pytest only; its skip reasons name a SIGTERM) ends it with 2.
        stop = stops.stop or ("SIGINT" if pytest_status == INTERRUPTED else None)
        if (pytest_status not in (0, 1) and stop is None) or not json_path.exists():
            if not verbose:
                _show_tail(log_path)
            how = f"was stopped by {stop}" if stop else f"exited with status {pytest_status}"
            raise StoreError(f"pytest {how} and wrote no results; nothing stored")
        stored = _ingest_and_archive(json_path, results)
        log = None
        if not verbose:
            log = safe_folder(results, "logs") / f"{stored.run_id}.log"
            os.replace(log_path, log)
        if events is not None and events.machine:
            save_times(results, events.machine, events.times)
    if stop is not None:
        return stopped_early(stored, results, stop, log)
    failed = None
    if pytest_status:
        where = f"see {log}" if log else "see pytest's output above"
        failed = f"some cases FAILED ({where}); what was measured is stored"
    return finish(stored, results, failure=failed, log=log)


def _pytest(command: list[str], stops: StopRequests, **popen: Any) -> int:
    """pytest's exit status; a stop lets it end its case and save (``stops`` forwards SIGTERM)."""
    with subprocess.Popen(command, **popen) as child:
        stops.child = child
        try:
            return child.wait()
        except BaseException:  # a second Ctrl-C: abort, as subprocess.run does
            child.kill()
            raise


def stopped_early(stored: IngestedRun, results: Path, stop: str, log: Path | None = None) -> Outcome:
    """A run stopped by ``stop``: what it stored, in a few lines, no figures; exit 128 + the signal."""
    lines = [
        f"run {stored.run_id}: STOPPED by {stop}: {stored.measured} measured, {stored.skipped} skipped "
        f"(the cases that had not finished are stored as skipped: not run)",
        f"  parquet: {stored.path}",
        *([f"  log:     {log}"] if log else []),
        f"  figures: not drawn; gpubench plot --run {stored.run_id} --results {results} draws them",
    ]
    return Outcome(stored.run_id, 128 + int(signal.Signals[stop]), "\n".join(lines), [], stopped=stop)


def _show_tail(log_path: Path, lines: int = 30) -> None:
    """The end of pytest's output, when it stopped before storing anything (a crash, a usage error)."""
    try:
        text = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return
    print("\n".join(text[-lines:]), file=sys.stderr, flush=True)


def _without_keyword(args: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
    """``args`` without pytest's ``-k`` (``-k EXPR`` or ``-kEXPR``), and its expression (the last, as pytest)."""
    kept: list[str] = []
    keyword = None
    items = iter(arg for arg in args if arg != "--")
    for arg in items:
        if arg == "-k":
            keyword = next(items, None)
        elif arg.startswith("-k") and not arg.startswith("--"):
            keyword = arg[2:]
        else:
            kept.append(arg)
    return tuple(kept), keyword


def store_document(
    document: dict[str, Any], results_dir: str | os.PathLike, json_copy: str | os.PathLike | None = None
) -> IngestedRun:
    """Ingest a document built outside pytest (torchrun) and archive its JSON; optionally copy it."""
    results = Path(results_dir)
    results.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".gpubench-run-", dir=results) as scratch:
        path = write_document(document, Path(scratch) / "benchmark.json")
        stored = _ingest_and_archive(path, results)
    if json_copy:
        write_document(document, json_copy)
    return stored


def finish(stored: IngestedRun, results: Path, failure: str | None = None, log: Path | None = None) -> Outcome:
    """Plot the stored run and summarise it; ``failure`` (one line) makes the exit code 1."""
    from gpubench.views.figures.run import plot_run  # matplotlib only when a run is shown
    from gpubench.views.tables import summary

    results = Path(results)
    frame = read_results(results, stored.run_id)
    plots = plot_run(frame, safe_folder(results, "plots", stored.run_id))
    lines = [
        summary(frame),
        "",
        f"run {stored.run_id}: {stored.measured} measured, {stored.skipped} skipped",
        *[f"  note:    {note}" for note in stored.notes],
        f"  parquet: {stored.path}",
        f"  json:    {results / 'json' / (stored.run_id + '.json')}",
        *[f"  plot:    {path}" for path in plots],
        *([f"  log:     {log}"] if log else []),
    ]
    if failure:
        lines.append(failure)
    return Outcome(stored.run_id, 1 if failure else 0, "\n".join(lines), plots)


def _ingest_and_archive(json_path: Path, results: Path) -> IngestedRun:
    stored = ingest(json_path, results)
    archive = safe_folder(results, "json")
    os.replace(json_path, archive / f"{stored.run_id}.json")
    return stored


def find_benchmarks(explicit: str | None) -> Path:
    """The benchmarks/ folder: given, beside the checkout's src/, or in the current directory."""
    candidates = [Path(explicit)] if explicit else [BENCHMARKS_HOME, Path("benchmarks")]
    for candidate in candidates:
        if (candidate / "conftest.py").is_file():
            return candidate
    raise StoreError(f"no benchmarks/ folder found (looked in {', '.join(map(str, candidates))}); pass --benchmarks")


def benchmark_files(folder: Path, suites: list[str] | None) -> list[Path]:
    if not suites:
        return [folder]
    files = []
    for suite in suites:
        path = folder / f"test_{suite}.py"
        if not path.is_file():
            known = sorted(p.stem.removeprefix("test_") for p in folder.glob("test_*.py"))
            raise StoreError(f"unknown suite {suite!r}; known suites: {', '.join(known)}")
        files.append(path)
    return files


def _pytest_env() -> dict[str, str]:
    # The subprocess must import this very gpubench, installed or straight from a checkout.
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    return env


def collectives_document(results: list[CaseResult], skipped: list[Skip], profile: str | None) -> dict[str, Any]:
    """Rank 0's results as the document the pytest plugin writes (samples, fingerprint, skips)."""
    from gpubench.machine.fingerprint import fingerprint  # torch: only where ranks measured (seconds on a GPU host)

    now = datetime.now(timezone.utc)
    block = run_block(
        new_run_id(now),
        now.isoformat(),
        profile,
        len(results),
        [skipped_entry(suite, params, reason, **_names(suite, params)) for suite, params, reason in skipped],
    )
    timer = "gpubench.suites.collectives (samples measured by the ranks)"
    benchmarks = [benchmark_entry(result, timer=timer, **_names(result.suite, result.params)) for result in results]
    return run_document(benchmarks, block, fingerprint(profile), version="gpubench.suites.collectives")


def _names(suite: str, params: dict[str, Any]) -> dict[str, str]:
    # as benchmarks/test_<suite>.py ids its cases
    name = f"test_{suite}[{'-'.join(str(value) for value in params.values())}]"
    module = "gpubench.allreduce" if suite == "allreduce" else "gpubench.collectives"  # allreduce: as it always was
    return {"name": name, "fullname": f"{module}::{name}"}
