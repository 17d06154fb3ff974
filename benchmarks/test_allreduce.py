"""AllReduce bus bandwidth: NCCL and Gloo (CPU and CUDA tensors) across sizes, as nccl-tests measures it.

Ranks run as local worker processes, one group per (backend, device, world size), which sweeps
every size once; each case reports its size. ``--gpubench-world-size N[,N...]`` picks the ranks.
"""

import pytest

from gpubench.run.pytest_plugin import parametrize_cases
from gpubench.suites.collectives import all_reduce as collective
from gpubench.suites.collectives.case import parse_world_sizes, select_items, verify

SUITE = collective.SUITE


def pytest_generate_tests(metafunc):
    world_sizes = parse_world_sizes(metafunc.config.getoption("--gpubench-world-size"))
    parametrize_cases(metafunc, lambda profile: collective.configs(profile, world_sizes))


@pytest.fixture(scope="session", autouse=True)
def _selected_only(request):
    """The sweeps measure only the sizes this session selected (after -k)."""
    select_items(request.session.items)


def test_allreduce(gpubench, config):
    verify(gpubench.run(collective.measure, config))
