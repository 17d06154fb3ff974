"""What changed in the fingerprint where a case's level shifted.

A shift at run i (the first run after it) is attributed to every fingerprint column whose value
differs between two consecutive runs from i - 1 to i + 1 (one run of slack either side: a split
between runs is an estimate). The git commit changes every night, so it is never "the" cause:
it is given as the range of commits from the run before the slack to the run after it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from gpubench.store.machine import ENVIRONMENT_COLUMNS, MACHINE_COLUMNS

# Versions, GPU, PCIe link and host. The machine key (GPU model and host name) is constant in
# one machine's history, but a board (UUID), a link or a host's CPU or OS can change under it.
ATTRIBUTABLE = tuple(
    column
    for column in (*ENVIRONMENT_COLUMNS, *MACHINE_COLUMNS, "gpu_uuid", "profile")
    if column not in ("git_commit", "cpu_count", "torch_num_threads")  # the commit: a range, below
)
SLACK = 1


@dataclass(frozen=True)
class EnvironmentChange:
    key: str
    before: str | None
    after: str | None


def environment_changes(runs: pd.DataFrame, index: int, slack: int = SLACK) -> list[EnvironmentChange]:
    """Fingerprint changes next to run ``index`` of ``runs`` (one case's runs in time order),
    nearest first: between runs index-1 and index, then the pairs one run either side."""
    pairs = [j for j in _nearest(index, slack) if 1 <= j < len(runs)]
    changes = []
    for key in ATTRIBUTABLE:
        if key not in runs:
            continue
        values = [_text(value) for value in runs[key]]
        for j in pairs:
            if values[j - 1] != values[j]:
                changes.append(EnvironmentChange(key, values[j - 1], values[j]))
                break
    return changes


def commit_range(runs: pd.DataFrame, index: int, slack: int = SLACK) -> tuple[str | None, str | None]:
    """(commit of the last run before the shift and its slack, commit of the first after it and its slack)."""
    if "git_commit" not in runs or runs.empty:
        return None, None
    commits = [_text(value) for value in runs["git_commit"]]
    return commits[max(index - 1 - slack, 0)], commits[min(index + slack, len(commits) - 1)]


def _nearest(index: int, slack: int) -> list[int]:
    order = [index]
    for step in range(1, slack + 1):
        order += [index - step, index + step]
    return order


def _text(value) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
