#!/usr/bin/env python
"""gpu-check's per-step budget as a markdown table: each step's limit and GPU estimate (from the
registry, gpubench.suites.gpu_check) beside the time a gpu-check run measured for it (its
summary.log's "== STEP: ok after N s" lines), and the totals against the cap. SUMMARY_LOG:
results/gpu-check-<date>/summary.log.

    PYTHONPATH=src python scripts/gpu_check_budget.py SUMMARY_LOG [LABEL=SECONDS ...] [--title TEXT]

A ``LABEL=SECONDS`` argument gives a step's time measured apart (a step the run did not have);
``--title`` names the measured column (default: "measured (s)").
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from gpubench.suites.gpu_check import CAP_S, MARGIN_S, RESERVE_S, budgeted_s, steps

ENDED = re.compile(r"^== (?P<label>\S+): (?P<how>ok|TIMED OUT|exit \d+) after (?P<seconds>\d+) s")
NOT_RUN = re.compile(r"^== (?P<label>\S+): NOT RUN")


def measured(summary: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in summary.splitlines():
        if match := ENDED.match(line):
            how = "" if match["how"] == "ok" else f" ({match['how']})"
            found[match["label"]] = f"{match['seconds']}{how}"
        elif match := NOT_RUN.match(line):
            found[match["label"]] = "not run"
    return found


def table(summary: str, extra: dict[str, str] | None = None, title: str = "measured (s)") -> str:
    times = measured(summary) | (extra or {})
    rows = [f"| step | limit (s) | GPU estimate (s) | {title} |", "|---|---:|---:|---:|"]
    for step in steps():
        rows.append(f"| {step.label} | {step.limit_s} | {step.estimate_s} | {times.get(step.label, '-')} |")
    estimate = sum(step.estimate_s for step in steps())
    cpu = sum(int(value.split()[0]) for value in times.values() if value[:1].isdigit())
    rows.append(f"| **total** | **{budgeted_s()} + {RESERVE_S} reserve** | **{estimate}** | **{cpu}** |")
    rows.append("")
    rows.append(
        f"Limits (without the summary's reserve) add up to {budgeted_s()} s: the cap is {CAP_S} s, "
        f"less {RESERVE_S} s reserved for the summary and the last copy, less a {MARGIN_S} s margin."
    )
    return "\n".join(rows)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    arguments = sys.argv[2:]
    title = "measured (s)"
    if "--title" in arguments:
        at = arguments.index("--title")
        title = arguments[at + 1]
        del arguments[at : at + 2]
    apart = dict(argument.split("=", 1) for argument in arguments)
    extra = {label: f"{seconds} (measured apart)" for label, seconds in apart.items()}
    print(table(Path(sys.argv[1]).read_text(), extra, title))
