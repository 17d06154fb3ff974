"""Change points already found, per machine, so that ``history`` and the nightly stay fast.

``<results>/cache/changepoints/<machine>-<digest>.json`` holds, per case, the change points of
its history with a key: the last run id, the number of runs and a digest of every run id, of the
nightly's marks on them and of the method's settings. The store is append-only, so an unchanged
key means an unchanged answer. The file name carries a digest of the machine key, so machines
whose names read alike once made file-safe (``node 1``, ``node_1``, ``节点``, ``ノード``) keep
files of their own. Files go through the store's cache calls (``Location.read_cache`` and
``write_cache``): never through a link, replaced whole; an unreadable, foreign or damaged file
or entry is recomputed (said once), and a store that cannot be written is not cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from typing import Any

from gpubench.files.safe import slug
from gpubench.files.terminal import printable
from gpubench.store.location import Location, locate

CACHE_DIR = ("cache", "changepoints")
VERSION = 2


class Cache:
    def __init__(self, results_dir: str | os.PathLike | Location | None) -> None:
        if results_dir is None or isinstance(results_dir, Location):
            self.location = results_dir
        else:
            self.location = locate(results_dir)
        self.machines: dict[str, dict[str, Any]] = {}
        self.changed: set[str] = set()
        self.said: set[str] = set()

    def get(self, machine: str, case: str, key: dict[str, Any]) -> Any:
        entry = self._machine(machine).get(case)
        return entry.get("change_points") if isinstance(entry, dict) and entry.get("key") == key else None

    def put(self, machine: str, case: str, key: dict[str, Any], change_points: list[dict]) -> None:
        self._machine(machine)[case] = {"key": key, "change_points": change_points}
        self.changed.add(machine)

    def damaged(self, machine: str, error: Exception) -> None:
        """An entry that does not decode: recomputed, and said once per machine."""
        if machine not in self.said and self.location is not None:
            self.said.add(machine)
            path = self.location.join(*CACHE_DIR, file_name(machine))
            why = " ".join(f"{type(error).__name__}: {error}".split())[:120]
            print(f"gpubench: warning: {printable(path)}: a damaged change-point entry ({printable(why)}); "
                  "recomputed", file=sys.stderr)  # fmt: skip

    def save(self) -> None:
        if self.location is None:
            return
        for machine in sorted(self.changed):
            document = {"version": VERSION, "machine": machine, "cases": self.machines[machine]}
            data = json.dumps(document, allow_nan=False).encode("utf-8")
            if self.location.write_cache((*CACHE_DIR, file_name(machine)), data) is None:
                return  # a read-only store, or a link in the way: answers are recomputed next time
        self.changed.clear()

    def _machine(self, machine: str) -> dict[str, Any]:
        if machine not in self.machines:
            self.machines[machine] = _read(self.location, machine) if self.location is not None else {}
        return self.machines[machine]


def file_name(machine: str) -> str:
    """``<slug>-<digest>.json``: file-safe, and one file per machine key whatever its characters."""
    digest = hashlib.sha256(machine.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{slug(machine)[:60]}-{digest}.json"


def case_key(run_ids: list[str], marks: list[str | None], settings: dict[str, Any]) -> dict[str, Any]:
    digest = hashlib.sha256(json.dumps([VERSION, settings, run_ids, marks]).encode()).hexdigest()[:20]
    return {"last_run_id": run_ids[-1] if run_ids else None, "runs": len(run_ids), "digest": digest}


def _read(location: Location, machine: str) -> dict[str, Any]:
    data = location.read_cache(*CACHE_DIR, file_name(machine))
    if data is None:
        return {}
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return {}
    ok = isinstance(document, dict) and document.get("version") == VERSION and document.get("machine") == machine
    return document.get("cases", {}) if ok and isinstance(document.get("cases"), dict) else {}
