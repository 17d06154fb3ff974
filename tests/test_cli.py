"""Bad input on the command line: one line on stderr, exit status 2."""

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
