"""Shared fixtures: real runs of the benchmark suite, made once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import run_benchmarks

# Under pytest-xdist (.ci/run: ``-n 2``) a worker's environment names it; a pytest this suite
# starts would inherit that and pytest-benchmark would then disable itself ("xdist is active").
# The benchmark runs these tests start are single-process sessions of their own.
for _name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def copy_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The copy suite's quick profile, host baseline plus the GPU cases (skipped without CUDA)."""
    path = tmp_path_factory.mktemp("copy") / "copy.json"
    done = run_benchmarks(path, "-k", "copy and (h2h or 4096)", "-p", "no:cacheprovider")
    assert done.returncode == 0, done.stdout + done.stderr
    return path
