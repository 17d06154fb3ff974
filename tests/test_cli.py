"""Bad input on the command line: one line on stderr, exit status 2."""

import gc
from pathlib import Path

import pytest
from support import cli

from gpubench import cli as gpubench_cli


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


def test_the_command_is_main_with_a_short_teardown(monkeypatch):
    """``gpubench`` and ``python -m gpubench`` run ``entry_point``: main's exit code, and the
    objects left frozen out of the collector so that teardown is short (pyproject names it)."""
    project = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert 'gpubench = "gpubench.cli:entry_point"' in project
    monkeypatch.setattr(gpubench_cli, "main", lambda: 3)
    frozen = gc.get_freeze_count()
    try:
        assert gpubench_cli.entry_point() == 3
        assert gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()  # the test session's objects go back to the collector
