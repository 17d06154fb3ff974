#!/usr/bin/env python
"""Does gpubench's Gloo AllReduce busbw agree with a peer-style timing (nccl-tests, PARAM)?

The peer side uses nothing of gpubench: 2 Gloo ranks on 127.0.0.1, float32 in place; per size,
5 warm-up collectives, a barrier, then one loop of ``--iters`` collectives (20, nccl-tests'
default) timed with perf_counter on every rank, the time per collective averaged over the ranks
(nccl-tests' default combination); busbw = bytes / time / 1e9 x 2(n-1)/n. The gpubench side is
``gpubench allreduce --backends gloo:cpu`` run from each ``--src`` checkout (so an older
checkout can be measured against the same peer), read from the JSON it writes. Rounds are
interleaved (each gpubench, then the peer, the order rotating every round) so load from other
processes falls on all sides. Prints each round and, per size, the median over rounds of
gpubench / peer for the headline (slowest rank) and, where stored, the mean-rank busbw:

    PYTHONPATH=src python scripts/agreement_allreduce.py [--sizes 4M,16M,64M] [--rounds 5] [--src ../main/src]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as tmp

WORLD_SIZE = 2
UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def peer_rank(rank: int, port: int, sizes: list[int], iters: int, out) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"  # as torchrun (and gpubench's local ranks) run
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD_SIZE)
    found = {}
    for nbytes in sizes:
        x = torch.rand(nbytes // 4) + 1
        for _ in range(5):
            dist.all_reduce(x)
        dist.barrier()
        start = time.perf_counter()
        for _ in range(iters):
            dist.all_reduce(x)
        seconds = torch.tensor([(time.perf_counter() - start) / iters], dtype=torch.float64)
        dist.all_reduce(seconds)
        found[nbytes] = seconds.item() / WORLD_SIZE
    if rank == 0:
        out.put(found)
    dist.destroy_process_group()


def peer_busbw(sizes: list[int], iters: int) -> dict[int, float]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    queue = tmp.get_context("spawn").SimpleQueue()
    tmp.spawn(peer_rank, args=(port, sizes, iters, queue), nprocs=WORLD_SIZE, join=True)
    factor = 2 * (WORLD_SIZE - 1) / WORLD_SIZE  # written out: no gpubench on this side
    return {nbytes: nbytes / seconds / 1e9 * factor for nbytes, seconds in queue.get().items()}


def gpubench_busbw(src: str, sizes: list[int]) -> dict[int, dict[str, float]]:
    """{bytes: {metric: value}} from ``gpubench allreduce`` run from checkout ``src``."""
    with tempfile.TemporaryDirectory() as scratch:
        document = Path(scratch) / "run.json"
        command = [sys.executable, "-m", "gpubench", "allreduce", "--backends", "gloo:cpu", "--world-size", "2"]
        command += ["--sizes", ",".join(map(str, sizes)), "--results", scratch, "--json", str(document)]
        env = dict(os.environ, PYTHONPATH=src)
        subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        found = {}
        for bench in json.loads(document.read_text())["benchmarks"]:
            block = bench["extra_info"]["gpubench"]
            found[block["params"]["bytes"]] = block["metrics"]
        return found


def parse_size(text: str) -> int:
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    return int(text[:-1]) * UNITS[text[-1]] if text[-1:] in UNITS else int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4M,16M,64M")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iters", type=int, default=20, help="collectives in the peer's timed loop")
    parser.add_argument("--src", action="append", help="a gpubench src/ folder (repeatable; default: this one)")
    args = parser.parse_args()
    sizes = [parse_size(part) for part in args.sizes.split(",")]
    sources = args.src or [str(Path(__file__).resolve().parents[1] / "src")]
    ratios: dict[tuple[str, str, int], list[float]] = {}
    for round_index in range(args.rounds):
        sides = [*sources, "peer"]
        shift = round_index % len(sides)
        results = {}
        for side in sides[shift:] + sides[:shift]:
            results[side] = peer_busbw(sizes, args.iters) if side == "peer" else gpubench_busbw(side, sizes)
        for src in sources:
            for nbytes in sizes:
                peer = results["peer"][nbytes]
                for metric in ("busbw_gbps", "busbw_mean_rank_gbps"):
                    value = results[src][nbytes].get(metric)
                    if value is not None:
                        ratios.setdefault((src, metric, nbytes), []).append(value / peer)
                line = ", ".join(
                    f"{metric} {results[src][nbytes][metric]:.3f}"
                    for metric in ("busbw_gbps", "busbw_mean_rank_gbps")
                    if metric in results[src][nbytes]
                )
                print(f"round {round_index + 1} {src} {nbytes >> 20} MiB: {line}; peer {peer:.3f} GB/s", flush=True)
    for (src, metric, nbytes), values in sorted(ratios.items()):
        print(
            f"{src} {metric} / peer at {nbytes >> 20} MiB: median {statistics.median(values):.3f} "
            f"(rounds {min(values):.2f}-{max(values):.2f}, {len(values)} rounds)"
        )


if __name__ == "__main__":
    main()
