"""Which checks ``gpubench verify`` runs, in which order, and running them one pair at a time."""

from __future__ import annotations

import signal
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from gpubench.measure.agreement import Check, Pair, Skip, biased, interleave
from gpubench.run.stopping import SIGNALS, StopInside, not_run_reason
from gpubench.suites import resolve, verify_checks

if TYPE_CHECKING:
    from gpubench.views.progress import Progress

Outcome = Check | Skip


def run_checks(
    suites: Sequence[str],
    rounds: int,
    tolerance: float,
    reference_bias: float | None = None,
    progress: Callable[[str], None] | None = None,
    display: Progress | None = None,
) -> list[Outcome]:
    """Every pair of the named suites, interleaved over ``rounds``; a pair that errors is reported, not fatal.

    ``reference_bias`` makes every reference report that factor x its time (``check.biased``).
    A SIGTERM or Ctrl-C (gpubench.run.stopping) ends the pair that runs: the checks done are
    returned, and every pair (or suite) not done as a Skip with the reason "not run".
    ``progress`` gets one line per round; ``display`` is told of each check when it is over, and
    of each round as a note (both between rounds, never inside one).
    """
    checks = verify_checks()
    unknown = [name for name in suites if name not in checks]
    if unknown:
        raise ValueError(f"unknown verify suite {', '.join(unknown)}; expected some of {', '.join(checks)}")
    outcomes: list[Outcome] = []
    with StopInside() as stops:
        for index, name in enumerate(suites):
            pairs: list[Pair | Skip] | None = None  # None: not built yet
            before = len(outcomes)
            try:
                pairs = _pairs(name, display, outcomes)
                for pair in pairs:
                    outcome = _run_pair(pair, rounds, tolerance, reference_bias, _tell(progress, display, name))
                    outcomes.append(outcome)
                    if display:
                        display.case_done(name, pair.case, *_display_outcome(outcome))
            except KeyboardInterrupt:
                if stops.stop is None:
                    raise
                reason = not_run_reason(stops.stop)
                if pairs is None:  # stopped while its pairs were built
                    unchecked = [Skip(name, "(not run)", reason)]
                else:
                    unchecked = [Skip(p.suite, p.case, reason, p.params) for p in pairs[len(outcomes) - before :]]
                outcomes += unchecked + [Skip(later, "(not run)", reason) for later in suites[index + 1 :]]
                break
            del pairs  # buffers of one suite are freed before the next allocates its own
    return outcomes


def _pairs(name: str, display: Progress | None, outcomes: list[Outcome]) -> list[Pair | Skip]:
    """The suite's pairs, planned on the display; none when building them fails (said in ``outcomes``)."""
    try:
        pairs = pairs_of(name)
    except Exception as error:
        outcomes.append(Skip(name, "(setting up)", f"error: {type(error).__name__}: {error}", error=True))
        if display:
            display.plan([(name, ["(setting up)"])], unit="checks")
            display.case_done(name, "(setting up)", "failed", str(error))
        return []
    if display:
        display.plan([(name, [pair.case for pair in pairs])], unit="checks")
    return pairs


def _tell(progress: Callable[[str], None] | None, display: Progress | None, suite: str) -> Callable[[str], None]:
    def tell(line: str) -> None:
        if progress:
            progress(line)
        if display:
            display.note(suite, line.removeprefix(f"{suite} ").split(": gpubench")[0])

    return tell


def _display_outcome(outcome: Outcome) -> tuple[str, str]:
    if isinstance(outcome, Skip):
        return ("failed", outcome.reason) if outcome.error else ("skipped", outcome.reason)
    return ("failed", "ratio outside the tolerance") if outcome.fails else ("measured", "")


def pairs_of(name: str) -> list[Pair | Skip]:
    """The pairs (or skips) of one check name, built now (buffers, shapes, the sizes it checks)."""
    return resolve(verify_checks()[name])()


def _run_pair(pair: Pair | Skip, rounds, tolerance, reference_bias, progress) -> Outcome:
    if isinstance(pair, Skip):
        return pair
    if reference_bias is not None:
        biased(pair, reference_bias)
    try:
        return interleave(pair, rounds, tolerance, progress)
    except Exception as error:
        first_line = (str(error).strip().splitlines() or [""])[0]
        return Skip(pair.suite, pair.case, f"error: {type(error).__name__}: {first_line}", pair.params, error=True)


def stopped_by(outcomes: Sequence[Outcome]) -> str | None:
    """The signal that stopped the checks (their "not run" skips say so), or None."""
    for outcome in outcomes:
        if isinstance(outcome, Skip):
            for signum in SIGNALS:
                if outcome.reason == not_run_reason(signum.name):
                    return signum.name
    return None


def exit_code(outcomes: Sequence[Outcome]) -> int:
    """128 + the signal when a stop ended the checks; 1 when a stable check is outside its
    tolerance or a check errored; else 0."""
    stop = stopped_by(outcomes)
    if stop is not None:
        return 128 + int(signal.Signals[stop])
    failed = [o for o in outcomes if (isinstance(o, Check) and o.fails) or (isinstance(o, Skip) and o.error)]
    return 1 if failed else 0
