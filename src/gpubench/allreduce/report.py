"""Rank 0's results as a pytest-benchmark document, stored exactly like a pytest run.

Outside pytest (torchrun, ``gpubench allreduce``) rank 0 builds the same JSON the pytest plugin
writes (``benchmarks[]`` with the per-loop samples as ``stats.data``, ``extra_info["gpubench"]``,
the fingerprint in ``machine_info``, skipped cases with their reasons in the ``gpubench`` block)
and ingests it, so the parquet rows have the same columns whichever way the ranks were launched.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gpubench.allreduce.spec import SweepOutcome
from gpubench.cases.allreduce import SUITE, case_params, case_result
from gpubench.env import fingerprint
from gpubench.result import CaseResult, CaseSkipped, case_name
from gpubench.store import IngestedRun, ingest, new_run_id

Skip = tuple[dict[str, Any], str]  # (params, reason)


def collect(outcomes: list[SweepOutcome], launcher: str) -> tuple[list[CaseResult], list[Skip]]:
    """Every (sweep, dtype, size): a measured CaseResult, or its params and why it was skipped."""
    results, skipped = [], []
    for outcome in outcomes:
        for dtype in outcome.sweep.dtypes:
            for nbytes in outcome.sweep.sizes:
                try:
                    results.append(case_result(outcome, dtype, nbytes, launcher))
                except CaseSkipped as skip:
                    skipped.append((case_params(outcome.sweep, outcome.nodes, dtype, nbytes), skip.reason))
    return results, skipped


def benchmark_document(results: list[CaseResult], skipped: list[Skip], profile: str | None) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    return {
        "machine_info": {"gpubench": fingerprint(profile)},
        "commit_info": {},
        "benchmarks": [_benchmark(result) for result in results],
        "datetime": now.isoformat(),
        "version": "gpubench.allreduce",
        "gpubench": {
            "run_id": new_run_id(now),
            "started_at": now.isoformat(),
            "profile": profile,
            "measured": len(results),
            "skipped": [_skipped(params, reason) for params, reason in skipped],
        },
    }


def store_document(
    document: dict[str, Any], results_dir: str | os.PathLike, json_copy: str | None = None
) -> IngestedRun:
    """Ingest ``document`` into the store and keep the JSON under ``<results>/json/<run id>.json``."""
    results = Path(results_dir)
    results.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=2, default=str)
    with tempfile.TemporaryDirectory(prefix=".gpubench-run-", dir=results) as scratch:
        path = Path(scratch) / "benchmark.json"
        path.write_text(text)
        stored = ingest(path, results)
        archive = results / "json"
        archive.mkdir(exist_ok=True)
        os.replace(path, archive / f"{stored.run_id}.json")
    if json_copy:
        Path(json_copy).write_text(text)
    return stored


def _test_id(params: dict[str, Any]) -> str:
    return "-".join(str(value) for value in params.values())  # as benchmarks/test_allreduce.py ids cases


def _benchmark(result: CaseResult) -> dict[str, Any]:
    m = result.measurement
    name = f"test_allreduce[{_test_id(result.params)}]"
    return {
        "group": SUITE,
        "name": name,
        "fullname": f"gpubench.allreduce::{name}",
        "params": {"config": _test_id(result.params)},
        "param": _test_id(result.params),
        "extra_info": {
            "gpubench": {
                "suite": result.suite,
                "case": result.case,
                "params": result.params,
                "metrics": result.metrics,
                "info": result.info,
                "ops_per_sample": m.ops_per_sample,
                "clock": m.clock,
            }
        },
        "options": {"timer": "gpubench.allreduce (samples measured by the ranks)", "warmup": False},
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


def _skipped(params: dict[str, Any], reason: str) -> dict[str, Any]:
    name = f"test_allreduce[{_test_id(params)}]"
    return {
        "suite": SUITE,
        "case": case_name(SUITE, params),
        "params": params,
        "name": name,
        "fullname": f"gpubench.allreduce::{name}",
        "reason": reason,
    }
