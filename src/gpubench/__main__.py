"""``python -m gpubench``: the CLI, also straight from a checkout with ``PYTHONPATH=src``."""

import sys

from gpubench.cli import main

sys.exit(main())
