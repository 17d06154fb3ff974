"""The verify suite's case interface: its checks are listed here and run only by ``gpubench verify``.

verify's checks need interleaved rounds of two methods, so pytest never measures them.
"""

from __future__ import annotations

from gpubench.measure.result import CaseSkipped
from gpubench.suites import verify_checks


def configs(profile: str) -> list[str]:
    """The checks verify covers, one name per check; the profile changes nothing."""
    return list(verify_checks())


def measure(config: str) -> None:
    """verify's checks need interleaved rounds of two methods: they run through ``gpubench verify``."""
    raise CaseSkipped(f"verify check {config!r} runs through `gpubench verify`, not through pytest")
