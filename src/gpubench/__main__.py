"""``python -m gpubench``: the CLI, also straight from a checkout with ``PYTHONPATH=src``."""

import sys

from gpubench.cli import entry_point

sys.exit(entry_point())
