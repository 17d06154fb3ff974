"""Escaping and the page frame: every value from data goes through ``text`` (HTML) or ``data_script`` (JSON).

Case names, params and environment values come from outside (another project's JSON, a host
name); a case named ``<script>`` must render as text. ``text`` escapes for element content and
attribute values alike (quotes included); ``data_script`` embeds JSON for the page's script in a
``<script type="application/json">`` block, with ``<``, ``>`` and ``&`` written as ``\\u003c``...
so that no value can close the block. Pages link the shared ``assets/`` once (never inlined).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

SITE_TITLE = "gpubench"
NAV = (("index.html", "overview"), ("fleet.html", "fleet"), ("verify.html", "verify"), ("feed.xml", "feed"))


def text(value: Any) -> str:
    """``value`` as HTML text (or an attribute value): None and NaN as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return html.escape(str(value), quote=True)


def link(href: str, label: Any, css: str = "") -> str:
    """An ``<a>``: ``href`` is a path this site made (relative), ``label`` is data."""
    klass = f' class="{text(css)}"' if css else ""
    return f'<a href="{text(href)}"{klass}>{text(label)}</a>'


def table(headings: Sequence[str], rows: Iterable[Sequence[str]], css: str = "", row_css: Sequence[str] = ()) -> str:
    """A table of cells already made HTML (``text`` or ``link``); headings are escaped here."""
    head = "".join(f"<th>{text(heading)}</th>" for heading in headings)
    body = []
    for number, row in enumerate(rows):
        klass = f' class="{text(row_css[number])}"' if number < len(row_css) and row_css[number] else ""
        cells = f"<td>{'</td><td>'.join(row)}</td>" if len(row) else ""
        body.append(f"<tr{klass}>{cells}</tr>")
    klass = f' class="{text(css)}"' if css else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def data_script(element_id: str, data: Any) -> str:
    """JSON for the page's script, safe inside HTML (no value can end the script block)."""
    payload = json.dumps(data, allow_nan=False, separators=(",", ":"), default=str)
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{text(element_id)}">{payload}</script>'


def page(title: str, body: str, depth: int = 0, charts: bool = False, generated: str = "") -> str:
    """A whole page: ``depth`` folders below the site root; ``charts`` loads plotly and site.js."""
    up = "../" * depth
    nav = " ".join(link(up + href, label) for href, label in NAV)
    scripts = f'<script src="{up}assets/plotly.min.js"></script><script src="{up}assets/site.js"></script>'
    stamp = f"<footer>built {text(generated)} by gpubench site</footer>" if generated else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{text(title)} - {SITE_TITLE}</title>"
        f'<link rel="stylesheet" href="{up}assets/site.css">'
        f'<link rel="alternate" type="application/atom+xml" title="gpubench regressions" href="{up}feed.xml">'
        f"</head><body><nav><strong>{SITE_TITLE}</strong> {nav}</nav><main><h1>{text(title)}</h1>"
        f"{body}</main>{stamp}{scripts if charts else ''}</body></html>\n"
    )


def number(value: Any, fmt: str = "{:.4g}") -> str:
    """A figure as text (a dash when missing)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    try:
        return text(fmt.format(value))
    except (ValueError, TypeError):
        return text(value)
