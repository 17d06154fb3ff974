"""New run ids: unique by construction, the UTC time of the run and a random part.

``20261127T012346Z-338b7e``: sortable by time, safe as a file and folder name (the store checks
every id it is given with ``store.run_id.validate_run_id``).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone


def new_run_id(now: datetime | None = None) -> str:
    """``<UTC time as %Y%m%dT%H%M%SZ>-<6 hex digits>`` for ``now`` (default: the current time)."""
    now = now or datetime.now(timezone.utc)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{os.urandom(3).hex()}"
