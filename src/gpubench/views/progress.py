"""The progress display of ``gpubench run``, ``nightly`` and ``verify``: where a long job is.

``Progress`` keeps the state: suites in the order they run, each with its cases, counts
(measured, skipped, failed), elapsed time and an estimate of the time left. The estimate sums the
remaining cases' wall times on this machine's previous run (gpubench.run.case_times) where there
is one; cases without one are counted at the mean time per case so far. A renderer shows it:

- ``BarRenderer`` (a terminal): one rich progress bar per suite. It is redrawn only when an event
  arrives (``auto_refresh`` off), i.e. between cases, never on a timer while a case is measured.
- ``PlainRenderer`` (a log, a pipe, CI): one line when a suite starts and one when it ends, with
  the same counts; no ANSI codes, nothing redrawn.
- ``SilentRenderer`` (``-q``): nothing.

Skipped cases are counted here and grouped by reason in the tables; failures get a line each.
Why rich and not tqdm: docs/progress.md.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

OUTCOMES = ("measured", "skipped", "failed")
MODES = ("default", "verbose", "quiet")


@dataclass
class Suite:
    """One suite's cases (in order) and how far it is."""

    name: str
    cases: list[str]
    unit: str = "cases"
    done: dict[str, str] = field(default_factory=dict)  # case -> outcome
    started: float | None = None
    finished: float | None = None
    note: str = ""

    def counted(self, count: int) -> str:
        """``count`` with the unit, singular for one: "1 check", "3 checks"."""
        return f"{count} {self.unit.removesuffix('s') if count == 1 else self.unit}"

    @property
    def counts(self) -> Counter:
        return Counter(self.done.values())

    def counts_text(self) -> str:
        counts = self.counts
        return ", ".join(f"{counts[outcome]} {outcome}" for outcome in OUTCOMES)

    def elapsed(self, now: float) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or now) - self.started


class Renderer(Protocol):
    def started(self, suite: Suite, progress: Progress) -> None: ...
    def updated(self, suite: Suite, progress: Progress) -> None: ...
    def failed(self, suite: Suite, case: str, reason: str) -> None: ...
    def finished(self, suite: Suite, progress: Progress) -> None: ...
    def close(self) -> None: ...


class Progress:
    """Suites, their cases and counts; tells the renderer what changed. Feed it between cases only."""

    def __init__(self, renderer: Renderer, clock: Callable[[], float] = time.monotonic) -> None:
        self.renderer = renderer
        self.clock = clock
        self.suites: dict[str, Suite] = {}
        self.previous: dict[str, float] = {}

    def plan(self, suites: Sequence[tuple[str, Sequence[str]]], previous: dict[str, float] | None = None,
             unit: str = "cases") -> None:  # fmt: skip
        """The suites about to run with their cases, in order; ``previous``: case -> seconds last time."""
        self.previous = dict(previous or {})
        for name, cases in suites:
            self.suites.setdefault(name, Suite(name, [], unit)).cases.extend(cases)
        first = next(iter(self.suites.values()), None)
        if first is not None:
            self._start(first)

    def case_done(self, suite_name: str, case: str, outcome: str, reason: str = "") -> None:
        """A case is over: ``measured``, ``skipped`` or ``failed`` (with ``reason``)."""
        suite = self.suites.get(suite_name)
        if suite is None:
            suite = self.suites[suite_name] = Suite(suite_name, [case])
        elif case not in suite.cases:
            suite.cases.append(case)
        self._start(suite)
        suite.done[case] = outcome if outcome in OUTCOMES else "measured"
        suite.note = ""
        if outcome == "failed":
            self.renderer.failed(suite, case, reason)
        if len(suite.done) >= len(suite.cases):
            self._finish(suite)
        else:
            self.renderer.updated(suite, self)

    def note(self, suite_name: str, text: str) -> None:
        """Where a suite is inside a case (a collective sweep's size, a verify round)."""
        suite = self.suites.get(suite_name)
        if suite is None or suite.finished is not None:
            return
        self._start(suite)
        suite.note = text
        self.renderer.updated(suite, self)

    def remaining(self, suite: Suite) -> tuple[float | None, str]:
        """(seconds left, where the estimate comes from); (None, "") before anything can tell."""
        left = [case for case in suite.cases if case not in suite.done]
        if not left:
            return 0.0, ""
        known = [self.previous[case] for case in left if case in self.previous]
        unknown = len(left) - len(known)
        if not unknown:
            return sum(known), "this machine's last run"
        if suite.done:
            per_case = suite.elapsed(self.clock()) / len(suite.done)
        elif self.previous:
            per_case = sum(self.previous.values()) / len(self.previous)
        else:
            return None, ""
        return sum(known) + unknown * per_case, "the case count"

    def close(self) -> None:
        """Finish what is still open (a run that stopped early keeps its counts) and let the renderer go."""
        for suite in self.suites.values():
            if suite.started is not None and suite.finished is None:
                self._finish(suite)
        self.renderer.close()

    def _start(self, suite: Suite) -> None:
        if suite.started is not None:
            return
        for other in self.suites.values():  # suites run one after another: starting one ends the last
            if other is not suite and other.started is not None and other.finished is None and other.done:
                self._finish(other)
        suite.started = self.clock()
        self.renderer.started(suite, self)

    def _finish(self, suite: Suite) -> None:
        if suite.finished is not None:
            return
        suite.finished = self.clock()
        self.renderer.finished(suite, self)
        following = [other for other in self.suites.values() if other.started is None]
        if following and len(suite.done) >= len(suite.cases):
            self._start(following[0])


def seconds_text(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def estimate_text(progress: Progress, suite: Suite) -> str:
    left, source = progress.remaining(suite)
    if left is None:
        return "time left: not known yet"
    return f"about {seconds_text(left)} left (from {source})"


class PlainRenderer:
    """One line per suite when it starts and one when it ends; for logs (no ANSI codes)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def started(self, suite: Suite, progress: Progress) -> None:
        self._line(f"{suite.name}: {suite.counted(len(suite.cases))}; {estimate_text(progress, suite)}")

    def updated(self, suite: Suite, progress: Progress) -> None:
        pass

    def failed(self, suite: Suite, case: str, reason: str) -> None:
        self._line(f"  FAILED {case}" + (f": {reason}" if reason else ""))

    def finished(self, suite: Suite, progress: Progress) -> None:
        elapsed = seconds_text(suite.elapsed(progress.clock()))
        self._line(f"{suite.name}: {len(suite.done)}/{suite.counted(len(suite.cases))}, {suite.counts_text()}, "
                   f"{elapsed}")  # fmt: skip

    def close(self) -> None:
        pass


class BarRenderer:
    """One rich progress bar per suite, on a terminal; redrawn only when the state changes."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bars

        self.console = Console(file=stream or sys.stdout, highlight=False)
        self.bars = Bars(
            TextColumn("{task.description:<16}"),
            BarColumn(bar_width=30),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[left]}"),
            TextColumn("[dim]{task.fields[note]}"),
            console=self.console,
            auto_refresh=False,  # no timer thread drawing while a case is measured
        )
        self.tasks: dict[str, Any] = {}
        self.bars.start()

    def _task(self, suite: Suite) -> Any:
        if suite.name not in self.tasks:
            self.tasks[suite.name] = self.bars.add_task(suite.name, total=len(suite.cases), start=False,
                                                        counts="", left="", note="")  # fmt: skip
        return self.tasks[suite.name]

    def _draw(self, suite: Suite, progress: Progress) -> None:
        task = self._task(suite)
        left = "" if suite.finished is not None else estimate_text(progress, suite).replace(" (from", " (")
        self.bars.update(task, total=len(suite.cases), completed=len(suite.done), counts=suite.counts_text(),
                         left=left, note=suite.note)  # fmt: skip
        self.bars.refresh()

    def started(self, suite: Suite, progress: Progress) -> None:
        self.bars.start_task(self._task(suite))
        self._draw(suite, progress)

    def updated(self, suite: Suite, progress: Progress) -> None:
        self._draw(suite, progress)

    def failed(self, suite: Suite, case: str, reason: str) -> None:
        self.console.print(f"FAILED {case}" + (f": {reason}" if reason else ""), markup=False)

    def finished(self, suite: Suite, progress: Progress) -> None:
        self._draw(suite, progress)
        self.bars.stop_task(self._task(suite))
        self.bars.refresh()

    def close(self) -> None:
        self.bars.stop()


class SilentRenderer:
    """``-q``: no progress at all; only the final tables and paths are printed."""

    def started(self, suite: Suite, progress: Progress) -> None:
        pass

    def updated(self, suite: Suite, progress: Progress) -> None:
        pass

    def failed(self, suite: Suite, case: str, reason: str) -> None:
        pass

    def finished(self, suite: Suite, progress: Progress) -> None:
        pass

    def close(self) -> None:
        pass


def on_terminal(stream: IO[str] | None = None) -> bool:
    """A terminal that can redraw a bar: a tty, and not ``TERM=dumb``."""
    stream = stream or sys.stdout
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


def renderer_for(mode: str, stream: IO[str] | None = None) -> Renderer:
    """Bars on a terminal, plain lines elsewhere, nothing with ``-q`` (and ``-v``: pytest's lines show it)."""
    if mode in ("quiet", "verbose"):
        return SilentRenderer()
    return BarRenderer(stream) if on_terminal(stream) else PlainRenderer(stream)


class PytestEvents:
    """The pytest plugin's events (gpubench.measure.progress_events) fed into a ``Progress``.

    Remembers each case's wall seconds for the next run's estimate (``times``, for ``machine``).
    """

    def __init__(self, progress: Progress, results: str | os.PathLike) -> None:
        self.progress = progress
        self.results = Path(results)
        self.machine: str | None = None
        self.times: dict[str, float] = {}
        self.failures: list[str] = []

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "collected":
            from gpubench.run.case_times import previous_times

            self.machine = machine_name(event.get("machine") or {})
            suites: dict[str, list[str]] = {}
            for suite, case in event.get("cases", []):
                suites.setdefault(str(suite), []).append(str(case))
            self.progress.plan(list(suites.items()), previous_times(self.results, self.machine))
        elif kind == "case":
            case, outcome = str(event.get("nodeid")), str(event.get("outcome"))
            if isinstance(event.get("seconds"), (int, float)):
                self.times[case] = float(event["seconds"])
            if outcome == "failed":
                self.failures.append(case)
            self.progress.case_done(str(event.get("suite")), case, outcome, str(event.get("reason") or ""))
        elif kind == "step":
            self.progress.note(str(event.get("suite")), str(event.get("text", "")))


def machine_name(machine: dict[str, Any]) -> str:
    """The store's machine key (``<GPU model> @ <host>``) of a fingerprint's gpu_name and hostname."""
    import pandas as pd

    from gpubench.store.machine import machine_key

    frame = pd.DataFrame([{"gpu_name": machine.get("gpu_name"), "hostname": machine.get("hostname")}])
    return str(machine_key(frame).iloc[0])
