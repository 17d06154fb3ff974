"""Helpers for the tests: run the suite and the CLI in subprocesses, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO / "src"))


def run_benchmarks(json_path: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``pytest benchmarks/ --benchmark-json`` in a subprocess, exactly as a user runs it."""
    command = [sys.executable, "-m", "pytest", "benchmarks/", f"--benchmark-json={json_path}", "-q", *args]
    return subprocess.run(command, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=timeout)


def cli(*args: str, timeout: float = 600, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m gpubench ARGS`` in a subprocess."""
    command = [sys.executable, "-m", "gpubench", *args]
    return subprocess.run(command, capture_output=True, text=True, env=_env(), timeout=timeout, cwd=cwd)
