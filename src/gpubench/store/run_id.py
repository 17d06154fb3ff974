"""Run ids: unique by construction (UTC time and a random part), or derived from a foreign document."""

from __future__ import annotations

import os
from datetime import datetime, timezone


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{os.urandom(3).hex()}"
