"""``torchrun --nproc-per-node N -m gpubench.suites.collectives [options]``: ``gpubench allreduce`` on every rank.

``-m gpubench.allreduce`` is the same entry point under its documented name.
"""

import sys

from gpubench.cli import main

sys.exit(main(["allreduce", *sys.argv[1:]]))
