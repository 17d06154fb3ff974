"""Shared fixtures: real runs of the benchmark suite, made once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import run_benchmarks


@pytest.fixture(scope="session")
def copy_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The copy suite's quick profile, host baseline plus the GPU cases (skipped without CUDA)."""
    path = tmp_path_factory.mktemp("copy") / "copy.json"
    done = run_benchmarks(path, "-k", "copy and (h2h or 4096)", "-p", "no:cacheprovider")
    assert done.returncode == 0, done.stdout + done.stderr
    return path
