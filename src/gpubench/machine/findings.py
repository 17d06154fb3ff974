"""A finding: what the doctor concluded, how bad it is, and what to do about it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

SEVERITIES = ("error", "warning", "info")  # most severe first; the order findings are printed in


@dataclass(frozen=True)
class Finding:
    """One conclusion. ``message`` and ``action`` are one line each (whitespace is collapsed).

    ``error``: figures from this machine cannot be trusted until it is fixed (the doctor exits 1);
    ``warning``: figures will be lower than the hardware allows; ``info``: context for reading them.
    ``check`` names the rule that found it (``cuda``, ``pcie``, ``clocks``...), for filtering.
    """

    severity: str
    check: str
    message: str
    action: str

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}; expected one of {SEVERITIES}")
        for name in ("check", "message", "action"):
            text = one_line(getattr(self, name))
            if not text:
                raise ValueError(f"a finding needs a non-empty {name}")
            object.__setattr__(self, name, text)

    def line(self) -> str:
        return f"{self.severity:<7}  {self.check:<8}  {self.message}  -> {self.action}"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def one_line(text: object) -> str:
    """``text`` with every run of whitespace (newlines included) made one space."""
    return " ".join(str(text).split())


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first; within a severity, the order the rules found them in."""
    return sorted(findings, key=lambda finding: SEVERITIES.index(finding.severity))


def count(findings: Iterable[Finding]) -> dict[str, int]:
    counts = dict.fromkeys(SEVERITIES, 0)
    for finding in findings:
        counts[finding.severity] += 1
    return counts


def exit_code(findings: Iterable[Finding]) -> int:
    """1 when any finding is an error, else 0."""
    return 1 if any(finding.severity == "error" for finding in findings) else 0
