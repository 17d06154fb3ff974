"""``torchrun ... -m gpubench.allreduce``: the documented entry point, kept where users find it.

The collectives live in gpubench.suites.collectives; this package only forwards to them.
"""
