"""verify's checks as rows of the store: suite ``verify``, one row per check, the ratio as headline.

Each check is a case whose samples are gpubench's per-round seconds and whose metrics hold the
ratio, both medians and both spreads; a skipped check is a skipped case with its reason. Suite
``verify`` is not judged (``Suite.judged``): the nightly and "the latest run" leave it out, and
``gpubench history`` shows the ratio over time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from gpubench.machine.fingerprint import fingerprint
from gpubench.measure.agreement import Check, Skip
from gpubench.measure.result import CaseResult
from gpubench.measure.stats import Measurement
from gpubench.pipeline import store_document
from gpubench.run.document import benchmark_entry, run_block, run_document, skipped_entry
from gpubench.run.run_id import new_run_id
from gpubench.store.ingest import IngestedRun

SUITE = "verify"


def document(outcomes: Sequence[Check | Skip]) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    checks = [outcome for outcome in outcomes if isinstance(outcome, Check)]
    skips = [outcome for outcome in outcomes if isinstance(outcome, Skip)]
    benchmarks = [benchmark_entry(case_result(check), timer="gpubench verify", **_names(check)) for check in checks]
    skipped = [skipped_entry(SUITE, _params(skip), skip.reason, **_names(skip)) for skip in skips]
    block = run_block(new_run_id(now), now.isoformat(), None, len(checks), skipped)
    return run_document(benchmarks, block, fingerprint(None), version="gpubench.verify")


def store(outcomes: Sequence[Check | Skip], results_dir: str | os.PathLike) -> IngestedRun:
    return store_document(document(outcomes), results_dir)


def case_result(check: Check) -> CaseResult:
    metrics = {
        "ratio": check.ratio,
        "ratio_of_medians": check.ratio_of_medians,
        "gpubench_s": check.gpubench_s,
        "reference_s": check.reference_s,
        "reference_relative_iqr": check.reference_spread,
        "ratio_relative_iqr": check.ratio_spread,
        "tolerance": check.tolerance,
    }
    info = {
        "within": check.within,
        "stable": check.stable,
        "verdict": check.status,
        "reason": check.reason,
        "rule": check.rule,
        "gpubench_method": check.ours_method,
        "reference_method": check.reference_method,
        "target_params": json.dumps(check.params, sort_keys=True, default=str),
        "reference_rounds_s": json.dumps(list(check.reference)),
        **{f"check_{key}": value for key, value in check.info.items()},
    }
    measurement = Measurement(check.ours, ops_per_sample=1, clock="verify-rounds")
    return CaseResult(SUITE, _params(check), measurement, metrics, info)


def _params(outcome: Check | Skip) -> dict[str, str]:
    return {"target": outcome.suite, "check": outcome.case}


def _names(outcome: Check | Skip) -> dict[str, str]:
    name = f"verify[{outcome.suite}-{outcome.case.replace(' ', '_')}]"
    return {"name": name, "fullname": f"gpubench.verify::{name}"}
