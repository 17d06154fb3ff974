"""The one way the tests run things as a user would: the CLI, pytest and Python in subprocesses.

Every subprocess imports this checkout's gpubench (``src`` first on PYTHONPATH) and runs from
the repository root unless told otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
Completed = subprocess.CompletedProcess


def subprocess_env(**overrides: str) -> dict[str, str]:
    """This environment, with this checkout's ``src`` first on PYTHONPATH, and ``overrides``."""
    path = os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path, **overrides)


def run(command: list[object], *, timeout: float = 600, cwd: Path | None = None, **env: str) -> Completed:
    """``command`` in a subprocess; ``env`` adds or overrides environment variables."""
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd or REPO,
        env=subprocess_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli(*args: object, timeout: float = 600, cwd: Path | None = None, **env: str) -> Completed:
    """``python -m gpubench ARGS``."""
    return run([sys.executable, "-m", "gpubench", *args], timeout=timeout, cwd=cwd, **env)


def python(code: str, *args: object, timeout: float = 600) -> Completed:
    """``python -c CODE ARGS``: a fresh interpreter, whose imports are its own."""
    return run([sys.executable, "-c", code, *args], timeout=timeout)


def run_benchmarks(
    json_path: Path, *args: str, timeout: float = 600, target: str = "benchmarks/", cwd: Path | None = None
) -> Completed:
    """``pytest TARGET --benchmark-json`` (``benchmarks/`` by default), as a user runs it."""
    command = [sys.executable, "-m", "pytest", target, f"--benchmark-json={json_path}", "-q", "-p", "no:cacheprovider"]
    return run([*command, *args], timeout=timeout, cwd=cwd)
