"""The overview page (``index.html``): every machine's last night per suite, then what needs a look.

The grid is one row per machine (GPU model and host) and one column per suite; each cell is its
status (``status.py``) and the age of the suite's last run. Below it: open regressions newest
first, the fleet's outliers per GPU model, and the change points of the last ``RECENT_DAYS`` days
with what changed in the fingerprint around them. No chart here: the page is plain HTML, so it
loads at once; each list is capped at ``MAX_ROWS`` rows (the rest counted), so it stays small
however large the store.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from gpubench.views.site import paths
from gpubench.views.site.data import SiteData
from gpubench.views.site.markup import link, number, page, table, text
from gpubench.views.site.status import STALE_AFTER, STATUSES, age, overview_rows, suites_of

RECENT_DAYS = 30
MAX_ROWS = 200
PATH = "index.html"


def render(data: SiteData) -> str:
    parts = [_grid(data), _regressions(data), _outliers(data), _change_points(data)]
    generated = data.now.strftime("%Y-%m-%d %H:%M UTC")
    return page("fleet health", "".join(parts), depth=0, generated=generated)


def _grid(data: SiteData) -> str:
    rows = overview_rows(data)
    if not rows:
        return "<p>No run in the store yet.</p>"
    suites = suites_of(data)
    cells = []
    css = []
    for row in rows:
        stale = (
            (
                f' <span class="badge stale" title="no run for more than {STALE_AFTER.total_seconds() / 3600:.0f} h">'
                "stale</span>"
            )
            if row.stale
            else ""
        )
        first = (
            link(paths.machine_page(row.machine), row.gpu_name) + f'<br><span class="host">{text(row.hostname)}</span>'
        )
        line = [first + stale, text(age(data.now, row.last_started_at)) + " ago"]
        for suite in suites:
            cell = row.cells[suite]
            label = text(cell.status) + ("" if cell.judged or cell.status != "pass" else "*")
            inner = link(paths.run_page(cell.run_id), label) if cell.run_id else label
            when = f'<br><span class="age">{text(age(data.now, cell.started_at))}</span>' if cell.started_at else ""
            status_class = cell.status.replace(" ", "-")
            line.append(
                f'<span class="status {status_class}" title="{text(cell.detail)}" '
                f'data-status="{text(cell.status)}">{inner}{when}</span>'
            )
        cells.append(line)
        css.append("stale" if row.stale else "")
    legend = " ".join(f'<span class="status {s.replace(" ", "-")}">{text(s)}</span>' for s in STATUSES)
    note = (
        f'<p class="legend">{legend} &nbsp; * measured, not judged by a nightly. A machine with no run for '
        f"{STALE_AFTER.total_seconds() / 3600:.0f} h is stale. "
        f"Ages are to {text(data.now.strftime('%Y-%m-%d %H:%M UTC'))}.</p>"
    )
    return (
        '<section id="grid"><h2>Machines</h2>'
        + table(["machine", "last run", *suites], cells, "grid", css)
        + note
        + "</section>"
    )


def _regressions(data: SiteData) -> str:
    found = data.open_regressions()
    head = f'<section id="regressions"><h2>Open regressions ({len(found)})</h2>'
    if not found:
        return head + "<p>None: no machine's latest judged night has a confirmed slower case.</p></section>"
    rows = [
        [
            text(r.since.strftime("%Y-%m-%d")),
            link(paths.machine_page(r.machine), r.machine),
            link(paths.case_page(r.machine, r.suite, r.case), r.case, "regressed"),
            text(r.nights),
            link(paths.run_page(r.run_id), r.run_id),
        ]
        for r in found[:MAX_ROWS]
    ]
    return head + table(["since", "machine", "case", "nights", "latest night"], rows) + _more(found) + "</section>"


def _outliers(data: SiteData) -> str:
    outliers = data.fleet.outliers
    head = f'<section id="outliers"><h2>Fleet outliers ({len(outliers)})</h2>'
    if not data.fleet.standings:
        return head + "<p>No GPU model has enough machines to set one against its peers.</p></section>"
    if not outliers:
        return head + "<p>None: every machine sits with its peers.</p></section>"
    by_model = defaultdict(list)
    for standing in outliers:
        by_model[standing.gpu_name].append(standing)
    parts = [head]
    for model in sorted(by_model):
        here = sorted(by_model[model], key=lambda s: -s.deviation if s.deviation == s.deviation else 0)
        rows = [
            [
                link(paths.machine_page(s.machine), s.machine),
                link(paths.case_page(s.machine, s.suite, s.case), s.case),
                number(s.ratio, "x{:.3f}"),
                text("slower" if s.slower else "faster"),
                number(s.peers, "{:d}"),
            ]
            for s in here[:MAX_ROWS]
        ]
        parts.append(
            f"<h3>{text(model)}</h3>" + table(["machine", "case", "ratio to peers", "", "peers"], rows) + _more(here)
        )
    return "".join(parts) + "</section>"


def _change_points(data: SiteData) -> str:
    head = f'<section id="changepoints"><h2>Change points of the last {RECENT_DAYS} days</h2>'
    if data.change_points is None:
        return head + f"<p>{text(data.change_points_note)}</p></section>"
    since = data.now - pd.Timedelta(days=RECENT_DAYS)
    recent = [p for p in data.change_points if pd.Timestamp(p.started_at) >= since]
    recent.sort(key=lambda p: (p.started_at, p.run_id), reverse=True)
    if not recent:
        return head + "<p>None: every case held its level.</p></section>"
    rows = [
        [
            text(pd.Timestamp(p.started_at).strftime("%Y-%m-%d")),
            link(paths.machine_page(p.machine), p.machine),
            link(paths.case_page(p.machine, p.suite, p.case), p.case),
            number(p.change, "{:+.1%}"),
            text(attribution(p)),
        ]
        for p in recent[:MAX_ROWS]
    ]
    return head + table(["from", "machine", "case", "change", "attribution"], rows) + _more(recent) + "</section>"


def attribution(point) -> str:
    """What changed around a change point, as the text views say it (or that nothing did)."""
    changes = ", ".join(f"{c.key} {c.before or '-'} -> {c.after or '-'}" for c in point.environment_changes)
    before, after = point.commits
    commits = f"commits {before[:12] if before else '?'}..{after[:12] if after else '?'}" if before != after else ""
    parts = [changes or "no environment change", commits, f"nightly: {point.nightly}" if point.nightly else ""]
    return "; ".join(part for part in parts if part)


def _more(items: list) -> str:
    return f"<p>and {len(items) - MAX_ROWS} more</p>" if len(items) > MAX_ROWS else ""
