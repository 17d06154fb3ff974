"""Where each page of the site lives, relative to its root: one function per page kind.

Names come from data (a machine key, a case name), so each is ``files.safe.slug``-ed and, where
two names could slug alike, given a short digest of the original: two cases that differ only in
characters the slug drops still get two pages. Pages sit one folder deep (``depth`` 1), so a
link from one to another is ``../<kind>/<name>.html``.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from gpubench.files.safe import slug


@lru_cache(maxsize=65536)
def _name(value: str) -> str:
    digest = hashlib.sha256(value.encode()).hexdigest()[:8]
    return f"{slug(value)[:60] or 'x'}-{digest}"


def machine_page(machine: str) -> str:
    return f"machines/{_name(machine)}.html"


def run_page(run_id: str) -> str:
    return f"runs/{slug(run_id)}.html"


def case_page(machine: str, suite: str, case: str) -> str:
    return f"cases/{_name(machine)}/{_name(suite + '::' + case)}.html"


def from_root(path: str, depth: int) -> str:
    """``path`` (from the site root) as a link from a page ``depth`` folders deep."""
    return "../" * depth + path


def depth_of(path: str) -> int:
    return path.count("/")
