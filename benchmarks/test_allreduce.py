"""AllReduce bus bandwidth: NCCL and Gloo (CPU and CUDA tensors) across sizes, as nccl-tests measures it.

Ranks run as local worker processes, one group per (backend, device, world size), which sweeps
every size once; each case reports its size. ``--gpubench-world-size N[,N...]`` picks the ranks.
"""

from gpubench.cases import allreduce
from gpubench.pytest_plugin import parametrize_cases

SUITE = allreduce.SUITE


def pytest_generate_tests(metafunc):
    world_sizes = allreduce.parse_world_sizes(metafunc.config.getoption("--gpubench-world-size"))
    parametrize_cases(metafunc, lambda profile: allreduce.configs(profile, world_sizes))


def test_allreduce(gpubench, config):
    allreduce.verify(gpubench.run(allreduce.measure, config))
