"""The CLI's subcommands, one module each: ``NAME``, ``HELP``, ``add_arguments(parser)``, ``main(args)``."""

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
)
