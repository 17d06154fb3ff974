"""``torchrun --nproc-per-node N -m gpubench.allreduce [options]``: ``gpubench allreduce`` on every rank."""

import sys

from gpubench.cli import main

sys.exit(main(["allreduce", *sys.argv[1:]]))
