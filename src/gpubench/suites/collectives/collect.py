"""Rank 0's outcomes as a pytest-benchmark document, stored exactly like a pytest run.

Outside pytest (torchrun, ``gpubench allreduce``) rank 0 builds the same JSON the pytest plugin
writes (``benchmarks[]`` with the per-loop samples as ``stats.data``, ``extra_info["gpubench"]``,
the fingerprint in ``machine_info``, skipped cases with their reasons in the ``gpubench`` block)
through gpubench.document, so the parquet rows have the same columns and case names whichever way
the ranks were launched.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from gpubench.document import benchmark_entry, run_block, run_document, skipped_entry
from gpubench.env import fingerprint
from gpubench.result import CaseResult, CaseSkipped
from gpubench.store import new_run_id
from gpubench.suites.collectives.case import case_params, case_result
from gpubench.suites.collectives.spec import SweepOutcome, collective

Skip = tuple[str, dict[str, Any], str]  # (suite, params, reason)


def collect(outcomes: list[SweepOutcome], launcher: str) -> tuple[list[CaseResult], list[Skip]]:
    """Every (sweep, dtype, size, placement): a measured CaseResult, or its suite, params and skip reason."""
    results, skipped = [], []
    for outcome in outcomes:
        module = collective(outcome.sweep.collective)
        for dtype in outcome.sweep.dtypes:
            for nbytes in outcome.sweep.sizes:
                for in_place in outcome.sweep.placements or module.PLACEMENTS:
                    try:
                        results.append(case_result(outcome, dtype, nbytes, in_place, launcher))
                    except CaseSkipped as skip:
                        params = case_params(outcome.sweep, outcome.nodes, dtype, nbytes, in_place)
                        skipped.append((module.SUITE, params, skip.reason))
    return results, skipped


def benchmark_document(results: list[CaseResult], skipped: list[Skip], profile: str | None) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    block = run_block(
        new_run_id(now),
        now.isoformat(),
        profile,
        len(results),
        [skipped_entry(suite, params, reason, **_names(suite, params)) for suite, params, reason in skipped],
    )
    timer = "gpubench.suites.collectives (samples measured by the ranks)"
    benchmarks = [benchmark_entry(result, timer=timer, **_names(result.suite, result.params)) for result in results]
    return run_document(benchmarks, block, fingerprint(profile), version="gpubench.suites.collectives")


def _names(suite: str, params: dict[str, Any]) -> dict[str, str]:
    # as benchmarks/test_<suite>.py ids its cases
    name = f"test_{suite}[{'-'.join(str(value) for value in params.values())}]"
    module = "gpubench.allreduce" if suite == "allreduce" else "gpubench.collectives"  # allreduce: as it always was
    return {"name": name, "fullname": f"{module}::{name}"}
