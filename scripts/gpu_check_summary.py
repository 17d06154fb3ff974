#!/usr/bin/env python
"""What a first GPU run must show, read back from gpu-check's store and its doctor capture.

The lines come from the suite registry: every suite that declares ``must_show`` (copies against
PCIe, conv flags, the collectives per transport, the spin kernel and every verify check), then the
doctor's findings (its counts, and each warning and error). Each line ends in OK, CHECK (the
figures say otherwise: look) or MISSING (no rows to judge, with the reason the store gives). Never
fails: it is the summary, not a gate.

    PYTHONPATH=src python scripts/gpu_check_summary.py RESULTS_DIR [DOCTOR_JSON]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from gpubench.store import read_results
from gpubench.suites.gpu_check import must_show_lines


def main(results: str, doctor_json: str | None = None) -> int:
    print("== what a first GPU run must show")
    try:
        frame = read_results(results)
    except Exception as error:  # no store at all: every suite's lines say MISSING
        print(f"store: MISSING, {type(error).__name__}: {error}")
        frame = pd.DataFrame()
    for line in must_show_lines(frame):
        print(line)
    for line in doctor_lines(doctor_json):
        print(line)
    return 0


def doctor_lines(path: str | None) -> list[str]:
    """The doctor's counts and its warnings and errors, from its ``--json`` capture."""
    if not path or not Path(path).is_file():
        return ["doctor: MISSING, no doctor --json capture"]
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        return [f"doctor: MISSING, unreadable capture: {error}"]
    counts = document.get("counts", {})
    lines = [
        f"doctor: {counts.get('error', 0)} error(s), {counts.get('warning', 0)} warning(s), "
        f"{counts.get('info', 0)} info: {'OK' if not counts.get('error') else 'CHECK'}"
    ]
    for finding in document.get("findings", []):
        if finding.get("severity") in ("error", "warning"):
            lines.append(f"doctor {finding['severity']}: {finding.get('check', '')}: {finding.get('message', '')}")
    return lines


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
