"""Run ids as the store accepts them: every entry that takes one checks it here.

A new run id is minted by ``gpubench.run.run_id``; a foreign document's is derived at ingest.

A run id names files and folders (``runs/<id>.parquet``, ``plots/<id>/``, ``nightly/<id>/``), so
every entry that takes one (documents, command lines, verdicts files) checks it with
``validate_run_id``: letters, digits, ``.``, ``_``, ``+`` and ``-`` only, starting with a letter or
digit, no ``..``, at most ``MAX_LENGTH`` characters.
"""

from __future__ import annotations

import re
from typing import Any

from gpubench.store.schema import StoreError

MAX_LENGTH = 128
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


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
