"""What to do after a run: where its figures are, how to compare it with this machine's previous
run, and the site (``gpubench site``) where that command exists. Printed at the end of ``gpubench
run`` and ``gpubench nightly``."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from gpubench.store.read import list_runs


def previous_run(results: str | os.PathLike, run_id: str) -> str | None:
    """The latest earlier run of the same machine sharing a suite with ``run_id``; None when none."""
    runs = list_runs(results)
    this = runs[runs["run_id"] == run_id]
    if this.empty:
        return None
    suites = set(str(this["suites"].iloc[0]).split(","))
    earlier = runs[(runs["machine"] == this["machine"].iloc[0]) & (runs["run_id"] != run_id)]
    shares = earlier["suites"].map(lambda text: bool(suites & set(str(text).split(",")))).astype(bool)
    earlier = earlier[shares]
    earlier = earlier[earlier["started_at"].astype(str) < str(this["started_at"].iloc[0])]
    return None if earlier.empty else str(earlier["run_id"].iloc[-1])


def next_steps(results: str | os.PathLike, run_id: str, plots: list[Path], site: bool) -> list[str]:
    """A few lines: figures, the compare command, the site command (``site``: it exists)."""
    store = shlex.quote(str(results))
    lines = ["next:"]
    if plots:
        lines.append(f"  figures: {Path(plots[0]).parent}/ ({len(plots)} PNG)")
    before = previous_run(results, run_id)
    if before:
        lines.append(f"  compare with the previous run: gpubench compare {before} {run_id} --results {store}")
    else:
        lines.append(f"  compare: no earlier run of this machine in {results}; the next run compares with {run_id}")
    if site:
        lines.append(f"  browse every run: gpubench site --results {store}")
    return lines
