"""Time ``gpubench history --case PATTERN`` (issue 17, class 12) on a store, in a fresh process.

    python scripts/case_pattern_timing.py STORE [--src SRC] [--limit 120] ['*X' '***X' '****X']

Prints, per pattern, the wall time of the command (or that it passed ``--limit`` seconds and was
killed) and its exit status. ``--src`` runs another checkout's code (the figures before a change).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("patterns", nargs="*", default=["*X", "***X", "****X"])
    parser.add_argument("--src", type=Path, default=REPO / "src")
    parser.add_argument("--limit", type=float, default=120.0)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(args.src))
    for pattern in args.patterns:
        command = [sys.executable, "-m", "gpubench", "history", "--case", pattern, "--results", str(args.store),
                   "--out", str(args.store.parent / "png")]  # fmt: skip
        started = time.monotonic()
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=args.limit)
            outcome = f"exit {done.returncode}"
        except subprocess.TimeoutExpired:
            outcome = "killed"
        print(f"{pattern!r}: {time.monotonic() - started:.1f} s ({outcome})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
