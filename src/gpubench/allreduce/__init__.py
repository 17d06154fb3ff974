"""AllReduce bus bandwidth, the nccl-tests way, for NCCL and Gloo, on one node or many.

- ``spec``: what a sweep is (backend, device, ranks, sizes, dtypes) and the bandwidth formulas.
- ``check``: the data the collectives run on, and the untimed correctness check (``#wrong``).
- ``rank``: what every rank runs: the per-size sweep, timed and checked.
- ``launch``: ranks as local worker processes (the pytest path and ``gpubench allreduce``).
- ``report``: rank 0's results as a pytest-benchmark document, stored like any run.
- ``cli`` / ``__main__``: ``torchrun ... -m gpubench.allreduce [options]``.

Importing this package imports nothing heavy; torch comes with the modules that need it.
"""
