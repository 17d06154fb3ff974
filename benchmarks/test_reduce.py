"""Reduce bus bandwidth, nccl-tests style: NCCL and Gloo (CPU and CUDA tensors) across sizes.

``--gpubench-world-size N[,N...]`` picks the ranks (gpubench.run.collective_benchmark).
"""

from gpubench.run.collective_benchmark import collective_benchmark

pytest_generate_tests, test_reduce = collective_benchmark("reduce")
