"""A case's page: its history on one machine as an interactive chart, with what the analysis found.

The chart (plotly, ``assets/site.js``) shows the median per run as a line and the run's IQR as a
band over time; hover gives the run id, the commit and the values. Change points are vertical
lines labelled with their size and the environment change around them; nights the nightly marked
(regression, accepted, transient) are markers; the peers (other machines of the same GPU model
that measured the case) are overlaid on demand; where the run recorded a hardware limit (PCIe
theoretical peak, link peak) it is drawn, and hover gives the figure as a share of it. The series
is thinned on the server (``decimate``) so that 1,000 runs stay a small page. The same figures
are listed as tables below the chart, so the page says everything without its script.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gpubench.views.history import unit_of
from gpubench.views.site import paths
from gpubench.views.site.data import SiteData
from gpubench.views.site.decimate import decimate
from gpubench.views.site.markup import data_script, link, number, page, table, text
from gpubench.views.site.overview import attribution

PEER_POINTS = 200  # each peer's series, decimated harder: it is context, not the subject


def scale_of(metric: str) -> float:
    """Times are shown in microseconds, rates as they are."""
    return 1e6 if metric == "median_s" else 1.0


def series(data: SiteData, rows: pd.DataFrame) -> list[dict]:
    """One point per run (oldest first) of one machine's case history rows (``data.history``'s)."""
    columns = data.columns()
    case = str(rows["case"].iloc[-1]) if len(rows) else ""
    out = []
    for i in rows.index:  # data.history has a plain 0..n-1 index
        run = columns["run_id"][i]
        point = {
            "run_id": run,
            "t": columns["t"][i],
            "value": columns["value"][i],
            "low": columns["low"][i],
            "high": columns["high"][i],
            "commit": data.environment.get(run, {}).get("git_commit"),
        }
        mark = data.marks.get((run, case))
        if mark:
            point["mark"] = mark
        out.append(point)
    return out


def render(
    data: SiteData,
    machine: str,
    suite: str,
    case: str,
    rows: pd.DataFrame,
    peers: dict[str, pd.DataFrame],
    points_here: list,
) -> str:
    """The page of ``case`` on ``machine``: ``rows`` its history, ``peers`` the other machines' rows."""
    depth = paths.depth_of(paths.case_page(machine, suite, case))
    metric = str(rows["metric"].iloc[-1])
    unit = "us" if metric == "median_s" else unit_of(metric)
    full = series(data, rows)
    keep = {p.run_id for p in points_here} | {p.previous_run_id for p in points_here}
    keep |= {point["run_id"] for point in full if "mark" in point}
    shown = decimate(full, keep)
    limit = data.limits.get((machine, suite, case))
    chart = {
        "title": case,
        "machine": machine,
        "unit": unit,
        "metric": metric,
        "points": shown,
        "change_points": [
            {"run_id": p.run_id, "t": _time(p.started_at), "change": _finite(p.change), "label": attribution(p)}
            for p in points_here
        ],
        "peers": [
            {
                "machine": peer,
                "points": decimate(series(data, peer_rows), max_points=PEER_POINTS, recent=PEER_POINTS // 2),
            }
            for peer, peer_rows in sorted(peers.items())
        ],
        "limit": {"label": limit[0], "value": limit[1]} if limit else None,
    }
    up = lambda path: paths.from_root(path, depth)  # noqa: E731
    values = [point["value"] for point in full if point["value"] is not None]
    latest = full[-1]
    facts = [
        ("machine", link(up(paths.machine_page(machine)), machine)),
        ("suite", text(suite)),
        ("figure", text(f"{metric} ({unit})")),
        (
            "runs",
            text(
                f"{len(full)} (chart: {len(shown)} points"
                + (", older runs aggregated)" if len(shown) < len(full) else ")")
            ),
        ),
        (
            "latest",
            number(latest["value"])
            + " "
            + text(unit)
            + " in "
            + link(up(paths.run_page(latest["run_id"])), latest["run_id"]),
        ),
        ("median over history", number(float(np.median(values)) if values else None)),
        (
            "limit",
            text(f"{limit[0]}: {limit[1]:.4g}")
            + (f" ({latest['value'] / limit[1]:.1%} of it, latest run)" if latest["value"] else "")
            if limit
            else text("none recorded for this case"),
        ),
    ]
    body = [
        '<dl class="facts">' + "".join(f"<dt>{text(k)}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>",
        '<p class="controls">'
        + (
            f'<label><input type="checkbox" id="peers-toggle"> overlay {len(peers)} peer machine(s) '
            "of this GPU model</label>"
            if peers
            else "<span>no peer machine of this GPU model measured this case</span>"
        )
        + "</p>",
        '<div id="chart" class="chart"></div>',
        data_script("case-data", chart),
        _change_point_table(points_here, depth),
        _marks_table(data, full, depth),
    ]
    return page(f"{case} on {machine}", "".join(body), depth=depth, charts=True)


def _change_point_table(points, depth: int) -> str:
    head = f'<section id="changepoints"><h2>Change points ({len(points)})</h2>'
    if not points:
        return head + "<p>None: the case held its level over this machine's history.</p></section>"
    rows = [
        [
            link(paths.from_root(paths.run_page(p.run_id), depth), p.run_id),
            text(pd.Timestamp(p.started_at).strftime("%Y-%m-%d %H:%M")),
            number(p.change, "{:+.1%}"),
            number(p.confidence, "{:.1%}"),
            f'<span class="attribution">{text(attribution(p))}</span>',
        ]
        for p in sorted(points, key=lambda p: p.started_at, reverse=True)
    ]
    return (
        head
        + table(["first run after", "when", "change", "confidence", "attribution"], rows, "changepoints")
        + "</section>"
    )


def _marks_table(data: SiteData, full: list[dict], depth: int) -> str:
    marked = [point for point in full if "mark" in point]
    head = f'<section id="nights"><h2>Nights the nightly marked ({len(marked)})</h2>'
    if not marked:
        return head + "<p>None: no nightly judged this case slower.</p></section>"
    rows = [
        [
            link(paths.from_root(paths.run_page(p["run_id"]), depth), p["run_id"]),
            text(p["t"].replace("T", " ").removesuffix("Z")),
            text(p["mark"]),
            number(p["value"]),
        ]
        for p in reversed(marked)
    ]
    return (
        head
        + table(["run", "when", "mark", "value"], rows, row_css=[p["mark"] for p in reversed(marked)])
        + "</section>"
    )


def _finite(value: float) -> float | None:
    return value if isinstance(value, float) and math.isfinite(value) else None


def _time(started_at: str) -> str:
    stamp = pd.Timestamp(started_at)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
