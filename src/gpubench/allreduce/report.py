"""Rank 0's results as a pytest-benchmark document, stored exactly like a pytest run.

Outside pytest (torchrun, ``gpubench allreduce``) rank 0 builds the same JSON the pytest plugin
writes (``benchmarks[]`` with the per-loop samples as ``stats.data``, ``extra_info["gpubench"]``,
the fingerprint in ``machine_info``, skipped cases with their reasons in the ``gpubench`` block)
and ingests it, so the parquet rows have the same columns whichever way the ranks were launched.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from gpubench.allreduce.spec import SweepOutcome
from gpubench.cases.allreduce import SUITE, case_params, case_result
from gpubench.document import benchmark_entry, run_block, run_document, skipped_entry
from gpubench.env import fingerprint
from gpubench.result import CaseResult, CaseSkipped
from gpubench.store import new_run_id

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
    block = run_block(
        new_run_id(now),
        now.isoformat(),
        profile,
        len(results),
        [skipped_entry(SUITE, params, reason, **_names(params)) for params, reason in skipped],
    )
    timer = "gpubench.allreduce (samples measured by the ranks)"
    benchmarks = [benchmark_entry(result, timer=timer, **_names(result.params)) for result in results]
    return run_document(benchmarks, block, fingerprint(profile), version="gpubench.allreduce")


def _names(params: dict[str, Any]) -> dict[str, str]:
    # as benchmarks/test_allreduce.py ids its cases
    name = f"test_allreduce[{'-'.join(str(value) for value in params.values())}]"
    return {"name": name, "fullname": f"gpubench.allreduce::{name}"}
