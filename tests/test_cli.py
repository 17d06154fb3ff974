"""Bad input on the command line: one line on stderr, exit status 2."""

import subprocess
import sys
from pathlib import Path

import pytest
from support import cli


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["run", "--profile", "bogus"],
        ["ingest"],
        ["compare", "/no/such/baseline.json", "/no/such/candidate.json"],
        ["nightly", "--threshold", "abc", "--results", "/no/such/store"],
        ["plot", "--results", "/no/such/store"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(args):
    done = cli(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "error:" in done.stderr


def test_version_and_help():
    assert cli("--version").stdout.startswith("gpubench ")
    assert "doctor" in cli("--help").stdout


def test_the_command_ends_as_a_normal_exit_without_the_native_teardown(tmp_path):
    """``gpubench`` and ``python -m gpubench`` run ``entry_point``: main, then ``exit_now``, which
    joins the threads, runs the atexit handlers and flushes stdout before ``os._exit`` (pyproject
    names it). ``os._exit`` without those steps would lose the thread's file, the handler's line
    and the unflushed text."""
    project = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert 'gpubench = "gpubench.cli:entry_point"' in project
    written = tmp_path / "by-a-thread"
    code = f"""
import atexit, sys, threading, time
from pathlib import Path
from gpubench import cli
def late():
    time.sleep(0.5)
    Path({str(written)!r}).write_text("joined")
threading.Thread(target=late).start()
atexit.register(lambda: print("atexit ran"))
sys.stdout.write("unflushed, no newline")
cli.main = lambda: 3
cli.entry_point()
print("never reached")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stderr
    assert done.stdout == "unflushed, no newlineatexit ran\n"
    assert written.read_text() == "joined"
