"""Rank 0's outcomes as case results: every (sweep, dtype, size, placement) measured or skipped.

``gpubench.pipeline.collectives_document`` turns them into the pytest-benchmark document that the
pytest plugin would have written, so the rows are the same whichever way the ranks were launched.
"""

from __future__ import annotations

from typing import Any

from gpubench.measure.result import CaseResult, CaseSkipped
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
