"""AllReduce bus bandwidth: NCCL on CUDA tensors, Gloo on CPU tensors, Gloo on CUDA tensors.

One case is one (backend, device, world size, dtype, size). The ranks of a (backend, device,
world size) run the whole size sweep once, as worker processes (gpubench.allreduce.launch); the
sweep is cached for the session, and each case reports its size from it. Under torchrun the same
sweep runs on the launched ranks (``python -m gpubench.allreduce``) and ends in the same rows.

Figures (nccl-tests' definitions, see gpubench.allreduce.spec): ``median_s`` is seconds per
collective, the median over timed loops of the slowest rank's loop time / iterations;
``algbw_gbps = bytes / median_s / 1e9``; ``busbw_gbps = algbw_gbps x 2(n-1)/n``; ``latency_*_us``
are percentiles of the same per-loop times; ``wrong`` counts elements the untimed check found
wrong, summed over ranks (nccl-tests' ``#wrong``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gpubench.allreduce.launch import launch
from gpubench.allreduce.rank import sweep_skip_reason
from gpubench.allreduce.spec import (
    ITEMSIZE,
    TRANSPORTS,
    Sweep,
    SweepOutcome,
    algbw_gbps,
    busbw_gbps,
    default_dtypes,
    profile_sizes,
)
from gpubench.env import cuda_unavailable_reason
from gpubench.result import CaseResult, CaseSkipped, Scalar, VerificationError
from gpubench.stats import Measurement, quantile

SUITE = "allreduce"


@dataclass(frozen=True)
class AllReduceConfig:
    """One size and dtype of a sweep, run by local worker processes (one node)."""

    sweep: Sweep
    dtype: str
    nbytes: int

    def params(self) -> dict[str, Scalar]:
        return case_params(self.sweep, 1, self.dtype, self.nbytes)


def case_params(sweep: Sweep, nodes: int, dtype: str, nbytes: int) -> dict[str, Scalar]:
    return {
        "backend": sweep.backend,
        "device": sweep.device,
        "world_size": sweep.world_size,
        "nodes": nodes,
        "dtype": dtype,
        "bytes": nbytes,
    }


def default_world_sizes() -> tuple[int, ...]:
    """The GPU count on a machine with several GPUs; otherwise 2 (the smallest real AllReduce)."""
    gpus = torch.cuda.device_count() if cuda_unavailable_reason() is None else 0
    return (gpus,) if gpus >= 2 else (2,)


def parse_world_sizes(text: str | None) -> tuple[int, ...]:
    if not text:
        return default_world_sizes()
    try:
        sizes = tuple(dict.fromkeys(int(part) for part in text.split(",") if part.strip()))
    except ValueError:
        raise ValueError(f"world sizes must be whole numbers like 2 or 2,4, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise ValueError(f"world sizes must be at least 1, got {text!r}")
    return sizes


def sweeps(profile: str, world_sizes: tuple[int, ...], transports: tuple[str, ...] = TRANSPORTS) -> list[Sweep]:
    found = []
    for world_size in world_sizes:
        for transport in transports:
            backend, device = transport.split(":")
            found.append(Sweep(backend, device, world_size, profile_sizes(profile, device), default_dtypes(backend)))
    return found


def configs(profile: str, world_sizes: tuple[int, ...] | None = None) -> list[AllReduceConfig]:
    """Every case of a profile, per world size: NCCL (float32 and bfloat16), Gloo on CPU and on CUDA.

    ``quick``: 8 B, 1 KiB, 64 KiB, 1 MiB, 16 MiB, 64 MiB (and 256 MiB on CUDA); ``full``: every
    power of two from 8 B to 1 GiB.
    """
    cases = []
    for sweep in sweeps(profile, world_sizes or default_world_sizes()):
        cases += [AllReduceConfig(sweep, dtype, size) for dtype in sweep.dtypes for size in sweep.sizes]
    return cases


_OUTCOMES: dict[Sweep, SweepOutcome | Exception] = {}


def measure(config: AllReduceConfig) -> CaseResult:
    """This case's figures from its sweep, run once per session by local worker ranks."""
    return case_result(sweep_outcome(config.sweep), config.dtype, config.nbytes, launcher="pytest")


def sweep_outcome(sweep: Sweep) -> SweepOutcome:
    """The sweep's outcome, run on first use; a failed run fails every case of it, without rerunning."""
    if sweep not in _OUTCOMES:
        reason = sweep_skip_reason(sweep, sweep.world_size)
        try:
            _OUTCOMES[sweep] = SweepOutcome(sweep, skip_reason=reason) if reason else launch([sweep])[0]
        except Exception as error:
            _OUTCOMES[sweep] = error
    outcome = _OUTCOMES[sweep]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def case_result(outcome: SweepOutcome, dtype: str, nbytes: int, launcher: str) -> CaseResult:
    """One size of a sweep as a CaseResult; CaseSkipped with the reason when it did not run."""
    if outcome.skip_reason:
        raise CaseSkipped(outcome.skip_reason)
    found = outcome.result(dtype, nbytes)
    if found is None:
        raise CaseSkipped(f"{nbytes} B {dtype} is not part of this sweep")
    if found.skip_reason:
        raise CaseSkipped(found.skip_reason)
    sweep = outcome.sweep
    measurement = Measurement(found.samples, ops_per_sample=found.iters, clock=found.clock)
    ordered = list(measurement.sorted_samples)
    busbw = busbw_gbps(nbytes, measurement.median, sweep.world_size)
    metrics: dict[str, float] = {
        "algbw_gbps": algbw_gbps(nbytes, measurement.median),
        "busbw_gbps": busbw,
        "latency_us": measurement.median * 1e6,
        "latency_p75_us": quantile(ordered, 0.75) * 1e6,
        "latency_p95_us": quantile(ordered, 0.95) * 1e6,
        "wrong": found.wrong,
    }
    info: dict[str, Scalar] = {
        "count": nbytes // ITEMSIZE[dtype],
        "time_across_ranks": "max",
        "launcher": launcher,
        "hosts": outcome.hosts,
    }
    if outcome.link_peak_gbps:
        metrics["link_peak_gbps"] = outcome.link_peak_gbps
        metrics["busbw_pct_of_link"] = 100.0 * busbw / outcome.link_peak_gbps
        info["link"] = outcome.link_name or ""
    params = case_params(sweep, outcome.nodes, dtype, nbytes)
    return CaseResult(SUITE, params, measurement, metrics, info)


def verify(result: CaseResult) -> None:
    """Fail a case whose check found wrong elements (its figures are stored all the same)."""
    wrong = int(result.metrics.get("wrong", 0))
    if wrong:
        raise VerificationError(f"{result.case}: {wrong} element(s) reduced wrong (#wrong, summed over ranks)")
