"""How long each case took on this machine last time: what the progress display estimates from.

``<results>/progress/<machine>.json`` maps a case (pytest's node id) to the wall seconds of its
latest run on that machine (``<GPU model> @ <host>``, the store's machine key). A run updates the
cases it ran and keeps the others, so a run of one suite does not forget the rest. The figures
only estimate the time left; nothing is judged from them, and a missing or damaged file means
"no estimate from history", never an error.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from gpubench.files.safe import safe_folder, slug, write_file

FOLDER = "progress"


def path_for(results: str | os.PathLike, machine: str) -> Path:
    return Path(results) / FOLDER / f"{slug(machine) or 'unknown'}.json"


def previous_times(results: str | os.PathLike, machine: str) -> dict[str, float]:
    """Case -> seconds from this machine's earlier runs; empty when there is none (or it is unreadable)."""
    try:
        document = json.loads(path_for(results, machine).read_text())
    except (OSError, ValueError):
        return {}
    cases = document.get("cases") if isinstance(document, dict) else None
    if not isinstance(cases, dict):
        return {}
    return {
        str(case): float(seconds)
        for case, seconds in cases.items()
        if isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds >= 0
    }


def save_times(results: str | os.PathLike, machine: str, times: dict[str, float]) -> Path | None:
    """Merge ``times`` into this machine's file (written whole, atomically); None when nothing to save."""
    if not times:
        return None
    merged = {**previous_times(results, machine), **times}
    document = {"machine": machine, "cases": dict(sorted(merged.items()))}
    return write_file(safe_folder(results, FOLDER), path_for(results, machine).name, json.dumps(document, indent=1))
