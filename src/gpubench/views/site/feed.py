"""``feed.xml``: an Atom feed of confirmed regressions and change points, so that a team can subscribe.

Entries: each open regression (a case the machine's latest judged night marked slower and the
rerun confirmed; its id names the machine, the case and the night it began, so it stays one
entry while it lasts) and the newest ``MAX_CHANGE_POINTS`` change points with their
attribution. Links are relative to the feed, which sits at the site's root. Every value is
XML-escaped; the feed's ``updated`` is its newest entry's time, so an unchanged store gives an
unchanged feed (and the build does not rewrite it).
"""

from __future__ import annotations

import hashlib
from xml.sax.saxutils import escape, quoteattr

import pandas as pd

from gpubench.views.site import paths
from gpubench.views.site.data import SiteData
from gpubench.views.site.overview import attribution

PATH = "feed.xml"
MAX_CHANGE_POINTS = 100
EPOCH = "1970-01-01T00:00:00Z"


def render(data: SiteData) -> str:
    entries = []
    for r in data.open_regressions():
        entries.append(
            (
                _time(r.since),
                _id("regression", r.machine, r.suite, r.case, r.since_run_id),
                f"regression: {r.case} on {r.machine}",
                f"Slower since run {r.since_run_id} ({r.nights} night(s)), confirmed by the nightly's rerun; "
                f"latest night {r.run_id}.",
                paths.case_page(r.machine, r.suite, r.case),
            )
        )
    points = sorted(data.change_points or [], key=lambda p: (p.started_at, p.run_id), reverse=True)
    for p in points[:MAX_CHANGE_POINTS]:
        entries.append(
            (
                _time(p.started_at),
                _id("changepoint", p.machine, p.suite, p.case, p.run_id),
                f"change point: {p.case} {p.change:+.1%} on {p.machine}",
                f"From run {p.run_id} (confidence {p.confidence:.1%}): {attribution(p)}.",
                paths.case_page(p.machine, p.suite, p.case),
            )
        )
    entries.sort(key=lambda entry: entry[0], reverse=True)
    updated = entries[0][0] if entries else EPOCH
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        "<title>gpubench: regressions and change points</title>",
        f"<id>{escape(_id('feed'))}</id>",
        f"<updated>{updated}</updated>",
        '<link rel="alternate" href="index.html"/>',
        "<author><name>gpubench</name></author>",
    ]
    for when, entry_id, title, summary, href in entries:
        parts.append(
            f"<entry><title>{escape(title)}</title><id>{escape(entry_id)}</id><updated>{when}</updated>"
            f'<link rel="alternate" href={quoteattr(href)}/><summary>{escape(summary)}</summary></entry>'
        )
    parts.append("</feed>")
    return "\n".join(parts) + "\n"


def _id(*parts: str) -> str:
    return "urn:gpubench:" + hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _time(value) -> str:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
