"""The ``gpubench`` command line: one subcommand per module in ``gpubench.commands``.

Every command returns its exit code. Bad input ends in a one-line ``gpubench: error: ...`` on
stderr and exit status 2, with nothing stored or half-written.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import importlib
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from gpubench import __version__
from gpubench.commands import COMMANDS
from gpubench.files.terminal import printable
from gpubench.measure.workers import WorkerError

USAGE_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``gpubench run: error: ...``) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gpubench", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"gpubench {__version__}")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMANDS:
        module = importlib.import_module(f"gpubench.commands.{module_name}")
        sub = subcommands.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _utf8_streams()
    args = build_parser().parse_args(argv)
    _expand_paths(args)
    if "gpubench.store.index" in sys.modules:  # an earlier command in this process (tests, notebooks)
        sys.modules["gpubench.store.index"].forget_warnings()  # each command names what it skips
        sys.modules["gpubench.store.location"].forget_notes()
    try:
        return int(args.handler(args) or 0)
    except (ValueError, WorkerError, OSError) as error:  # StoreError is a ValueError
        print(f"gpubench: error: {printable(' '.join(str(error).split()) or type(error).__name__)}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("gpubench: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130


def entry_point() -> NoReturn:
    """What the ``gpubench`` command runs: ``main``, then an exit that skips the interpreter's
    native teardown (``exit_now``). Callers that stay in the process (tests, notebooks) call
    ``main``."""
    exit_now(main())


def exit_now(code: int) -> NoReturn:
    """End the process as a normal exit would, without the interpreter's teardown.

    A normal exit joins the threads that are not daemons, runs the atexit handlers, flushes
    stdout and stderr, and then tears the interpreter down. That last step destroys Arrow's
    native thread pools. It can abort a process that has written everything ("terminate called
    without an active exception", exit -6: apache/arrow#34314). CI saw this once, in a nightly
    that had stored its run and printed its verdict. The teardown also walks every object of
    pandas, pyarrow and matplotlib once more (0.28 s of a 2 s command on a 2-core VM). So the
    first three steps are done here, and then ``os._exit``.
    """
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed pipe: nothing left to say
            stream.flush()
    os._exit(code)


def _expand_paths(args: argparse.Namespace) -> None:
    """``--results`` and ``--out`` as one path from the first call to the last: ``~`` expanded
    (a quoted path or a config file leaves it to us), made absolute; URLs left as they are."""
    for name in ("results", "out"):
        value = getattr(args, name, None)
        if isinstance(value, str) and value and "://" not in value:
            setattr(args, name, os.path.abspath(os.path.expanduser(value)))


def _utf8_streams() -> None:
    """Print UTF-8 whatever the locale (``LC_ALL=C`` gives ASCII streams): names from data are
    any text; a character the stream cannot hold never ends a command."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(encoding="utf-8", errors="backslashreplace")


if __name__ == "__main__":
    entry_point()
