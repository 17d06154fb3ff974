"""cuDNN convolution: the four benchmark x deterministic combinations, per shape, dtype, layout, pass.

Each flag combination is measured in one fresh worker process that serves all its cases for the
session (cuDNN's plan cache ignores ``benchmark``; see gpubench/suites/conv/case.py); each test case
then reports the samples its worker measured.
"""

import pytest

from gpubench.suites.conv import case as conv
from gpubench.suites.conv.worker import ConvSession


def pytest_generate_tests(metafunc):
    if "config" in metafunc.fixturenames:
        cases = conv.configs(metafunc.config.getoption("--gpubench-profile"))
        metafunc.parametrize("config", cases, ids=[case.id for case in cases])


@pytest.fixture(scope="session")
def conv_session(request):
    """The cases this session selected (after -k), so each worker measures only those."""
    selected = []
    for item in request.session.items:
        config = getattr(getattr(item, "callspec", None), "params", {}).get("config")
        if isinstance(config, conv.ConvConfig):
            selected.append(config)
    return ConvSession(selected)


def test_conv(gpubench, conv_session, config):
    conv.check_kernels(gpubench.run(conv_session.result, config))
