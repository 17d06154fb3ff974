"""Copy bandwidth: H2D, D2H, D2D, bidirectional, pinned and pageable, and the host baseline."""

from gpubench.run.pytest_plugin import parametrize_cases
from gpubench.suites.copy import case as copy


def pytest_generate_tests(metafunc):
    parametrize_cases(metafunc, copy.configs)


def test_copy(gpubench, config):
    gpubench.run(copy.measure, config)
