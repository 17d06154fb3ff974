"""Strict JSON for everything gpubench prints or writes: what a strict parser accepts, always.

Python's ``json`` writes ``NaN`` and ``Infinity``, which JSON does not have and strict parsers
(``jq``, browsers' ``JSON.parse``, Go, Rust) reject. Here a number that is not finite is ``null``,
numpy scalars and arrays are plain numbers and lists, and anything else JSON cannot hold is its text.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any


def dumps(value: Any, indent: int | None = 2) -> str:
    """``value`` as strict JSON text (see the module docstring)."""
    return json.dumps(plain(value), indent=indent, default=str, allow_nan=False)


def plain(value: Any) -> Any:
    """``value`` with non-finite floats as None and numpy values as Python ones, recursively."""
    np = sys.modules.get("numpy")  # no numpy value exists before numpy is imported: never import it here
    if np is not None and isinstance(value, np.ndarray):
        value = value.tolist()
    elif np is not None and isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key if isinstance(key, (str, int, float, bool)) or key is None else str(key): plain(item)
                for key, item in value.items()}  # fmt: skip
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(item) for item in value]
    return value
