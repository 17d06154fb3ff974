"""``python -m gpubench``: the CLI, also straight from a checkout with ``PYTHONPATH=src``."""

from gpubench.cli import entry_point

entry_point()
