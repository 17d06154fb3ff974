"""A machine's page: its runs, its environment over time with each change marked, its fleet standing
and its cases (each a link to the case's history)."""

from __future__ import annotations

import pandas as pd

from gpubench.analysis.fleet import time_ratio
from gpubench.views.site import paths
from gpubench.views.site.data import SiteData
from gpubench.views.site.markup import link, number, page, table, text


def environment_changes(data: SiteData, runs: pd.DataFrame) -> list[tuple[str, str, str, str | None, str | None]]:
    """(run id, started, key, before, after) for each environment key that changed between consecutive runs."""
    out = []
    previous: dict | None = None
    for run, started in zip(runs["run_id"].astype(str), runs["started_at"], strict=True):
        here = data.environment.get(run, {})
        if previous is not None:
            for key in sorted(set(previous) | set(here)):
                if key != "git_commit" and previous.get(key) != here.get(key):
                    out.append(
                        (run, pd.Timestamp(started).strftime("%Y-%m-%d %H:%M"), key, previous.get(key), here.get(key))
                    )
        previous = here
    return out


def render(data: SiteData, machine: str, cases: list[tuple[str, str, str, float | None]]) -> str:
    """``cases``: (suite, case, metric, latest value) of every case with a history on this machine."""
    depth = paths.depth_of(paths.machine_page(machine))
    up = lambda path: paths.from_root(path, depth)  # noqa: E731
    runs = data.machine_runs(machine)
    parts = []
    rows = [
        [
            link(up(paths.run_page(str(r.run_id))), r.run_id),
            text(pd.Timestamp(r.started_at).strftime("%Y-%m-%d %H:%M")),
            text(r.profile),
            text(str(r.suites).replace(",", ", ")),
            number(r.cases, "{:d}"),
            number(r.measured, "{:d}"),
            text((data.environment.get(str(r.run_id), {}).get("git_commit") or "-")[:12]),
        ]
        for r in runs.iloc[::-1].itertuples()
    ]
    parts.append(
        f'<section id="runs"><h2>Runs ({len(runs)}, newest first)</h2>'
        + table(["run", "started (UTC)", "profile", "suites", "cases", "measured", "commit"], rows)
        + "</section>"
    )
    changes = environment_changes(data, runs)
    first = data.environment.get(str(runs["run_id"].iloc[0]), {}) if len(runs) else {}
    parts.append('<section id="environment"><h2>Environment over time</h2>')
    parts.append("<h3>First run</h3>" + table(["key", "value"], [[text(k), text(v)] for k, v in sorted(first.items())]))
    parts.append(f"<h3>Changes ({len(changes)}; the commit, which changes every night, left out)</h3>")
    parts.append(
        table(
            ["first run with it", "when", "key", "before", "after"],
            [
                [link(up(paths.run_page(run)), run), text(when), text(key), text(before), text(after)]
                for run, when, key, before, after in changes
            ],
        )
        if changes
        else "<p>None.</p>"
    )
    parts.append("</section>")
    parts.append(_standing(data, machine, up))
    case_rows = [
        [link(up(paths.case_page(machine, suite, case)), case), text(suite), text(metric), number(value)]
        for suite, case, metric, value in cases
    ]
    parts.append(
        f'<section id="cases"><h2>Cases ({len(cases)})</h2>'
        + table(["case", "suite", "figure", "latest"], case_rows)
        + "</section>"
    )
    return page(machine, "".join(parts), depth=depth)


def _standing(data: SiteData, machine: str, up) -> str:
    head = '<section id="standing"><h2>Fleet standing</h2>'
    own = [s for s in data.fleet.standings if s.machine == machine]
    if not own:
        return head + "<p>Not judged: too few other machines of its GPU model measured its cases.</p></section>"
    summary = data.fleet.machines()
    row = summary[summary["machine"] == machine].iloc[0]
    text_line = (
        f"<p>{int(row['cases'])} case(s) judged against peers: {int(row['slower_outliers'])} slower and "
        f"{int(row['faster_outliers'])} faster outlier(s); median time ratio to peers "
        f"{number(float(row['median_time_ratio']), 'x{:.3f}')}.</p>"
    )
    outliers = sorted((s for s in own if s.outlier), key=lambda s: -time_ratio(s))
    rows = [
        [
            link(up(paths.case_page(machine, s.suite, s.case)), s.case),
            number(s.ratio, "x{:.3f}"),
            text("slower" if s.slower else "faster"),
            number(s.peers, "{:d}"),
        ]
        for s in outliers
    ]
    listing = (
        table(
            ["case", "ratio to peers", "", "peers"],
            rows,
            row_css=["outlier" if s.slower else "faster" for s in outliers],
        )
        if rows
        else ""
    )
    return head + text_line + listing + f"<p>{link(up('fleet.html'), 'the fleet page')}</p></section>"
