"""A Comparison as text: an aligned table, markdown, or JSON. Every figure carries its unit."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict
from typing import TYPE_CHECKING

from gpubench.analysis.rules import DEFAULT_BETWEEN_RUN_NOISE
from gpubench.files import strict_json
from gpubench.suites import UNITS
from gpubench.views import markdown_text, text_table

if TYPE_CHECKING:  # compare needs pandas; the CLI reads FORMATS without it
    from gpubench.analysis.compare import CaseComparison, Comparison

FORMATS = ("table", "markdown", "json")
MAX_ROWS = 1000  # cases a table shows; JSON lists every one
MAX_UNMATCHED = 50  # one-sided cases named; the rest are counted
HEADINGS = ("case", "baseline", "candidate", "ratio", "CI", "p", "runs", "spread", "detect", "verdict", "note")
LEFT_ALIGNED = {0, HEADINGS.index("verdict"), HEADINGS.index("note")}  # words; the figures align right


def render(comparison: Comparison, fmt: str = "table") -> str:
    if fmt == "json":
        return strict_json.dumps(as_dict(comparison))
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    markdown = fmt == "markdown"
    lines = header(comparison, markdown)
    lines = [markdown_text.inline(line) for line in lines] if markdown else lines
    shown = shown_cases(comparison.cases)
    rows = [case_cells(case) for case in shown]
    headings = list(HEADINGS)
    headings[4] = f"{confidence_label(comparison)} CI"
    table = text_table.markdown(headings, rows) if markdown else text_table.aligned(headings, rows, LEFT_ALIGNED)
    lines += ["", *table]
    end = footer(comparison, markdown)
    if len(shown) < len(comparison.cases):
        hidden = len(comparison.cases) - len(shown)
        end.insert(0, f"{'- ' if markdown else '# '}{hidden} case(s) judged same not shown "
                      f"(the table shows at most {MAX_ROWS}; --format json lists every case)")  # fmt: skip
    lines += ["", *([markdown_text.inline(line) for line in end] if markdown else end)]
    return "\n".join(lines) if markdown else text_table.lines_of(lines)


def shown_cases(cases: list[CaseComparison]) -> list[CaseComparison]:
    """Every case, or at most ``MAX_ROWS``: those judged other than same first, in their order."""
    if len(cases) <= MAX_ROWS:
        return list(cases)
    keep = {id(case) for case in cases if case.verdict != "same"}
    keep |= {id(case) for case in [case for case in cases if id(case) not in keep][: max(MAX_ROWS - len(keep), 0)]}
    return [case for case in cases if id(case) in keep][:MAX_ROWS]


def header(comparison: Comparison, markdown: bool = False) -> list[str]:
    mark = "" if markdown else "# "
    runs = comparison.baseline_runs
    base = runs[0] if len(runs) == 1 else f"{len(runs)} runs ({runs[0]} .. {runs[-1]})" if runs else "none"
    lines = [
        f"{mark}baseline: {base}; candidate: {comparison.candidate_run}",
        f"{mark}slower/faster only beyond {comparison.threshold:.0%} plus the noise allowance and with "
        f"Mann-Whitney U p < {comparison.alpha:g} on raw samples; ratio = candidate / baseline of the figure shown",
    ]
    if len(runs) == 1:
        lines.append(f"{mark}one baseline run: between-run noise from {noise_sources(comparison)}")
    if comparison.env:
        lines.append(f"{mark}environment differences (baseline -> candidate):")
        width = max(len(diff.key) for diff in comparison.env)
        lines += [f"{mark}  {diff.key:<{width}}  {diff.baseline} -> {diff.candidate}" for diff in comparison.env]
    else:
        lines.append(f"{mark}environment: no difference in versions, GPU, driver or host")
    return lines


def noise_sources(comparison: Comparison) -> str:
    """Where the between-run noise of a one-baseline comparison came from, case counts."""
    counts = Counter(case.judgement.noise_source for case in comparison.cases)
    words = {
        "store history": "the store's history of the case on this machine",
        "default": f"the default {DEFAULT_BETWEEN_RUN_NOISE:.0%} (no history in the store)",
    }
    parts = [f"{words.get(source, source)}: {count} case(s)" for source, count in counts.items()]
    return "; ".join(parts) + " (give several baseline runs to measure it)"


def footer(comparison: Comparison, markdown: bool = False) -> list[str]:
    mark = "- " if markdown else "# "
    lines = []
    for where in ("baseline only", "candidate only"):
        items = [u for u in comparison.unmatched if u.where == where]
        for item in items[:MAX_UNMATCHED]:
            lines.append(f"{mark}{where}: {item.case} ({item.reason})")
        if len(items) > MAX_UNMATCHED:
            lines.append(f"{mark}{where}: {len(items) - MAX_UNMATCHED} more case(s) (--format json lists them)")
    neither = Counter(u.reason for u in comparison.unmatched if u.where == "measured on neither side")
    lines += [f"{mark}measured on neither side: {count} case(s): {reason}" for reason, count in neither.items()]
    counts = comparison.counts()
    lines.append(f"{mark}verdict: " + ", ".join(f"{count} {verdict}" for verdict, count in counts.items()))
    return lines


def case_cells(case: CaseComparison) -> list[str]:
    j = case.judgement
    ratio, low, high = case.metric_ratio
    return [
        case.case if case.case.startswith(f"{case.suite}[") else f"{case.suite}::{case.case}",
        format_value(case.metric, case.baseline_value),
        format_value(case.metric, case.candidate_value),
        f"x{ratio:.4g}",
        "-" if math.isnan(low) else f"{low:.4g}-{high:.4g}",
        "-" if math.isnan(j.p_value) else f"{j.p_value:.2g}",
        str(j.baseline_runs),
        format_detectable(j.spread),
        format_detectable(j.detectable),
        j.verdict,
        j.note,
    ]


def format_detectable(detectable: float) -> str:
    """A relative change: ``12.5%``; beyond +100% as a factor (``x2671``)."""
    if math.isinf(detectable) or math.isnan(detectable):
        return "-"
    return f"{detectable:.1%}" if detectable < 1 else f"x{1 + detectable:.3g}"


def format_value(metric: str, value: float) -> str:
    """``12.34 GB/s``, ``612.3 us``: a headline figure with its unit."""
    if value is None or math.isnan(value):
        return "-"
    if metric in UNITS:
        return f"{value:.4g} {UNITS[metric]}"
    if metric == "median_s":
        for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
            if abs(value) >= scale:
                return f"{value / scale:.4g} {unit}"
        return f"{value / 1e-9:.4g} ns"
    return f"{value:.4g} {metric}"


def confidence_label(comparison: Comparison) -> str:
    return f"{(1 - comparison.alpha) * 100:.1f}%"


def as_dict(comparison: Comparison) -> dict:
    frame = comparison.to_frame()
    return {
        "baseline_runs": comparison.baseline_runs,
        "candidate_run": comparison.candidate_run,
        "threshold": comparison.threshold,
        "alpha": comparison.alpha,
        "confidence": 1 - comparison.alpha,
        "counts": comparison.counts(),
        "environment_differences": [asdict(diff) for diff in comparison.env],
        "cases": [{key: _clean(value) for key, value in row.items()} for row in frame.to_dict("records")],
        "unmatched": [asdict(item) for item in comparison.unmatched],
    }


def _clean(value):
    return None if isinstance(value, float) and math.isnan(value) else value
