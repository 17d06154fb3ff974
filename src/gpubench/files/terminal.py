"""Text from data as a terminal shows it: control characters escaped, so a name cannot fake a line.

A case or host name may hold a newline, an escape sequence (``\\x1b[31m``) or a carriage return;
printed raw, ``name\\ngpubench: error: FAKE`` makes a coloured error line that gpubench never
wrote. Every text table, heading and error line prints data through ``printable``: each control
character (and each lone surrogate, which no terminal encoding holds) becomes its escape.
Markdown and HTML escape their own way (``views.markdown_text``, ``views.report``).
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, line and paragraph separators, bidirectional overrides, surrogates.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: object) -> str:
    """``text`` with every control character as its escape (``\\n``, ``\\x1b``), the rest kept."""
    value = str(text)
    return _CONTROL.sub(_escape, value) if _CONTROL.search(value) else value


def _escape(match: re.Match[str]) -> str:
    return repr(match.group())[1:-1]
