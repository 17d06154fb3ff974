"""A collective's cases: NCCL on CUDA tensors, Gloo on CPU tensors, Gloo on CUDA tensors.

One case is one (collective, backend, device, world size, dtype, size, placement). The ranks of a
(collective, backend, device, world size) run the size sweep once, as worker processes
(gpubench.suites.collectives.launch); the sweep is cached for the session and each case reports
its size from it. A pytest session that selected only some cases (``-k "not 268435456"``) passes
them to ``select`` first, so the sweep measures those sizes, dtypes and placements only. Under
torchrun the same sweep runs on the launched ranks and ends in the same rows
(gpubench.suites.collectives.collect, gpubench.pipeline).

Figures (nccl-tests' definitions, docs/collectives.md): ``median_s`` is seconds per collective,
the median over timed loops of the slowest rank's loop time / iterations; ``algbw_gbps = bytes /
median_s / 1e9`` with ``bytes`` the whole array; ``busbw_gbps = algbw_gbps x`` the collective's
factor; the ``*_mean_rank_*`` figures are the same from the ranks' mean loop time (nccl-tests'
default); ``latency_*_us`` are percentiles of the per-loop times; ``wrong`` counts elements the
untimed check found wrong, summed over ranks (nccl-tests' ``#wrong``). Where a backend runs
another algorithm than the collective's own (Gloo's reduce_scatter), ``algorithm`` and ``note``
say so; Gloo rows carry no link columns (links.py).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import torch

from gpubench.machine.fingerprint import cuda_unavailable_reason
from gpubench.measure.result import CaseResult, CaseSkipped, Scalar, VerificationError
from gpubench.measure.stats import Measurement, quantile
from gpubench.suites.collectives.harness import sweep_skip_reason
from gpubench.suites.collectives.launch import launch
from gpubench.suites.collectives.spec import (
    ITEMSIZE,
    TRANSPORTS,
    Sweep,
    SweepOutcome,
    algbw_gbps,
    collective,
    default_dtypes,
    profile_sizes,
    whole_count,
)


@dataclass(frozen=True)
class CollectiveConfig:
    """One size, dtype and placement of a sweep, run by local worker processes (one node)."""

    sweep: Sweep
    dtype: str
    nbytes: int  # the size asked for (the case's ``bytes`` is the whole array measured)
    in_place: bool = True

    def params(self) -> dict[str, Scalar]:
        return case_params(self.sweep, 1, self.dtype, self.nbytes, self.in_place)


def case_params(sweep: Sweep, nodes: int, dtype: str, nbytes: int, in_place: bool) -> dict[str, Scalar]:
    """What identifies a case. ``in_place`` is named only for a collective that has both placements,
    so that the cases of a single-placement collective (AllReduce's) keep the names they always had."""
    module = collective(sweep.collective)
    count = whole_count(nbytes, ITEMSIZE[dtype], sweep.world_size, module.SPLITS)
    params: dict[str, Scalar] = {
        "backend": sweep.backend,
        "device": sweep.device,
        "world_size": sweep.world_size,
        "nodes": nodes,
        "dtype": dtype,
        "bytes": count * ITEMSIZE[dtype] if count else nbytes,
    }
    if len(module.PLACEMENTS) > 1:
        params["in_place"] = in_place
    return params


def default_world_sizes() -> tuple[int, ...]:
    """The GPU count on a machine with several GPUs; otherwise 2 (the smallest real collective)."""
    gpus = torch.cuda.device_count() if cuda_unavailable_reason() is None else 0
    return (gpus,) if gpus >= 2 else (2,)


def parse_world_sizes(text: str | None) -> tuple[int, ...]:
    """``2,4`` -> (2, 4); None -> the default; anything else (empty, 0, words) is refused."""
    if text is None:
        return default_world_sizes()
    try:
        sizes = tuple(dict.fromkeys(int(part) for part in text.split(",") if part.strip()))
    except ValueError:
        raise ValueError(f"world sizes must be whole numbers like 2 or 2,4, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise ValueError(f"world sizes must be whole numbers of at least 1 like 2 or 2,4, got {text!r}")
    return sizes


def sweeps(
    name: str, profile: str, world_sizes: tuple[int, ...], transports: tuple[str, ...] = TRANSPORTS
) -> list[Sweep]:
    found = []
    for world_size in world_sizes:
        for transport in transports:
            backend, device = transport.split(":")
            sizes = profile_sizes(profile, device)
            found.append(Sweep(backend, device, world_size, sizes, default_dtypes(backend), collective=name))
    return found


def configs(name: str, profile: str, world_sizes: tuple[int, ...] | None = None) -> list[CollectiveConfig]:
    """Every case of collective ``name`` in a profile, per world size: NCCL (float32 and bfloat16),
    Gloo on CPU and on CUDA tensors, each placement the collective has.

    ``quick``: 8 B, 1 KiB, 64 KiB, 1 MiB, 16 MiB, 64 MiB (and 256 MiB on CUDA); ``full``: every
    power of two from 8 B to 1 GiB.
    """
    placements = collective(name).PLACEMENTS
    return [
        CollectiveConfig(sweep, dtype, size, in_place)
        for sweep in sweeps(name, profile, world_sizes or default_world_sizes())
        for dtype in sweep.dtypes
        for size in sweep.sizes
        for in_place in placements
    ]


_OUTCOMES: dict[Sweep, SweepOutcome | Exception] = {}
_SELECTED: dict[Sweep, Sweep] = {}


def select(selected: Iterable[CollectiveConfig]) -> None:
    """Narrow each sweep to what was selected: its sizes, dtypes and placements among the configs.

    The sweep then runs every combination of those (a superset when, say, one size was selected
    for one dtype only); sweeps none of whose cases were selected are left as they are.
    """
    chosen: dict[Sweep, tuple[dict, dict, dict]] = {}
    for config in selected:
        sizes, dtypes, placements = chosen.setdefault(config.sweep, ({}, {}, {}))
        sizes[config.nbytes] = dtypes[config.dtype] = placements[config.in_place] = None
    for sweep, (sizes, dtypes, placements) in chosen.items():
        every_placement = sweep.placements or collective(sweep.collective).PLACEMENTS
        _SELECTED[sweep] = replace(
            sweep,
            sizes=tuple(size for size in sweep.sizes if size in sizes),
            dtypes=tuple(dtype for dtype in sweep.dtypes if dtype in dtypes),
            placements=tuple(placement for placement in every_placement if placement in placements),
        )


def select_items(items: Iterable[Any]) -> None:
    """``select`` the configs of a pytest session's items (``session.items``: what -k left)."""
    select(
        config
        for item in items
        if isinstance(config := getattr(getattr(item, "callspec", None), "params", {}).get("config"), CollectiveConfig)
    )


def measure(config: CollectiveConfig, *, fresh: bool = False) -> CaseResult:
    """This case's figures from its sweep, run by local worker ranks once per session.

    ``fresh``: launch ranks for this one case now, whatever ran before (for interleaved rounds).
    """
    if fresh:
        only = replace(config.sweep, sizes=(config.nbytes,), dtypes=(config.dtype,), placements=(config.in_place,))
        outcome = _run(only)
    else:
        outcome = sweep_outcome(config.sweep)
    return case_result(outcome, config.dtype, config.nbytes, config.in_place, launcher="pytest")


def sweep_outcome(sweep: Sweep) -> SweepOutcome:
    """The sweep's outcome, run on first use; a failed run fails every case of it, without rerunning."""
    if sweep not in _OUTCOMES:
        try:
            _OUTCOMES[sweep] = _run(_SELECTED.get(sweep, sweep))
        except Exception as error:
            _OUTCOMES[sweep] = error
    outcome = _OUTCOMES[sweep]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def _run(sweep: Sweep) -> SweepOutcome:
    reason = sweep_skip_reason(sweep, sweep.world_size)
    return SweepOutcome(sweep, skip_reason=reason) if reason else launch([sweep])[0]


def case_result(outcome: SweepOutcome, dtype: str, nbytes: int, in_place: bool, launcher: str) -> CaseResult:
    """One size of a sweep as a CaseResult; CaseSkipped with the reason when it did not run."""
    if outcome.skip_reason:
        raise CaseSkipped(outcome.skip_reason)
    found = outcome.result(dtype, nbytes, in_place)
    if found is None:
        raise CaseSkipped(f"{nbytes} B {dtype} {'in' if in_place else 'out of'} place is not part of this sweep")
    if found.skip_reason:
        raise CaseSkipped(found.skip_reason)
    sweep = outcome.sweep
    module = collective(sweep.collective)
    whole = found.count * ITEMSIZE[dtype]
    factor = module.busbw_factor(sweep.world_size)
    measurement = Measurement(found.samples, ops_per_sample=found.iters, clock=found.clock)
    ordered = list(measurement.sorted_samples)
    mean_rank_s = statistics.median(found.mean_samples)
    metrics: dict[str, float] = {
        "algbw_gbps": algbw_gbps(whole, measurement.median),
        "busbw_gbps": algbw_gbps(whole, measurement.median) * factor,
        "latency_us": measurement.median * 1e6,
        "latency_p75_us": quantile(ordered, 0.75) * 1e6,
        "latency_p95_us": quantile(ordered, 0.95) * 1e6,
        "algbw_mean_rank_gbps": algbw_gbps(whole, mean_rank_s),
        "busbw_mean_rank_gbps": algbw_gbps(whole, mean_rank_s) * factor,
        "latency_mean_rank_us": mean_rank_s * 1e6,
        "wrong": found.wrong,
    }
    info: dict[str, Scalar] = {
        "collective": module.NAME,
        "in_place": in_place,
        "count": found.count,
        "busbw_factor": factor,
        "time_across_ranks": "max",
        "launcher": launcher,
        "hosts": outcome.hosts,
    }
    if module.ROOT is not None:
        info["root"] = module.ROOT
    fallback = getattr(module, "GLOO_FALLBACK", None) if sweep.backend == "gloo" else None
    if fallback:  # the backend runs another algorithm than the collective's own: say so in the row
        info["algorithm"], info["note"] = fallback
    if outcome.link_peak_gbps:
        metrics["link_peak_gbps"] = outcome.link_peak_gbps
        metrics["busbw_pct_of_link"] = 100.0 * metrics["busbw_gbps"] / outcome.link_peak_gbps
        info["link"] = outcome.link_name or ""
    params = case_params(sweep, outcome.nodes, dtype, nbytes, in_place)
    return CaseResult(module.SUITE, params, measurement, metrics, info)


def verify(result: CaseResult) -> None:
    """Fail a case whose check found wrong elements (its figures are stored all the same)."""
    wrong = int(result.metrics.get("wrong", 0))
    if wrong:
        raise VerificationError(f"{result.case}: {wrong} element(s) came back wrong (#wrong, summed over ranks)")
