"""Load gpubench's pytest-benchmark plugin: device-timed stats, fingerprint, skipped cases."""

from gpubench.run.pytest_plugin import *  # noqa: F403 - fixtures and hooks must live in this namespace
