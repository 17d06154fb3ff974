"""verify's outcomes as a text table in the nccl-tests manner (every column named with its unit) or as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gpubench.measure.agreement import Check, Skip

COLUMNS = (
    ("suite", "{}"),
    ("case", "{}"),
    ("gpubench (us)", "{:.2f}"),
    ("reference (us)", "{:.2f}"),
    ("ratio", "{:.3f}"),
    ("ratio IQR (%)", "{:.1f}"),
    ("ref IQR (%)", "{:.1f}"),
    ("rounds", "{}"),
    ("verdict", "{}"),
)


def text(outcomes: Sequence[Check | Skip], tolerance: float, rounds: int) -> str:
    """The table, then one line per check that is not plainly ok, with its reason."""
    header = (
        f"# gpubench verify: ratio = median over {rounds} interleaved rounds of gpubench time / reference time; "
        f"tolerance {tolerance:.0%}; a reference is stable when its IQR/median < {tolerance / 2:.1%}"
    )
    cells = [[name for name, _ in COLUMNS]]
    for outcome in outcomes:
        cells.append(_row(outcome))
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = [header]
    for index, line in enumerate(cells):
        row = "  ".join(cell.ljust(width) if column < 2 else cell.rjust(width)
                        for column, (cell, width) in enumerate(zip(line, widths, strict=True)))  # fmt: skip
        lines.append(("# " if index == 0 else "  ") + row.rstrip())
    notes = [f"# {o.suite} {o.case}: {o.reason}" for o in outcomes if not (isinstance(o, Check) and o.status == "ok")]
    return "\n".join(lines + notes)


def _row(outcome: Check | Skip) -> list[str]:
    if isinstance(outcome, Skip):
        return [outcome.suite, outcome.case, "-", "-", "-", "-", "-", "-", outcome.status]
    values = (
        outcome.suite,
        outcome.case,
        outcome.gpubench_s * 1e6,
        outcome.reference_s * 1e6,
        outcome.ratio,
        outcome.ratio_spread * 100,
        outcome.reference_spread * 100,
        outcome.rounds,
        outcome.status,
    )
    return [fmt.format(value) for (_, fmt), value in zip(COLUMNS, values, strict=True)]


def as_json(outcomes: Sequence[Check | Skip], tolerance: float, run_id: str | None) -> dict[str, Any]:
    """``{"checks": [...]}``: one object per check, skipped ones with null figures and their reason."""
    return {"tolerance": tolerance, "run_id": run_id, "checks": [check_json(outcome) for outcome in outcomes]}


def check_json(outcome: Check | Skip) -> dict[str, Any]:
    if isinstance(outcome, Skip):
        return {
            "suite": outcome.suite,
            "case": outcome.case,
            "gpubench_s": None,
            "reference_s": None,
            "ratio": None,
            "within": None,
            "stable": None,
            "status": outcome.status,
            "reason": outcome.reason,
            "params": outcome.params,
        }
    return {
        "suite": outcome.suite,
        "case": outcome.case,
        "gpubench_s": outcome.gpubench_s,
        "reference_s": outcome.reference_s,
        "ratio": outcome.ratio,
        "within": outcome.within,
        "stable": outcome.stable,
        "status": outcome.status,
        "reason": outcome.reason,
        "ratio_of_medians": outcome.ratio_of_medians,
        "rule": outcome.rule,
        "tolerance": outcome.tolerance,
        "rounds": outcome.rounds,
        "reference_relative_iqr": outcome.reference_spread,
        "ratio_relative_iqr": outcome.ratio_spread,
        "gpubench_rounds_s": list(outcome.ours),
        "reference_rounds_s": list(outcome.reference),
        "gpubench_method": outcome.ours_method,
        "reference_method": outcome.reference_method,
        "params": outcome.params,
        "info": outcome.info,
    }
