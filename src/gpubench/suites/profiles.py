"""The two profiles every suite offers: ``quick`` (minutes, CI-sized) and ``full`` (the sweep).

Each case module decides what its profiles hold (``configs(profile)``); this module only names
them and checks a user's choice.
"""

from __future__ import annotations

PROFILES = ("quick", "full")
DEFAULT_PROFILE = "quick"


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    return profile


def powers_of_two(smallest: int, largest: int) -> list[int]:
    sizes = []
    size = smallest
    while size <= largest:
        sizes.append(size)
        size *= 2
    return sizes
