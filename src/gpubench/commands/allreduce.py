"""gpubench allreduce: the AllReduce sweep under torchrun (every rank runs it), or on local ranks.

Under torchrun (``RANK``/``WORLD_SIZE`` set) this process is one rank; rank 0 stores the results.
Without torchrun it launches ``--world-size`` local ranks itself. Either way the rows match the
pytest path's (``pytest benchmarks/ -k allreduce``), ready for ``gpubench plot`` and notebooks.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from gpubench.allreduce.spec import (
    DEFAULT_TIMEOUT_S,
    ITEMSIZE,
    TRANSPORTS,
    Sweep,
    default_dtypes,
    parse_list,
    parse_size,
    profile_sizes,
)
from gpubench.profiles import DEFAULT_PROFILE, PROFILES
from gpubench.workers import WorkerError

NAME = "allreduce"
HELP = "AllReduce bus bandwidth (nccl-tests style) for NCCL and Gloo; run it under torchrun, or alone"


def add_arguments(parser: argparse.ArgumentParser) -> None:
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


def build_sweeps(args: argparse.Namespace, world_size: int) -> list[Sweep]:
    dtypes = parse_list(args.dtypes, tuple(ITEMSIZE), "dtype") if args.dtypes else None
    sizes = tuple(dict.fromkeys(parse_size(part) for part in args.sizes.split(","))) if args.sizes else None
    found = []
    for transport in parse_list(args.backends, TRANSPORTS, "backend"):
        backend, device = transport.split(":")
        found.append(
            Sweep(
                backend,
                device,
                world_size,
                sizes or profile_sizes(args.profile, device),
                dtypes or default_dtypes(backend),
                warmup=args.warmup,
                samples=args.samples,
                min_sample_s=args.min_sample_ms / 1e3,
            )
        )
    return found


def main(args: argparse.Namespace) -> int:
    # Imported here: they import torch, and building the CLI's parser must not.
    from gpubench.allreduce.launch import launch
    from gpubench.allreduce.rank import run_rank
    from gpubench.allreduce.report import benchmark_document, collect
    from gpubench.cases.allreduce import default_world_sizes
    from gpubench.pipeline import finish, store_document

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
        outcomes = launch(sweeps, timeout_s=args.timeout, port=args.port)
        launcher = "gpubench allreduce"
    results, skipped = collect(outcomes, launcher)
    profile = "custom" if args.sizes else args.profile
    stored = store_document(benchmark_document(results, skipped, profile), args.results, args.json)
    wrong = sum(int(result.metrics.get("wrong", 0)) for result in results)
    failure = f"FAILED: {wrong} element(s) reduced wrong (see the #wrong column)" if wrong else None
    outcome = finish(stored, Path(args.results), failure=failure)
    print(outcome.report)
    return outcome.exit_code
