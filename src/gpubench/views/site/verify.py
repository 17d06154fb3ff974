"""The verify page: the latest ``gpubench verify`` ratios per machine (gpubench's time over a plain
reference's, per check), and each machine's ratios over time as a chart.

The rows are the stored ``verify`` suite (``suites/verify``), read through the same history as
every case (``analysis.history.case_history``: its headline figure is ``ratio``).
"""

from __future__ import annotations

from gpubench.views.site import paths
from gpubench.views.site.case import series
from gpubench.views.site.data import SiteData
from gpubench.views.site.decimate import decimate
from gpubench.views.site.markup import data_script, link, number, page, table

PATH = "verify.html"
SUITE = "verify"


def render(data: SiteData) -> str:
    rows = data.history[data.history["suite"] == SUITE]
    if rows.empty:
        return page("verify", "<p>No <code>gpubench verify</code> run is stored yet.</p>")
    parts = ["<p>Ratio = gpubench's time / an independent plain timing of the same operation; 1 is agreement.</p>"]
    for number_, (machine, here) in enumerate(rows.groupby("machine", sort=True)):
        latest = here.sort_values("started_at").groupby("case", sort=True).tail(1)
        parts.append(f"<section><h2>{link(paths.machine_page(str(machine)), machine)}</h2>")
        parts.append(
            table(
                ["check", "latest ratio", "run", "runs"],
                [
                    [
                        link(paths.case_page(str(machine), SUITE, str(r.case)), r.case),
                        number(r.value, "{:.3f}"),
                        link(paths.run_page(str(r.run_id)), r.run_id),
                        number(int((here["case"] == r.case).sum()), "{:d}"),
                    ]
                    for r in latest.itertuples()
                ],
            )
        )
        chart = {
            "unit": "ratio",
            "ytitle": "gpubench / reference",
            "hlines": [1.0],
            "series": [
                {"name": str(case), "points": decimate(series(data, group))}
                for case, group in here.groupby("case", sort=True)
            ],
        }
        parts.append(data_script(f"verify-{number_}", chart))
        parts.append(f'<div class="chart small" data-series="verify-{number_}"></div></section>')
    return page("verify", "".join(parts), charts=True)
