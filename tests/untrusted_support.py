"""Small pytest-benchmark-shaped documents for the hostile-input tests, and the CLI run in-process."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

from gpubench.cli import main as cli_main

WHEN = "2024-05-01T12:00:00+00:00"


def bench(
    name: str = "test_x",
    median: float = 1e-3,
    *,
    samples: list[float] | None = None,
    params: dict[str, Any] | None = None,
    extra_info: dict[str, Any] | None = None,
    group: str | None = "suite",
    fullname: str | None = None,
) -> dict[str, Any]:
    """One ``benchmarks[]`` item as pytest-benchmark writes it, with a few positive samples."""
    samples = samples if samples is not None else [median * 0.98, median, median, median * 1.02]
    return {
        "group": group,
        "name": name,
        "fullname": fullname or f"tests/test_suite.py::{name}",
        "params": params,
        "param": None,
        "extra_info": extra_info or {},
        "options": {"disable_gc": False, "timer": "perf_counter", "min_rounds": 5, "warmup": False},
        "stats": {
            "min": min(samples, default=median),
            "max": max(samples, default=median),
            "mean": median,
            "stddev": median * 0.01,
            "rounds": len(samples),
            "median": median,
            "iqr": median * 0.02,
            "q1": median * 0.99,
            "q3": median * 1.01,
            "iterations": 1,
            "ops": 1 / median,
            "total": sum(samples),
            "data": samples,
        },
    }


def copy_bench(direction: str, nbytes: int, median: float, **extra: Any) -> dict[str, Any]:
    """A gpubench copy case (``extra_info.gpubench``), as the copy suite records it."""
    params = {"direction": direction, "host_memory": "pinned", "bytes": nbytes, **extra}
    case = "copy[" + ",".join(f"{key}={value}" for key, value in params.items()) + "]"
    item = bench(f"test_copy[{direction}-{nbytes}]", median, group="copy")
    item["extra_info"] = {
        "gpubench": {
            "suite": "copy",
            "case": case,
            "params": params,
            "metrics": {"gbps": nbytes / median / 1e9},
            "info": {},
            "ops_per_sample": 1,
            "clock": "host-perf_counter",
        }
    }
    return item


def document(
    *benchmarks: dict[str, Any],
    run_id: str | None = None,
    when: str | None = WHEN,
    skipped: list[Any] | None = None,
    hostname: str = "node1",
) -> dict[str, Any]:
    """A whole document; with ``run_id`` (or ``skipped``) it carries gpubench's run block."""
    data: dict[str, Any] = {
        "machine_info": {"node": hostname, "python_version": "3.12.0", "cpu": {"brand_raw": "a CPU"}},
        "commit_info": {"id": "abc123"},
        "benchmarks": list(benchmarks),
        "datetime": when,
        "version": "5.1.0",
    }
    if run_id is not None or skipped is not None:
        data["gpubench"] = {"run_id": run_id, "started_at": when, "profile": "quick", "skipped": skipped or []}
    return data


def write_json(data: Any, path: Path) -> Path:
    """``data`` as JSON (Python's, which may hold NaN and Infinity, as a careless writer's would)."""
    path.write_text(json.dumps(data))
    return path


def run_cli(*args: str) -> tuple[int, str, str]:
    """``gpubench ARGS`` in this process: (exit status, stdout, stderr). Fast enough for many cases."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli_main(list(args))
        except SystemExit as exit_:  # argparse
            status = exit_.code if isinstance(exit_.code, int) else 2
    return status, out.getvalue(), err.getvalue()


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) with its bytes."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_error_line(stderr: str) -> bool:
    return stderr.startswith("gpubench: error:") and stderr.count("\n") == 1


def copy_store(results: Path, tmp_path: Path, runs: int = 4, hosts: tuple[str, ...] = ("n1", "n2")) -> list[str]:
    """``runs`` copy runs (three cases each) over ``hosts``, ingested into ``results``; their ids."""
    ids = []
    for number in range(runs):
        run_id = f"run-{number + 1}"
        cases = [copy_bench("h2h", size, size / 4e9) for size in (4096, 65536, 1 << 20)]
        when = f"2026-11-{number + 1:02d}T00:30:00+00:00"
        data = document(*cases, run_id=run_id, when=when, hostname=hosts[number % len(hosts)])
        path = write_json(data, tmp_path / f"{run_id}.json")
        status, _, err = run_cli("ingest", str(path), "--results", str(results))
        assert status == 0, err
        ids.append(run_id)
    return ids


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    """Every entry under ``folder`` (links not followed): size and modification time."""
    if not folder.exists():
        return {}
    return {str(p): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def no_traceback(status: int, err: str) -> bool:
    """Exit 0 or 1, or 2 with one error line: never a traceback."""
    last = (err.splitlines() or [""])[-1] + "\n"
    return "Traceback" not in err and (status in (0, 1) or (status == 2 and one_error_line(last)))


@contextlib.contextmanager
def read_only(folder: Path):
    """``folder`` and every folder under it read-only while the block runs: modes for a user, the
    immutable attribute for root (which modes do not stop); the test is skipped where neither works."""
    import os
    import shutil
    import subprocess

    import pytest

    folders = [folder, *(p for p in folder.rglob("*") if p.is_dir() and not p.is_symlink())]
    if os.geteuid() != 0:
        modes = {path: path.stat().st_mode for path in folders}
        for path in folders:
            path.chmod(modes[path] & ~0o222)
        try:
            yield
        finally:
            for path in folders:
                path.chmod(modes[path])
        return
    if shutil.which("chattr") is None:
        pytest.skip("root ignores file modes and chattr is missing: no read-only store to test")
    frozen = []
    try:
        for path in folders:
            if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
                pytest.skip("root ignores file modes and this filesystem has no immutable attribute")
            frozen.append(path)
        yield
    finally:
        for path in frozen:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True)
