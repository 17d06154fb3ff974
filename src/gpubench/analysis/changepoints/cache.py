"""Change points already found, per machine, so that ``history`` and the nightly stay fast.

``<results>/cache/changepoints/<machine>.json`` holds, per case, the change points of its
history with a key: the last run id, the number of runs and a digest of every run id, of the
nightly's marks on them and of the method's settings. The store is append-only, so an unchanged
key means an unchanged answer. Files are replaced atomically (``safe_files.write_file``); an
unreadable or foreign file is ignored, and a store that cannot be written to is not cached.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from gpubench.files.safe import safe_folder, slug, write_file

CACHE_DIR = Path("cache") / "changepoints"
VERSION = 1


class Cache:
    def __init__(self, results_dir: str | os.PathLike | None) -> None:
        self.folder = Path(results_dir) / CACHE_DIR if results_dir is not None else None
        self.machines: dict[str, dict[str, Any]] = {}
        self.changed: set[str] = set()

    def get(self, machine: str, case: str, key: dict[str, Any]) -> list[dict] | None:
        entry = self._machine(machine).get(case)
        return entry["change_points"] if entry and entry.get("key") == key else None

    def put(self, machine: str, case: str, key: dict[str, Any], change_points: list[dict]) -> None:
        self._machine(machine)[case] = {"key": key, "change_points": change_points}
        self.changed.add(machine)

    def save(self) -> None:
        if self.folder is None:
            return
        for machine in sorted(self.changed):
            document = {"version": VERSION, "machine": machine, "cases": self.machines[machine]}
            try:
                folder = safe_folder(self.folder.parent, self.folder.name)
                write_file(folder, f"{slug(machine)}.json", json.dumps(document, allow_nan=False))
            except OSError:
                return  # a read-only store: answers are recomputed next time
        self.changed.clear()

    def _machine(self, machine: str) -> dict[str, Any]:
        if machine not in self.machines:
            self.machines[machine] = _read(self.folder / f"{slug(machine)}.json", machine) if self.folder else {}
        return self.machines[machine]


def case_key(run_ids: list[str], marks: list[str | None], settings: dict[str, Any]) -> dict[str, Any]:
    digest = hashlib.sha256(json.dumps([VERSION, settings, run_ids, marks]).encode()).hexdigest()[:20]
    return {"last_run_id": run_ids[-1] if run_ids else None, "runs": len(run_ids), "digest": digest}


def _read(path: Path, machine: str) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    ok = isinstance(document, dict) and document.get("version") == VERSION and document.get("machine") == machine
    return document.get("cases", {}) if ok and isinstance(document.get("cases"), dict) else {}
