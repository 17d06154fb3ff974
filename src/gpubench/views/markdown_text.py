"""Data shown in markdown (``compare --format markdown``, the nightly ``report.md``): text, never markup.

A case name, a host name or an environment value may hold a newline (which would end a table row
or start a heading), a ``|`` (a new cell), raw HTML, or backticks that close a code block. These
helpers make such a value one inert line: newlines become spaces, ``|`` and ``\\`` are escaped,
``<``, ``>`` and ``&`` become HTML entities (markdown renders them as the characters).
"""

from __future__ import annotations

import html
import re

_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")


def inline(text: object) -> str:
    """``text`` as one line of markdown that renders as itself (no heading, HTML or table break)."""
    one_line = _LINE_BREAKS.sub(" ", str(text))
    return html.escape(one_line.replace("\\", "\\\\"), quote=False)


def cell(text: object) -> str:
    """``text`` as the content of one markdown table cell."""
    return inline(text).replace("|", "\\|")


def code_block(text: str) -> str:
    """``text`` in a fenced code block whose fence no backtick run inside it can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"
