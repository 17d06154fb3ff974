"""The fleet page: per GPU model, each machine against its peers' median per case, outliers highlighted.

The standings are ``analysis.fleet.judge_fleet``'s (each machine's latest figure per case against
the other machines of its model: median and MAD on a log scale). Per model: the machines'
summary (``Fleet.machines``), a strip chart of every case's time ratio to the peers (above 1:
slower; outliers in red, faster outliers in green) and the outliers as a table.
"""

from __future__ import annotations

from collections import defaultdict

from gpubench.analysis.fleet import time_ratio
from gpubench.views.site import paths
from gpubench.views.site.data import SiteData
from gpubench.views.site.markup import data_script, link, number, page, table, text

PATH = "fleet.html"


def render(data: SiteData) -> str:
    fleet = data.fleet
    if not fleet.standings:
        body = (
            "<p>No GPU model has enough machines that measured the same cases to set one against its peers "
            f"(at least {int(fleet.rule.get('min_peers', 0)) or 'min_peers'} other machine(s) of the model).</p>"
        )
        return page("fleet", body)
    rule = fleet.rule
    parts = [
        f"<p>Each machine's latest figure per case against the median of the other machines of its GPU model; "
        f"an outlier sits more than {rule['mad_factor']:g} scaled MADs and at least {rule['min_gap']:.0%} from it "
        f"(at least {rule['min_peers']:g} peers). {fleet.unjudged} (machine, case) pair(s) had too few peers.</p>"
    ]
    summary = fleet.machines()
    by_model = defaultdict(list)
    for standing in fleet.standings:
        by_model[standing.gpu_name].append(standing)
    for number_, model in enumerate(sorted(by_model)):
        here = by_model[model]
        rows = summary[summary["gpu_name"] == model]
        parts.append(f'<section class="model"><h2>{text(model)}</h2>')
        parts.append(
            table(
                ["machine", "cases judged", "slower outliers", "faster outliers", "median time ratio"],
                [
                    [
                        link(paths.machine_page(str(r.machine)), r.machine),
                        number(r.cases, "{:d}"),
                        number(r.slower_outliers, "{:d}"),
                        number(r.faster_outliers, "{:d}"),
                        number(float(r.median_time_ratio), "x{:.3f}"),
                    ]
                    for r in rows.itertuples()
                ],
                row_css=["outlier" if r.slower_outliers else "" for r in rows.itertuples()],
            )
        )
        strip = {
            "machines": sorted({s.machine for s in here}),
            "x": [s.machine for s in here],
            "y": [time_ratio(s) for s in here],
            "text": [f"{s.case}: x{time_ratio(s):.3f} time vs peers" for s in here],
            "colour": ["#c62828" if s.outlier and s.slower else "#2e7d32" if s.outlier else "#90a4ae" for s in here],
        }
        parts.append(data_script(f"strip-{number_}", strip))
        parts.append(f'<div class="chart small" data-strip="strip-{number_}"></div>')
        outliers = sorted((s for s in here if s.outlier), key=lambda s: -time_ratio(s))
        if outliers:
            parts.append(
                "<h3>Outliers</h3>"
                + table(
                    ["machine", "case", "figure", "value", "peers' median", "ratio", "peers"],
                    [
                        [
                            link(paths.machine_page(s.machine), s.machine),
                            link(paths.case_page(s.machine, s.suite, s.case), s.case),
                            text(s.metric),
                            number(s.value),
                            number(s.peers_median),
                            number(s.ratio, "x{:.3f}"),
                            number(s.peers, "{:d}"),
                        ]
                        for s in outliers
                    ],
                    row_css=["outlier" if s.slower else "faster" for s in outliers],
                )
            )
        parts.append("</section>")
    if fleet.environment:
        parts.append(
            "<section><h2>Setups that differ within a model</h2>"
            + table(
                ["GPU model", "key", "values"],
                [
                    [text(e.gpu_name), text(e.key), text("; ".join(f"{m}: {v}" for m, v in e.values.items()))]
                    for e in fleet.environment
                ],
            )
            + "</section>"
        )
    return page("fleet", "".join(parts), charts=True)
