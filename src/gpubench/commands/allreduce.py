"""gpubench allreduce: collective sweeps under torchrun (every rank runs them), or on local ranks.

Under torchrun (``RANK``/``WORLD_SIZE`` set) this process is one rank; rank 0 stores the results.
Without torchrun it launches ``--world-size`` local ranks itself. Either way the rows match the
pytest path's (``pytest benchmarks/ -k allreduce``), ready for ``gpubench plot`` and notebooks.
``--collectives`` adds all_gather, reduce_scatter, broadcast, reduce, all_to_all (default: AllReduce).
Without torchrun and without ``--json``, each collective's ranks are launched apart and its run is
stored as soon as they finish, so a run stopped midway keeps every collective it finished.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Any

from gpubench.suites.collectives.spec import (
    COLLECTIVES,
    DEFAULT_TIMEOUT_S,
    ITEMSIZE,
    TRANSPORTS,
    Sweep,
    default_dtypes,
    parse_list,
    parse_sizes,
    profile_sizes,
)
from gpubench.suites.profiles import DEFAULT_PROFILE, PROFILES

NAME = "allreduce"
HELP = "AllReduce (and other collectives') bus bandwidth, nccl-tests style, NCCL and Gloo; under torchrun or alone"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--collectives",
        default="all_reduce",
        help=f"comma-separated among {', '.join(COLLECTIVES)}, or all (default: all_reduce)",
    )
    parser.add_argument(
        "--backends",
        default=",".join(TRANSPORTS),
        help=f"comma-separated among {', '.join(TRANSPORTS)} (default: all; what cannot run is stored as skipped)",
    )
    parser.add_argument("--profile", choices=PROFILES, default=DEFAULT_PROFILE, help="sizes: quick (default) or full")
    parser.add_argument("--sizes", help="comma-separated sizes such as 8,64K,16M,1G (overrides --profile)")
    parser.add_argument("--dtypes", help="comma-separated: float32,bfloat16 (default: float32; NCCL adds bfloat16)")
    parser.add_argument("--samples", type=int, default=10, help="timed loops per size (default: 10)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up collectives per size (default: 5)")
    parser.add_argument("--min-sample-ms", type=float, default=5.0, help="shortest timed loop (default: 5 ms)")
    parser.add_argument("--min-iters", type=int, default=5, help="fewest collectives per timed loop (default: 5)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds a collective may wait for the other ranks before the run ends (default: {DEFAULT_TIMEOUT_S:g})",
    )
    parser.add_argument("--results", default="results", help="results store directory (default: results/)")
    parser.add_argument("--json", help="also write the pytest-benchmark-shaped JSON to this file")
    parser.add_argument(
        "--world-size", type=int, help="without torchrun: local ranks (default: GPU count if 2+, else 2)"
    )
    parser.add_argument("--port", type=int, help="without torchrun: the port to try first (default: a free one)")


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse what cannot make a run, before any rank starts (ValueError: one line, exit 2)."""
    if args.world_size is not None and args.world_size < 1:
        raise ValueError(f"--world-size must be at least 1, got {args.world_size}")
    if not math.isfinite(args.min_sample_ms) or args.min_sample_ms < 0:
        raise ValueError(f"--min-sample-ms must be a finite number of milliseconds >= 0, got {args.min_sample_ms}")
    if not math.isfinite(args.timeout) or args.timeout <= 0:
        raise ValueError(f"--timeout must be a finite number of seconds > 0, got {args.timeout}")
    for option in ("samples", "warmup", "min_iters"):
        if getattr(args, option) < 1:
            raise ValueError(f"--{option.replace('_', '-')} must be at least 1, got {getattr(args, option)}")
    if args.port is not None and not 0 < args.port < 65536:
        raise ValueError(f"--port must be between 1 and 65535, got {args.port}")


def build_sweeps(args: argparse.Namespace, world_size: int) -> list[Sweep]:
    wanted = ",".join(COLLECTIVES) if args.collectives.strip() == "all" else args.collectives
    collectives = parse_list(wanted, COLLECTIVES, "collective")
    dtypes = parse_list(args.dtypes, tuple(ITEMSIZE), "dtype") if args.dtypes else None
    sizes = parse_sizes(args.sizes) if args.sizes is not None else None
    return [
        Sweep(
            backend,
            device,
            world_size,
            sizes or profile_sizes(args.profile, device),
            dtypes or default_dtypes(backend),
            collective=name,
            warmup=args.warmup,
            samples=args.samples,
            min_sample_s=args.min_sample_ms / 1e3,
            min_iters=args.min_iters,
            max_iters=max(1000, args.min_iters),
        )
        for name in collectives
        for backend, device in (transport.split(":") for transport in parse_list(args.backends, TRANSPORTS, "backend"))
    ]


def main(args: argparse.Namespace) -> int:
    # Imported here: they import torch, and building the CLI's parser must not.
    from gpubench.measure.workers import WorkerError
    from gpubench.suites.collectives.case import default_world_sizes
    from gpubench.suites.collectives.harness import run_rank
    from gpubench.suites.collectives.launch import launch

    check_arguments(args)
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        if args.world_size and args.world_size != world_size:
            raise ValueError(f"--world-size {args.world_size} but torchrun started {world_size} ranks")
        sweeps = build_sweeps(args, world_size)
        try:
            outcomes = run_rank(sweeps, timeout_s=args.timeout)
        except WorkerError as error:
            raise WorkerError(f"rank {rank}: {error}") from None
        if rank != 0:
            return 0
        launcher = "torchrun"
    else:
        sweeps = build_sweeps(args, args.world_size or default_world_sizes()[0])
        if not args.json:  # one launch and one stored run per collective, each as it finishes
            groups = _by_collective(sweeps)
            return max(_store_run(launch(group, timeout_s=args.timeout, port=args.port), args) for group in groups)
        outcomes = launch(sweeps, timeout_s=args.timeout, port=args.port)
        launcher = "gpubench allreduce"
    return _store_run(outcomes, args, launcher)


def _by_collective(sweeps: list[Sweep]) -> list[list[Sweep]]:
    groups: dict[str, list[Sweep]] = {}
    for sweep in sweeps:
        groups.setdefault(sweep.collective, []).append(sweep)
    return list(groups.values())


def _store_run(outcomes: list[Any], args: argparse.Namespace, launcher: str = "gpubench allreduce") -> int:
    """Store rank 0's outcomes as one run, plot and print it; 1 when an element came back wrong."""
    from gpubench.pipeline import collectives_document, finish, store_document
    from gpubench.suites.collectives.collect import collect

    results, skipped = collect(outcomes, launcher)
    profile = "custom" if args.sizes else args.profile
    stored = store_document(collectives_document(results, skipped, profile), args.results, args.json)
    wrong = sum(int(result.metrics.get("wrong", 0)) for result in results)
    failure = f"FAILED: {wrong} element(s) came back wrong (see the #wrong column)" if wrong else None
    outcome = finish(stored, Path(args.results), failure=failure)
    print(outcome.report)
    return outcome.exit_code
