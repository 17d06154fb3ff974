"""A run asked to stop keeps what it measured: the signal handling of ``gpubench run`` and its pytest.

A time limit (``timeout``, Slurm's ``--time``, a pod's deadline) ends a job with SIGTERM, and a
user with Ctrl-C (SIGINT). Left to their defaults, SIGTERM kills pytest before pytest-benchmark
writes its JSON, and SIGINT makes ``subprocess.run`` kill it: every case measured so far is lost.
The first signal therefore asks the run to stop. The case that is running ends there, and the
finished cases are stored. Every case that did not finish is stored as skipped, with the reason
``not run: ...`` (gpubench.run.pytest_plugin). A second SIGINT aborts, and SIGKILL cannot be
caught.

- ``interrupt_on_sigterm`` (in pytest): the first SIGTERM while the cases run raises
  KeyboardInterrupt, the stop pytest knows (it still calls ``pytest_sessionfinish``, where
  pytest-benchmark saves); one after the cases is only noted, and later SIGTERMs are ignored, so
  that nothing cuts the saving short. A process group's SIGTERM and the one the
  parent forwards can both arrive: the second is ignored.
- ``StopRequests`` (in ``gpubench run``): while pytest runs, the first SIGTERM or SIGINT is noted
  and the parent keeps waiting. A SIGTERM is also forwarded, for when it was sent to the parent
  alone; a terminal's SIGINT already reaches the whole process group.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Callable
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def not_run_reason(stop: str) -> str:
    """The skip reason of a case that a stop left unfinished."""
    return f"not run: the run was stopped by {stop} before this case finished"


def interrupt_on_sigterm(on_stop: Callable[[str], None], interrupting: Callable[[], bool]) -> Callable[[], None]:
    """Make the first SIGTERM stop the run: ``on_stop("SIGTERM")``, then, while ``interrupting()``
    (until the cases are over), a KeyboardInterrupt; after them nothing more (pytest is saving).
    Later SIGTERMs are ignored. Returns what puts the previous handler back. Does nothing off the
    main thread, or where SIGTERM already has a handler of its own.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        return lambda: None

    def stop(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the saving that follows must not be cut short
        on_stop(signal.Signals(signum).name)
        if interrupting():
            raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")

    signal.signal(signal.SIGTERM, stop)
    return lambda: signal.signal(signal.SIGTERM, previous)


class _Handlers:
    """Installs ``_handle`` for SIGTERM and SIGINT on entry (main thread only) and puts back the
    previous handlers on exit."""

    def __init__(self) -> None:
        self.stop: str | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        raise NotImplementedError


class StopRequests(_Handlers):
    """Notes the first SIGTERM or SIGINT while a child runs (forwarding SIGTERM) instead of dying.

    ``stop`` is the signal's name once one came, else None. A SIGINT after that raises
    KeyboardInterrupt (Ctrl-C twice aborts); a SIGTERM after it is the same stop again (GNU
    ``timeout`` sends one to its child and one to the child's process group). Off the main thread
    it installs nothing.
    """

    def __init__(self) -> None:
        super().__init__()
        self.child: subprocess.Popen | None = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.stop is not None:
            if signum == signal.SIGINT:  # Ctrl-C again: abort
                raise KeyboardInterrupt(f"stopped twice ({self.stop}, then SIGINT)")
            return  # SIGTERM again: `timeout` signals its child, then the child's process group
        self.stop = signal.Signals(signum).name
        if signum == signal.SIGTERM and self.child is not None and self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)


class StopInside(_Handlers):
    """For work done in this process (``gpubench verify``): the first SIGTERM or SIGINT raises
    KeyboardInterrupt where the work is and names ``stop``; later SIGTERMs are ignored, and a
    later SIGINT interrupts again (Ctrl-C twice aborts the storing too). Off the main thread it
    installs nothing, and a stop is an ordinary KeyboardInterrupt.
    """

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.stop is not None and signum == signal.SIGTERM:
            return  # the same stop again
        self.stop = self.stop or signal.Signals(signum).name
        raise KeyboardInterrupt(f"stopped by {self.stop}")
