"""Tables as text: aligned columns for a terminal (nccl-tests' manner) and markdown for reports.

Both take headings and rows of already formatted cells, so every view formats its own figures
and lays them out the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from gpubench.files.terminal import printable
from gpubench.views import markdown_text


def aligned(headings: Sequence[str], rows: Sequence[Sequence[str]], left: Collection[int] = ()) -> list[str]:
    """One line per row under a ``# ``-prefixed heading line; columns in ``left`` are left-aligned,
    the others right-aligned (numbers). Cells are data: control characters are escaped
    (``files.terminal.printable``), so a name holding a newline or an escape sequence stays in its cell."""
    cells = [[printable(cell) for cell in headings], *([printable(cell) for cell in row] for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(headings))]
    lines = []
    for line in cells:
        text = "  ".join(
            cell.ljust(width) if i in left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        )
        lines.append(("# " if not lines else "  ") + text.rstrip())
    return lines


def lines_of(lines: Sequence[str]) -> str:
    """Lines that each hold one line of layout and data, joined for a terminal: the data's own
    control characters escaped, so no name can start a line of its own."""
    return "\n".join(printable(line) for line in lines)


def markdown(headings: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A markdown table; each cell escaped (``markdown_text.cell``: no row, heading or HTML can be injected)."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(markdown_text.cell(cell) for cell in cells) + " |"

    return [line(headings), "|" + "|".join("---" for _ in headings) + "|", *[line(row) for row in rows]]
