"""One benchmark file per collective, two lines each: the test function and its parametrisation.

``benchmarks/test_<suite>.py`` holds ``pytest_generate_tests, test_<suite> = collective_benchmark(
"<collective>")``: the cases of that collective's suite under the profile and the world sizes
``--gpubench-world-size`` asks for, each measured and its ``#wrong`` checked. The function's name in
the file (``test_<suite>``) is what pytest-benchmark names the cases by, so history stays. Each
test first passes the session's selected cases to the sweep (``case.select_items``), so ``-k``
leaves the deselected sizes unmeasured, not only unreported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpubench.run.pytest_plugin import parametrize_cases
from gpubench.suites.collectives.case import parse_world_sizes, select_items, verify
from gpubench.suites.collectives.spec import collective


def collective_benchmark(name: str) -> tuple[Callable[[Any], None], Callable[[Any, Any, Any], None]]:
    """``(pytest_generate_tests, test)`` for the collective ``name`` (``all_reduce``, ``all_gather``, ...)."""
    module = collective(name)

    def pytest_generate_tests(metafunc: Any) -> None:
        world_sizes = parse_world_sizes(metafunc.config.getoption("--gpubench-world-size"))
        parametrize_cases(metafunc, lambda profile: module.configs(profile, world_sizes))

    def test(gpubench: Any, config: Any, request: Any) -> None:
        select_items(request.session.items)  # the sweep measures only what this session selected (-k)
        verify(gpubench.run(module.measure, config))

    test.__doc__ = f"{module.SUITE}: bus bandwidth, nccl-tests style, one case per size, backend and world size."
    return pytest_generate_tests, test
