"""``gpubench verify``: gpubench's figures checked against independent plain timings, in the same run.

Each suite's headline cases (copies at 256 MiB, conv at a ResNet-50 3x3 shape, AllReduce at 16-64
MiB, and the spin kernel the CUDA timings rely on) are measured by gpubench's own method and by a
plain reference, in interleaved rounds; the ratio of the two is judged against a tolerance.
Each suite declares its checks (``Suite.verify``; the references live in ``suites/<name>/verify.py``
and the spin kernel's in ``suites/verify/spin.py``); ``measure.agreement`` holds pairs, rounds and
the verdict (no torch). Here: ``runner`` (which checks, in order), ``table`` (text and JSON),
``record`` (the rows stored as suite ``verify``). Method: docs/verify.md.
"""
