"""Byte counts as people read them: ``4 KiB``, ``256 MiB``, ``1 GiB`` (binary units), else bytes."""

from __future__ import annotations


def human_bytes(size: int) -> str:
    """The largest binary unit that divides ``size`` exactly: 4096 -> ``4 KiB``; 1000 -> ``1000 B``."""
    size = int(size)
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} B"
