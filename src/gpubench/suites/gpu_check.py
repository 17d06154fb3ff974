"""What scripts/gpu-check.sh runs, in order, with each step's time limit: read from the suite registry.

Every registered suite declares the steps it needs (``Suite.gpu_check``, ``GpuCheckStep``) and the
lines its rows must show (``Suite.must_show``); this module adds the steps no suite owns (the
environment, the GPU-only unit tests, the doctor, the summary) and orders them: environment,
``verify``-phase steps, unit tests, ``measure``-phase steps, doctor, summary. A step is one process
that stores what it measured before it exits (one ``gpubench run``, one ``gpubench verify``, one
flag combination of conv, one collective), so a step stopped at its limit loses only its own
unfinished part; and a step's SIGTERM at its limit stops its run, which stores its finished cases
and the rest as "not run" (gpubench.run.stopping), so even that part is mostly kept. The limits
add up to no more than ``CAP_S - RESERVE_S - MARGIN_S`` (tests/test_gpu_check.py): no step can
starve a later one. docs/gpu-check.md has each step's time measured on the first lent H200 and
its estimate.

    python -m gpubench.suites.gpu_check --store DIR --ranks N   # one step a line: label, limit, tail, command
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from gpubench.suites import SUITES, GpuCheckStep, resolve

CAP_S = 400  # scripts/gpu-check.sh's GPU_CHECK_TOTAL_S: with the machine's start, a rerun still fits a 15-minute loan
RESERVE_S = 20  # kept for the summary and the last copy into $OUT
MARGIN_S = 20  # slack between the limits' sum and what the cap leaves

# The GPU-only unit tests (they skip elsewhere): the CUDA clock and the copy case on a GPU. The conv
# case's GPU tests (tests/test_conv_case.py, tests/test_conv_worker.py) are left to a longer loan:
# on the first H200 their profiler passes took over 10 s, and the conv steps run the same code.
UNIT_TESTS = ("tests/test_timing.py", "tests/test_copy_case.py")

ENV = GpuCheckStep("env", ("{python}", "-m", "gpubench", "env"), 10, 6, phase="first", tail=40)
UNIT = GpuCheckStep(
    "unit-tests-gpu",
    ("{python}", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", *UNIT_TESTS, "-k", "cuda or gpu"),
    15,
    12,
    phase="unit",
    tail=15,
)
DOCTOR = GpuCheckStep("doctor", ("bash", "-c", "doctor_report"), 10, 5, phase="last", tail=30)
MUST_SHOW = GpuCheckStep(
    "must-show",
    ("{python}", "scripts/gpu_check_summary.py", "{store}", "{out}/doctor.json"),
    RESERVE_S,
    2,
    phase="summary",
    tail=80,
)
PHASES = ("first", "verify", "unit", "measure", "last", "summary")


def steps() -> list[GpuCheckStep]:
    """Every step, in the order the check runs them (the summary last, inside the reserve)."""
    declared = [step for suite in SUITES.values() for step in suite.gpu_check]
    unknown = sorted({step.phase for step in declared} - {"verify", "measure"})
    if unknown:
        raise ValueError(f"a suite declares gpu-check steps of unknown phase {', '.join(unknown)}")
    every = [ENV, *declared, UNIT, DOCTOR, MUST_SHOW]
    labels = [step.label for step in every]
    if len(set(labels)) != len(labels):
        raise ValueError(f"gpu-check step labels must be unique, got {labels}")
    return sorted(every, key=lambda step: PHASES.index(step.phase))  # stable: registry order within a phase


def budgeted_s() -> int:
    """What the limits of every step but the summary add up to (the summary runs in the reserve)."""
    return sum(step.limit_s for step in steps() if step.phase != "summary")


def must_show_lines(frame: Any) -> list[str]:
    """Every suite's must-show lines for ``frame`` (a store read back, a DataFrame), each reference once."""
    references = dict.fromkeys(suite.must_show for suite in SUITES.values() if suite.must_show)
    return [line for reference in references for line in resolve(reference)(frame)]


def command(step: GpuCheckStep, *, python: str, store: str, out: str, ranks: int) -> str:
    """The step's command line, its placeholders filled, quoted for ``bash -c``."""
    values = {"python": python, "store": store, "out": out, "ranks": str(ranks)}
    return shlex.join(part.format(**values) for part in step.command)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="print gpu-check's steps: label, limit (s), tail lines, command")
    parser.add_argument("--store", required=True)
    parser.add_argument("--out", required=True, help="the check's results folder (doctor.json goes there)")
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args(argv)
    for step in steps():
        line = command(step, python=args.python, store=args.store, out=args.out, ranks=args.ranks)
        print(f"{step.label}\t{step.limit_s}\t{step.tail}\t{line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
