"""The registry of suites: every view (tables, plots, compare, history, doctor) iterates it.

A suite is a package under ``gpubench.suites`` whose ``__init__`` declares one ``Suite`` (or, for
a family such as the collectives, several) and imports nothing heavy: what needs torch or
matplotlib is named by a ``"module:attribute"`` reference and imported only when it is used, so
commands that only read the store never import torch. A suite that is not registered (another
project's pytest-benchmark suite, ingested as it is) gets the generic view: its case name and
median time, its first known rate as headline. Adding a suite: docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Column:
    """One column of a suite's text table: the store column, its heading (with unit), its format."""

    key: str
    heading: str
    fmt: str = "{}"


@dataclass(frozen=True)
class GpuCheckStep:
    """One step of scripts/gpu-check.sh: one process that stores what it measured before it ends.

    ``command`` is the argument list, with ``{python}``, ``{store}`` and ``{ranks}`` filled in when
    the check runs; ``limit_s`` its time limit; ``estimate_s`` what it is expected to take on one
    H200 (an estimate until a GPU run measures it: docs/gpu-check.md); ``phase`` orders the steps
    (``verify`` before the GPU unit tests, ``measure`` after them).
    """

    label: str
    command: tuple[str, ...]
    limit_s: int
    estimate_s: int
    phase: str = "measure"
    tail: int = 6


@dataclass(frozen=True)
class Suite:
    """What gpubench knows of a suite. References are ``"package.module:attribute"`` strings.

    ``case`` names the module with ``configs(profile) -> list[config]`` and
    ``measure(config) -> CaseResult`` (configs have ``params()``); ``columns`` lay out its text
    table; ``headline`` is the metric column a case is shown by (``median_s`` when the suite has
    none); ``plot`` draws ``(frame, out_dir) -> [png paths]`` (several references: drawn in
    parallel); ``plot_columns`` are the columns the plot needs (rows
    without them are not drawn, and that is said); ``doctor_rules`` judges stored
    rows against physical limits, ``(frame, run label) -> [Finding]``; ``verify`` names the
    suite's ``gpubench verify`` checks, ``(check name, "module:pairs")`` each, whose ``pairs()``
    time its headline cases by gpubench's method and by a plain reference. ``judged`` False keeps a
    suite's rows out of the nightly's verdicts and out of "the latest run" that commands pick
    (``gpubench verify``'s rows). ``renamed`` pairs (old column, new column): rows stored under the
    old name are read under the new one (``current_names``). ``gpu_check`` are the steps
    scripts/gpu-check.sh runs for the suite (``GpuCheckStep``, gpubench.suites.gpu_check) and
    ``must_show`` the ``"module:lines"`` that reads its rows back for the check's summary,
    ``(frame) -> [line]``.
    """

    name: str
    title: str
    case: str
    columns: tuple[Column, ...] = ()
    headline: str = "median_s"
    plot: str | tuple[str, ...] | None = None
    doctor_rules: str | None = None
    verify: tuple[tuple[str, str], ...] = ()
    plot_columns: tuple[str, ...] = ()
    judged: bool = True
    renamed: tuple[tuple[str, str], ...] = ()
    gpu_check: tuple[GpuCheckStep, ...] = ()
    must_show: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def case_module(self) -> Any:
        return importlib.import_module(self.case)

    def configs(self, profile: str) -> list[Any]:
        return self.case_module().configs(profile)

    def measure(self, config: Any) -> Any:
        return self.case_module().measure(config)

    def plotters(self) -> tuple[Callable[..., Any], ...]:
        """The suite's figure makers: one reference, or several that can be drawn in parallel."""
        references = (self.plot,) if isinstance(self.plot, str) else self.plot or ()
        return tuple(resolve(reference) for reference in references)

    def doctor(self) -> Callable[..., Any] | None:
        return resolve(self.doctor_rules) if self.doctor_rules else None


def current_names(frame: Any) -> Any:
    """``frame`` with each suite's renamed columns read under their new names (old rows kept readable)."""
    for suite in SUITES.values():
        for old, new in suite.renamed:
            if old not in frame:
                continue
            frame = frame.copy()
            rows = frame["suite"] == suite.name if "suite" in frame else slice(None)
            current = frame.get(new)
            filled = frame.loc[rows, old] if current is None else current[rows].fillna(frame.loc[rows, old])
            frame.loc[rows, new] = filled
    return frame


def resolve(reference: str) -> Any:
    """``"package.module:attribute"`` -> the attribute, importing the module now."""
    module_name, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


# Every package under gpubench.suites that declares ``SUITES`` (a tuple of Suite) is a suite
# package: a new suite is a new folder, and no list here changes. Views show suites in the order of
# each package's ``POSITION`` (then by name).
DEFAULT_POSITION = 50


# What a suite absent from the registry is shown by: its case and median time, and as headline
# the first of these rates it carries (all derived from the time samples), else its median time.
GENERIC_COLUMNS = (Column("case", "case"), Column("median_s", "median (us)", "{:.2f}"))
GENERIC_HEADLINES = ("busbw_gbps", "gbps", "algbw_gbps", "tflops")
# The unit each headline rate is shown in (GB/s = 10^9 B/s); a time is shown in s, ms, us or ns.
UNITS = {"gbps": "GB/s", "busbw_gbps": "GB/s busbw", "algbw_gbps": "GB/s algbw", "tflops": "TFLOP/s"}


def _load() -> dict[str, Suite]:
    packages = []
    for info in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
        if info.ispkg:
            module = importlib.import_module(info.name)
            if hasattr(module, "SUITES"):
                packages.append((getattr(module, "POSITION", DEFAULT_POSITION), info.name, module))
    registry: dict[str, Suite] = {}
    for _, _, module in sorted(packages, key=lambda entry: entry[:2]):
        for suite in module.SUITES:
            if suite.name in registry:
                raise RuntimeError(f"suite {suite.name!r} is declared twice")
            registry[suite.name] = suite
    return registry


SUITES: dict[str, Suite] = _load()


def get_suite(name: str) -> Suite | None:
    return SUITES.get(name)


def columns(suite_name: str) -> tuple[Column, ...]:
    """The text-table layout of a suite; the generic one for a suite the registry does not know."""
    suite = SUITES.get(suite_name)
    return suite.columns if suite and suite.columns else GENERIC_COLUMNS


def headline_metric(suite_name: str, available: Iterable[str]) -> str:
    """The column a case of ``suite_name`` is shown by, among the ``available`` ones (with values).

    A registered suite: its declared headline when available, else ``median_s``. Another suite:
    the first of ``GENERIC_HEADLINES`` available, else ``median_s``.
    """
    have = set(available)
    return next((metric for metric in headline_candidates(suite_name) if metric in have), "median_s")


def headline_candidates(suite_name: str) -> tuple[str, ...]:
    """The metrics a case of ``suite_name`` may be shown by, in order of preference (then ``median_s``)."""
    suite = SUITES.get(suite_name)
    return (suite.headline,) if suite else GENERIC_HEADLINES


def verify_checks() -> dict[str, str]:
    """Every ``gpubench verify`` check: its name -> ``"module:pairs"``, in the registry's order."""
    checks: dict[str, str] = {}
    for suite in SUITES.values():
        for name, reference in suite.verify:
            if name in checks:
                raise RuntimeError(f"verify check {name!r} is declared twice")
            checks[name] = reference
    return checks


def unjudged_suites() -> frozenset[str]:
    """Suites whose rows no verdict judges and no "latest run" picks (``Suite.judged`` False)."""
    return frozenset(name for name, suite in SUITES.items() if not suite.judged)


def all_headlines() -> tuple[str, ...]:
    """Every metric any case may be shown by: each registered suite's headline and the generic ones."""
    return tuple(dict.fromkeys([*(suite.headline for suite in SUITES.values()), *GENERIC_HEADLINES]))
