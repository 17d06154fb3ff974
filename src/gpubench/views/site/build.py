"""Build the site: load the store once, render every page, write only the pages whose content changed.

``<site>/.gpubench-site.json`` (the manifest) holds each page's digest and, for each run page,
the key of what it was made from (the run file's stamp; whether its nightly verdicts, report,
raw JSON and figures exist, with their stamps). A rebuild renders the overview, fleet, verify,
feed, machine and case pages from the store (their figures come from the caches the store keeps:
the runs index, the figures cache, the change points cache) and writes a page only when its
digest changed; a run page is rendered only when its key changed, since a stored run never
changes. Pages the site no longer has (a run gone from the store) are removed, and only those
the manifest names: nothing else in the folder is touched. Each file is written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from gpubench.files.safe import safe_folder, safe_path, write_file
from gpubench.store.location import locate
from gpubench.store.read import read_files
from gpubench.store.schema import StoreError
from gpubench.views.site import assets, case, feed, fleet, machine, overview, paths, run, verify
from gpubench.views.site.data import SiteData, load

MANIFEST = ".gpubench-site.json"
RUN_BATCH = 100  # run files read at once for their pages
VERSION = 1


@dataclass
class Built:
    out: Path
    pages: int = 0
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def unchanged(self) -> int:
        return self.pages - len(self.written)


class _Writer:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.old = _read_manifest(out)
        self.pages: dict[str, str] = {}
        self.runs: dict[str, str] = dict(self.old.get("runs", {}))
        self.written: list[str] = []

    def put(self, path: str, content: str | bytes) -> None:
        data = content.encode() if isinstance(content, str) else content
        digest = hashlib.sha256(data).hexdigest()
        self.pages[path] = digest
        if self.old.get("pages", {}).get(path) == digest and (self.out / path).is_file():
            return
        *folders, name = path.split("/")
        write_file(safe_folder(self.out, *folders), name, data)
        self.written.append(path)

    def keep(self, path: str) -> bool:
        """Keep a page as it is (its inputs are unchanged); False when it has to be made again."""
        digest = self.old.get("pages", {}).get(path)
        if digest is None or not (self.out / path).is_file():
            return False
        self.pages[path] = digest
        return True

    def finish(self) -> list[str]:
        removed = []
        for path in sorted(set(self.old.get("pages", {})) - set(self.pages)):
            target = self.out / path
            if target.is_file() and not target.is_symlink():
                target.unlink()
                removed.append(path)
        live = {path.removeprefix("runs/").removesuffix(".html") for path in self.pages if path.startswith("runs/")}
        self.runs = {
            run_id: key for run_id, key in self.runs.items() if paths.run_page(run_id) in self.pages or run_id in live
        }
        document = {"version": VERSION, "pages": self.pages, "runs": self.runs}
        write_file(self.out, MANIFEST, json.dumps(document, sort_keys=True))
        return removed


def build_site(results: str | os.PathLike, out: str | os.PathLike, now: pd.Timestamp | None = None) -> Built:
    """Write the site for the store at ``results`` into ``out`` (created as needed)."""
    started = time.perf_counter()
    location = locate(results)
    if location.is_local and not Path(location.root).is_dir():
        raise StoreError(f"no results store at {results}")
    data = load(results, now)
    out = safe_folder(Path(out))
    writer = _Writer(out)
    assets.copy_plotly(out)
    for name, content in assets.own_assets().items():
        writer.put(f"{assets.FOLDER}/{name}", content)
    writer.put(overview.PATH, overview.render(data))
    writer.put(fleet.PATH, fleet.render(data))
    writer.put(verify.PATH, verify.render(data))
    writer.put(feed.PATH, feed.render(data))
    _case_and_machine_pages(data, writer)
    _run_pages(data, writer, out)
    removed = writer.finish()
    return Built(out, len(writer.pages), writer.written, removed, time.perf_counter() - started)


def _case_and_machine_pages(data: SiteData, writer: _Writer) -> None:
    history = data.history
    gpu = {str(m): str(g or "no GPU") for m, g in zip(data.runs["machine"], data.runs["gpu_name"], strict=True)}
    points = defaultdict(list)
    for point in data.change_points or []:
        points[(point.machine, point.suite, point.case)].append(point)
    by_case: dict[tuple[str, str], dict[str, pd.DataFrame]] = defaultdict(dict)
    groups = list(history.groupby(["machine", "suite", "case"], sort=False)) if not history.empty else []
    for (machine_name, suite, case_name), rows in groups:
        by_case[(suite, case_name)][machine_name] = rows
    listed: dict[str, list] = defaultdict(list)
    for (machine_name, suite, case_name), rows in groups:
        peers = {
            m: r
            for m, r in by_case[(suite, case_name)].items()
            if m != machine_name and gpu.get(m) == gpu.get(machine_name)
        }
        here = points.get((machine_name, suite, case_name), [])
        content = case.render(data, machine_name, suite, case_name, rows, peers, here)
        writer.put(paths.case_page(machine_name, suite, case_name), content)
        last = rows["value"].iloc[-1]
        listed[machine_name].append(
            (suite, case_name, str(rows["metric"].iloc[-1]), float(last) * case.scale_of(str(rows["metric"].iloc[-1])))
        )
    for machine_name in data.machines():
        writer.put(paths.machine_page(machine_name), machine.render(data, machine_name, listed.get(machine_name, [])))


def _run_key(data: SiteData, entry: dict) -> str:
    run_id = str(entry["run_id"])
    parts = [VERSION, str(entry["file"]), int(entry["size"]), str(entry["modified"]), str(entry["machine"])]
    if data.local is not None:
        for path in (
            data.local / "nightly" / run_id / "verdicts.json",
            data.local / "nightly" / run_id / "accepted.json",
            data.nightly_report(run_id),
            data.raw_json(run_id),
            *data.plots(run_id),
        ):
            parts.append(_stamp(path))
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def _run_pages(data: SiteData, writer: _Writer, out: Path) -> None:
    todo = []
    for entry in data.runs.to_dict("records"):
        run_id = str(entry["run_id"])
        key = _run_key(data, entry)
        if writer.runs.get(run_id) == key and writer.keep(paths.run_page(run_id)):
            continue
        todo.append((run_id, key))
    if not todo or data.index is None:
        return
    keys = dict(todo)
    wanted = data.runs[data.runs["run_id"].astype(str).isin(set(keys))]
    shown = pc.field("status").isin(["ok", "skipped"])
    for start in range(0, len(wanted), RUN_BATCH):  # a batch of run files at a time: bounded memory
        frame = read_files(data.index, wanted.iloc[start : start + RUN_BATCH], run.columns_needed(), shown)
        frame = frame.dropna(axis=1, how="all")
        ids = frame["run_id"].astype(str).to_numpy()
        order = np.argsort(ids, kind="stable")  # each run's rows side by side, in their stored order
        frame, ids = frame.take(order), ids[order]
        columns = {name: frame[name].tolist() for name in frame.columns}  # boxed once per batch
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        for start, stop in zip(starts, [*starts[1:], len(ids)], strict=True):
            run_id = str(ids[start])
            rows = {name: values[start:stop] for name, values in columns.items()}
            figures = _copy_figures(data, run_id, out)
            writer.put(paths.run_page(run_id), run.render(data, run_id, rows, figures, out))
            writer.runs[run_id] = keys[run_id]


def _copy_figures(data: SiteData, run_id: str, out: Path) -> list[str]:
    """The run's PNGs, copied into ``<site>/runs/<run id>/`` (paths from the site root)."""
    copied = []
    for path in data.plots(run_id):
        folder = safe_folder(out, "runs", paths.run_page(run_id).removeprefix("runs/").removesuffix(".html"))
        target = safe_path(folder, path.name)
        if not target.is_file() or target.stat().st_size != path.stat().st_size:
            shutil.copyfile(path, target)
        copied.append(target.relative_to(out).as_posix())
    return copied


def _stamp(path: Path | None) -> str:
    if path is None:
        return "-"
    try:
        stat = path.stat()
    except OSError:
        return "-"
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _read_manifest(out: Path) -> dict:
    try:
        document = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) and document.get("version") == VERSION else {}
