"""Reading a JSON file a user named: a missing or unreadable file is a one-line error, never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def read_json(path: str | os.PathLike, error: type[Exception] = ValueError) -> Any:
    """The decoded content of ``path``; ``error`` (one line) when it is missing or not JSON."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except (OSError, ValueError, RecursionError) as problem:  # ValueError: bad JSON, bytes or huge numbers
        reason = " ".join(str(problem).split())
        raise error(f"{path}: not a readable JSON file ({reason})") from None
