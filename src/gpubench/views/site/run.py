"""A run's page: its summary tables per suite (the nccl-tests-style columns of ``views.tables``),
its figures, its skipped cases with their reasons, its fingerprint, and links to its nightly
report and its raw JSON. A run never changes once stored, so its page is built once (``build``
keys it by the run file's stamp and whether a nightly report or verdicts appeared since)."""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import pandas as pd

from gpubench import suites
from gpubench.suites import Column
from gpubench.views.site import paths
from gpubench.views.site.data import SiteData
from gpubench.views.site.markup import link, page, table, text
from gpubench.views.tables import COMMON_TAIL, SECONDS_SHOWN_IN_US

FINGERPRINT = (
    "gpu_name",
    "gpu_uuid",
    "gpu_memory_bytes",
    "hostname",
    "torch_version",
    "cuda_version",
    "cudnn_version",
    "nccl_version",
    "driver_version",
    "cuda_driver_version",
    "gpu_count",
    "pcie_gen_current",
    "pcie_width_current",
    "pcie_gen_max",
    "pcie_width_max",
    "cpu_model",
    "cpu_count",
    "platform",
    "python_version",
    "torch_num_threads",
    "git_commit",
    "profile",
    "nvml_available",
    "nvml_unavailable_reason",
    "cuda_available",
    "cuda_unavailable_reason",
)


def columns_needed(frame_columns: set[str] | None = None) -> list[str]:
    """What a run page reads of a run's rows: every suite's table columns, skips and the fingerprint."""
    wanted = ["name", "skip_reason", "rounds", "median_s", "iqr_s", *FINGERPRINT]
    for suite in suites.SUITES:
        wanted += [column.key for column in suites.columns(suite)]
    wanted += [column.key for column in suites.columns("not a registered suite")]
    return list(dict.fromkeys(wanted))


def render(data: SiteData, run_id: str, rows: Mapping[str, list], site_figures: list[str], site_root: Path) -> str:
    """``rows``: the run's stored rows as columns (name -> values, ``columns_needed`` where stored;
    the fingerprint the same on every row); ``site_figures``: its PNGs as copied into the site
    (paths from the root); ``site_root``: where the site is written (links to the store are relative)."""
    depth = paths.depth_of(paths.run_page(run_id))
    up = lambda path: paths.from_root(path, depth)  # noqa: E731
    entry = data.run_entry(run_id)
    machine = str(entry["machine"])
    verdicts = data.verdicts(run_id)
    links = [link(up(paths.machine_page(machine)), machine)]
    for label, path in (("nightly report", data.nightly_report(run_id)), ("raw JSON", data.raw_json(run_id))):
        if path is not None:
            links.append(link(_relative(path, site_root / "runs"), label))
    if verdicts is not None:
        rerun = verdicts.get("confirmation_of")
        links.append(text(f"nightly status: {verdicts.get('status')}" + (f" (rerun of {rerun})" if rerun else "")))
    started = pd.Timestamp(entry["started_at"]).strftime("%Y-%m-%d %H:%M:%S UTC")
    parts = [f"<p>started {text(started)}, profile {text(entry['profile'])}; " + " · ".join(links) + "</p>"]
    by_suite: dict[str, list[int]] = {}
    for position, suite in enumerate(rows["suite"]):
        by_suite.setdefault(str(suite), []).append(position)
    status = rows["status"]
    for suite, positions in by_suite.items():
        measured = [i for i in positions if status[i] == "ok"]
        skipped = [i for i in positions if status[i] == "skipped"]
        parts.append(f'<section class="suite"><h2>{text(suite)}: {len(measured)} measured, {len(skipped)} skipped</h2>')
        if measured:
            parts.append(_summary(rows, measured, suite, machine, depth))
        if skipped:
            reasons = rows.get("skip_reason") or [None] * len(status)
            counts = Counter(str(reasons[i]) for i in skipped)
            cells = [[text(count), text(reason)] for reason, count in counts.most_common()]
            parts.append("<h3>Skipped</h3>" + table(["cases", "reason"], cells))
        parts.append("</section>")
    if site_figures:
        parts.append('<section id="figures"><h2>Figures</h2>')
        for path in site_figures:
            name = text(Path(path).name)
            parts.append(
                f'<figure><img loading="lazy" src="{text(up(path))}" alt="{name}"><figcaption>{name}</figcaption>'
                "</figure>"
            )
        parts.append("</section>")
    cells = [[text(key), text(_value(rows[key][0]))] for key in FINGERPRINT if key in rows]
    parts.append('<section id="fingerprint"><h2>Fingerprint</h2>' + table(["key", "value"], cells) + "</section>")
    return page(f"run {run_id}", "".join(parts), depth=depth)


def _summary(rows: Mapping[str, list], measured: list[int], suite: str, machine: str, depth: int) -> str:
    """The suite's text-table columns (``views.tables``' layout and formats), one row per case,
    formatted a column at a time over plain lists (a run page has hundreds of rows, a site
    thousands of runs: no frame is sliced per run)."""
    layout = [
        column
        for column in suites.columns(suite)
        if column.key in rows and any(_value(rows[column.key][i]) is not None for i in measured)
    ] + list(COMMON_TAIL)
    cases = rows["case"]
    history = [_history_link(machine, suite, str(cases[i]), depth) for i in measured]
    cells = [_formatted(rows.get(column.key), measured, column) for column in layout]
    return table(["", *(column.heading for column in layout)], list(zip(history, *cells, strict=True)))


@lru_cache(maxsize=65536)
def _history_link(machine: str, suite: str, case: str, depth: int) -> str:
    return link(paths.from_root(paths.case_page(machine, suite, case), depth), "history")


def _formatted(values: list | None, positions: list[int], column: Column) -> list[str]:
    """A column's cells as ``views.tables`` writes them (a dash when missing, seconds in
    microseconds), as HTML: text from data is escaped; a number formatted by the suite's own
    format (digits, signs, units) needs no escaping."""
    if values is None:
        return ["-"] * len(positions)
    scale = 1e6 if column.key in SECONDS_SHOWN_IN_US else None
    fmt = column.fmt.format
    escaped: dict[str, str] = {}  # a text column repeats a few values (directions, dtypes) many times
    cells = []
    for i in positions:
        value = values[i]
        if type(value) is str:
            cell = escaped.get(value)
            if cell is None:
                cell = escaped[value] = text(value)
            cells.append(cell)
        elif _value(value) is None:
            cells.append("-")
        elif not isinstance(value, (int, float)):  # JSON text, anything else: escaped
            cells.append(text(value))
        else:
            try:
                cells.append(fmt(float(value) * scale if scale else value))
            except (ValueError, TypeError):
                cells.append(text(value))
    return cells


def _value(value):
    """None for every kind of missing value a record holds (None, NaN, pd.NA, NaT)."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _relative(path: Path, page_dir: Path) -> str:
    """A link to a file of the store from a page of the site (relative: the two can move together)."""
    return Path(os.path.relpath(path.resolve(), page_dir.resolve())).as_posix()
