"""Run ids: unique by construction (UTC time and a random part), or derived from a foreign document.

A run id names files and folders (``runs/<id>.parquet``, ``plots/<id>/``, ``nightly/<id>/``), so
every entry that takes one (documents, command lines, verdicts files) checks it with
``validate_run_id``: letters, digits, ``.``, ``_``, ``+`` and ``-`` only, starting with a letter or
digit, no ``..``, at most ``MAX_LENGTH`` characters.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from typing import Any

from gpubench.store.schema import StoreError

MAX_LENGTH = 128
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{os.urandom(3).hex()}"


def validate_run_id(run_id: Any) -> str:
    """``run_id`` if it can name a file and a folder in the store; ``StoreError`` (one line) if not."""
    if not isinstance(run_id, str):
        raise StoreError(f"invalid run id {run_id!r}: not a text")
    if not _RUN_ID.fullmatch(run_id) or ".." in run_id or len(run_id) > MAX_LENGTH:
        raise StoreError(
            f"invalid run id {run_id!r}: use letters, digits, '.', '_', '+' and '-' only, starting with a letter "
            f"or digit, without '..', at most {MAX_LENGTH} characters"
        )
    return run_id
