"""The one writer of gpubench's pytest-benchmark documents.

pytest-benchmark writes the document of a measured pytest session itself (the plugin only adds
the fingerprint and the ``gpubench`` block through its hooks). Every other document, a pytest
session whose cases were all skipped, or ranks launched by torchrun, is built and written here,
in the same shape, so that ingest cannot tell how the ranks were launched. JSON is strict: a
number that is not finite is written as ``null``.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gpubench.files import strict_json
from gpubench.files.safe import write_file
from gpubench.measure.result import CaseResult, case_name


def case_block(result: CaseResult) -> dict[str, Any]:
    """``extra_info["gpubench"]``: what identifies and describes a measured case."""
    return {
        "suite": result.suite,
        "case": result.case,
        "params": result.params,
        "metrics": result.metrics,
        "info": result.info,
        "ops_per_sample": result.measurement.ops_per_sample,
        "clock": result.measurement.clock,
    }


def benchmark_entry(result: CaseResult, *, name: str, fullname: str, timer: str) -> dict[str, Any]:
    """One ``benchmarks[]`` item for a case measured outside pytest, its samples as ``stats.data``."""
    m = result.measurement
    test_id = name.partition("[")[2].rstrip("]")
    return {
        "group": result.suite,
        "name": name,
        "fullname": fullname,
        "params": {"config": test_id},
        "param": test_id,
        "extra_info": {"gpubench": case_block(result)},
        "options": {"timer": timer, "warmup": False},
        "stats": {
            "min": m.min,
            "max": m.max,
            "mean": m.mean,
            "stddev": m.stddev,
            "rounds": m.n,
            "median": m.median,
            "iqr": m.iqr,
            "q1": m.q1,
            "q3": m.q3,
            "iterations": 1,
            "ops": 1 / m.mean if m.mean > 0 else 0.0,
            "total": sum(m.samples),
            "data": list(m.samples),
        },
    }


def skipped_entry(suite: str, params: dict[str, Any], reason: str, *, name: str, fullname: str) -> dict[str, Any]:
    """One item of the ``gpubench`` block's ``skipped`` list."""
    return {
        "suite": suite,
        "case": case_name(suite, params),
        "params": params,
        "name": name,
        "fullname": fullname,
        "reason": reason,
    }


def run_block(run_id: str, started_at: str, profile: str | None, measured: int, skipped: list[dict]) -> dict:
    """The document's ``gpubench`` block: the run's id, start, profile and skipped cases."""
    return {"run_id": run_id, "started_at": started_at, "profile": profile, "measured": measured, "skipped": skipped}


def run_document(
    benchmarks: list[dict[str, Any]],
    block: dict[str, Any],
    fingerprint: dict[str, Any],
    *,
    version: str = "gpubench",
) -> dict[str, Any]:
    """A whole pytest-benchmark-shaped document."""
    return {
        "machine_info": {"gpubench": fingerprint},
        "commit_info": {},
        "benchmarks": benchmarks,
        "datetime": datetime.now(timezone.utc).isoformat(),
        "version": version,
        "gpubench": block,
    }


def dumps(document: Any) -> str:
    """Strict JSON: NaN and infinities become ``null``; what JSON cannot hold becomes its text."""
    return strict_json.dumps(document)


def write_document(document: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``document`` to ``path`` atomically (a temporary file beside it, then a rename)."""
    target = Path(path)
    return write_file(target.parent, target.name, dumps(document))
