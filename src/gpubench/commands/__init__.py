"""The CLI's subcommands, one module each: ``NAME``, ``HELP``, ``add_arguments(parser)``, ``main(args)``.

``gpubench.cli`` imports every one of them to build its parser, so a command module imports at
module level only what its arguments need (argparse, profiles, constants); torch, pandas and
matplotlib are imported inside ``main``. tests/test_lazy_imports.py holds them to it.
"""

COMMANDS = (
    "run",
    "ingest",
    "plot",
    "env",
    "doctor",
    "compare",
    "history",
    "fleet",
    "nightly",
    "allreduce",
    "verify",
    "store",
    "site",
)
