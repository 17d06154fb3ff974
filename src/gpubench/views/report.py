"""The nightly report: one self-contained HTML file (PNGs embedded) and the same as markdown.

Both are written into the results store, ``<results>/nightly/<run id>/``: ``report.html``,
``report.md`` (PNG files beside it; short enough for a CI job summary) and the PNGs. The report
is built as a list of blocks (heading, paragraph, table, image, preformatted text) rendered
twice, so the two files never disagree.
"""

from __future__ import annotations

import base64
import html
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from gpubench.analysis.compare import VERDICTS, Comparison
from gpubench.files.safe import save_figure, write_file
from gpubench.views import markdown_text as md
from gpubench.views.compare import HEADINGS, case_cells, confidence_label
from gpubench.views.history import short_case
from gpubench.views.text_table import markdown

EDGE = 16.0  # the plot's x range stops at 1/16 and 16; values beyond are drawn at the edge
# A verdict without a colour here (a new one) is drawn grey; the table lists verdicts in VERDICTS order.
COLOURS = {"slower": "tab:red", "faster": "tab:green", "same": "tab:blue", "noisy": "tab:orange"}
OTHER_COLOUR = "tab:gray"


@dataclass
class Report:
    title: str
    blocks: list[tuple] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.blocks.append(("heading", text))

    def paragraph(self, text: str) -> None:
        self.blocks.append(("paragraph", text))

    def bullets(self, items: list[str]) -> None:
        if items:
            self.blocks.append(("bullets", items))

    def table(self, headings: list[str], rows: list[list[str]]) -> None:
        self.blocks.append(("table", headings, rows))

    def image(self, path: Path, caption: str) -> None:
        self.blocks.append(("image", Path(path), caption))

    def pre(self, text: str) -> None:
        self.blocks.append(("pre", text))

    def write(self, out_dir: str | os.PathLike) -> tuple[Path, Path]:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        html_path, md_path = out / "report.html", out / "report.md"
        write_file(out, html_path.name, self.to_html())
        write_file(out, md_path.name, self.to_markdown(out))
        return html_path, md_path

    def to_html(self) -> str:
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(self.title)}</title>",
            f"<style>{_CSS}</style></head><body>",
            f"<h1>{html.escape(self.title)}</h1>",
        ]
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                parts.append(f"<h2>{html.escape(block[1])}</h2>")
            elif kind == "paragraph":
                parts.append(f"<p>{html.escape(block[1])}</p>")
            elif kind == "bullets":
                parts.append("<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in block[1]) + "</ul>")
            elif kind == "table":
                head = "".join(f"<th>{html.escape(cell)}</th>" for cell in block[1])
                body = "".join(
                    f'<tr class="{html.escape(_row_class(row))}">'
                    + "".join(f"<td>{html.escape(cell)}</td>" for cell in row)
                    + "</tr>"
                    for row in block[2]
                )
                parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            elif kind == "image":
                data = base64.b64encode(block[1].read_bytes()).decode("ascii")
                parts.append(
                    f'<figure><img alt="{html.escape(block[2])}" src="data:image/png;base64,{data}">'
                    f"<figcaption>{html.escape(block[2])}</figcaption></figure>"
                )
            elif kind == "pre":
                parts.append(f"<pre>{html.escape(block[1])}</pre>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def to_markdown(self, out_dir: Path) -> str:
        parts = [f"# {md.inline(self.title)}"]
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                parts.append(f"## {md.inline(block[1])}")
            elif kind == "paragraph":
                parts.append(md.inline(block[1]))
            elif kind == "bullets":
                parts.append("\n".join(f"- {md.inline(item)}" for item in block[1]))
            elif kind == "table":
                parts.append("\n".join(markdown(block[1], block[2])))
            elif kind == "image":
                caption = md.inline(block[2]).replace("[", "\\[").replace("]", "\\]")
                parts.append(f"![{caption}]({os.path.relpath(block[1], out_dir)})")
            elif kind == "pre":
                parts.append(md.code_block(block[1]))
        return "\n\n".join(parts) + "\n"


def verdict_table(report: Report, comparison: Comparison) -> None:
    headings = list(HEADINGS)
    headings[4] = f"{confidence_label(comparison)} CI"
    order = {verdict: index for index, verdict in enumerate(VERDICTS)}
    cases = sorted(comparison.cases, key=lambda case: order.get(case.verdict, len(order)))
    report.table(headings, [case_cells(case) for case in cases])


def plot_verdicts(comparison: Comparison, path: Path) -> Path:
    """Each case's slowdown (candidate / baseline median time, log scale) with its interval; the
    grey bar is the allowance (threshold plus noise) a change must clear to get a verdict."""
    cases = comparison.cases
    fig = Figure(figsize=(10, 1.6 + 0.3 * max(len(cases), 1)))  # no pyplot: no global backend switch
    ax = fig.subplots()
    values = [
        v for c in cases for v in (c.judgement.ratio, c.judgement.ci_low, c.judgement.ci_high) if math.isfinite(v)
    ]
    low_edge = max(min([0.5, *values]) / 1.15, 1 / EDGE)
    high_edge = min(max([2.0, *values]) * 1.15, EDGE)
    for y, case in enumerate(cases):
        j = case.judgement
        band = min(1 + j.detectable, EDGE * 2) if math.isfinite(j.detectable) else EDGE * 2
        ax.barh(y, band - 1 / band, left=1 / band, height=0.6, color="lightgrey", zorder=1)
        colour = COLOURS.get(j.verdict, OTHER_COLOUR)
        if math.isfinite(j.ci_low):
            ax.plot([max(j.ci_low, low_edge), min(j.ci_high, high_edge)], [y, y], color=colour, linewidth=2, zorder=2)
        shown = min(max(j.ratio, low_edge), high_edge)
        marker = "o" if shown == j.ratio else ("<" if j.ratio < low_edge else ">")
        ax.plot(shown, y, marker, color=colour, markersize=7, zorder=3)
        if marker != "o":
            ax.annotate(f"x{j.ratio:.3g}", (shown, y), textcoords="offset points", xytext=(8, 4), fontsize=7,
                        ha="right" if marker == ">" else "left", color=colour)  # fmt: skip
    ax.axvline(1, color="black", linewidth=0.8)
    for edge in (1 + comparison.threshold, 1 / (1 + comparison.threshold)):
        ax.axvline(edge, color="black", linewidth=0.6, linestyle="--")
    ax.set_xscale("log")
    ax.set_xlim(low_edge, high_edge)
    ax.set_ylim(len(cases) - 0.5, -0.5)
    ax.set_yticks(range(len(cases)))
    ax.set_yticklabels([short_case(case.case) for case in cases], fontsize=7)
    ax.set_xlabel("slowdown: median time of this run / baseline (log scale; > 1 slower, < 1 faster)")
    handles = [Line2D([], [], marker="o", color=c, linestyle="", label=v) for v, c in COLOURS.items()]
    handles.append(Rectangle((0, 0), 1, 1, color="lightgrey", label="threshold + noise allowance"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.set_title(
        f"Verdict per case: dot = ratio of medians, line = {confidence_label(comparison)} interval, "
        f"dashed = threshold ±{comparison.threshold:.0%}; off-scale values at the edge",
        fontsize=9,
    )
    ax.grid(True, axis="x", which="both", alpha=0.3)
    return save_figure(fig, path.parent, path.name, dpi=100)


def _row_class(row: list[str]) -> str:
    return row[HEADINGS.index("verdict")] if len(row) == len(HEADINGS) else ""


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
td:first-child, th:first-child, td:last-child { text-align: left; }
tr.slower { background: #fdd; } tr.faster { background: #dfd; } tr.noisy { background: #fff3d6; }
pre { background: #f6f6f6; padding: 0.6em; font-size: 0.8em; overflow-x: auto; }
figure { margin: 1em 0; } img { max-width: 100%; } figcaption { font-size: 0.8em; color: #555; }
"""
