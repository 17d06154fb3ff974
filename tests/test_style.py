"""ruff clean is a house rule; CI checks it with the tests."""

import importlib.util
import subprocess
import sys

import pytest
from support import REPO


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is not installed (pip install -e '.[test]')")
@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff(command):
    paths = ["src", "benchmarks", "tests", "scripts"]
    done = subprocess.run([sys.executable, "-m", "ruff", *command, *paths], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
