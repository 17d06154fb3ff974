"""Which checks ``gpubench verify`` runs, in which order, and running them one pair at a time."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gpubench.measure.agreement import Check, Pair, Skip, biased, interleave
from gpubench.suites import resolve, verify_checks

Outcome = Check | Skip


def run_checks(
    suites: Sequence[str],
    rounds: int,
    tolerance: float,
    reference_bias: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Outcome]:
    """Every pair of the named suites, interleaved over ``rounds``; a pair that errors is reported, not fatal.

    ``reference_bias`` makes every reference report that factor x its time (``check.biased``).
    """
    checks = verify_checks()
    unknown = [name for name in suites if name not in checks]
    if unknown:
        raise ValueError(f"unknown verify suite {', '.join(unknown)}; expected some of {', '.join(checks)}")
    outcomes: list[Outcome] = []
    for name in suites:
        try:
            pairs = pairs_of(name)
        except Exception as error:
            outcomes.append(Skip(name, "(setting up)", f"error: {type(error).__name__}: {error}", error=True))
            continue
        for pair in pairs:
            outcomes.append(_run_pair(pair, rounds, tolerance, reference_bias, progress))
        del pairs  # buffers of one suite are freed before the next allocates its own
    return outcomes


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


def exit_code(outcomes: Sequence[Outcome]) -> int:
    """1 when a stable check is outside its tolerance or a check errored; else 0."""
    failed = [o for o in outcomes if (isinstance(o, Check) and o.fails) or (isinstance(o, Skip) and o.error)]
    return 1 if failed else 0
