"""Text tables in the nccl-tests manner: one line per case, every column named with its unit.

Each suite's layout comes from the registry (``gpubench.suites``); a suite it does not know gets
the generic one (case and median time). Every table ends with the IQR and the sample count, then
the rows' distinct notes (``note``: a fallback or a caveat the figures carry).
"""

from __future__ import annotations

import pandas as pd

from gpubench import suites
from gpubench.files.terminal import printable
from gpubench.suites import Column
from gpubench.views.text_table import aligned

COMMON_TAIL = (Column("iqr_s", "IQR (us)", "{:.2f}"), Column("rounds", "n", "{:.0f}"))
SECONDS_SHOWN_IN_US = ("iqr_s", "median_s")


def summary(frame: pd.DataFrame) -> str:
    """Every suite of ``frame``: measured cases as tables, then the skipped ones with reasons."""
    parts = []
    frame = suites.current_names(frame)
    for suite, rows in frame.groupby("suite", sort=False):
        measured = rows[rows["status"] == "ok"]
        if not measured.empty:
            parts.append(f"# {printable(suite)}\n{table(measured, suites.columns(str(suite)))}" + _notes(measured))
        skipped = rows[rows["status"] == "skipped"]
        if not skipped.empty:
            reasons = skipped.groupby("skip_reason").size()
            parts.append(
                f"# {printable(suite)}: {len(skipped)} case(s) skipped\n"
                + "\n".join(f"#   {count} x {printable(reason)}" for reason, count in reasons.items())
            )
    return "\n\n".join(parts) if parts else "no results"


def _notes(rows: pd.DataFrame) -> str:
    """The distinct ``note`` of the rows (what a figure means that its column cannot say), one line each."""
    if "note" not in rows:
        return ""
    notes = dict.fromkeys(str(note) for note in rows["note"].dropna() if str(note))
    return "".join(f"\n#   note: {printable(note)}" for note in notes)


def table(rows: pd.DataFrame, layout: tuple[Column, ...]) -> str:
    """``rows`` laid out by ``layout`` (columns the rows lack are left out), then IQR and n."""
    shown = [column for column in layout if column.key in rows] + list(COMMON_TAIL)
    cells = [[_cell(row, column) for column in shown] for _, row in rows.iterrows()]
    return "\n".join(aligned([column.heading for column in shown], cells))


def _cell(row: pd.Series, column: Column) -> str:
    value = row.get(column.key)
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "-"
    if column.key in SECONDS_SHOWN_IN_US:
        value = float(value) * 1e6
    try:
        return column.fmt.format(value)
    except (ValueError, TypeError):  # a column of mixed types, stored as JSON text: shown as it is
        return str(value)
