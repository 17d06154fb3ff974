"""``gpubench verify``: gpubench's figures checked against independent plain timings, in the same run.

Each suite's headline cases (copies at 256 MiB, conv at a ResNet-50 3x3 shape, AllReduce at 16-64
MiB, and the spin kernel the CUDA timings rely on) are measured by gpubench's own method and by a
plain reference, in interleaved rounds; the ratio of the two is judged against a tolerance.
Modules: ``check`` (pairs, rounds, the verdict; no torch), one module per reference (``copy``,
``spin``, ``conv``, ``allreduce``), ``runner`` (which checks, in order), ``table`` (text and
JSON), ``record`` (the rows stored as suite ``verify``). Method: docs/verify.md.
"""

# Check name (the ``suite`` of a check) -> the module whose ``pairs()`` builds its pairs, in the
# order verify runs them. Here, not in ``runner``, so that the CLI lists them without numpy.
CHECKS = {
    "copy": "gpubench.verify.copy",
    "spin": "gpubench.verify.spin",
    "conv": "gpubench.verify.conv",
    "allreduce": "gpubench.verify.allreduce",
}
