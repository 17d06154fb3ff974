"""Does gpubench's host-copy baseline agree with torch.utils.benchmark on the same copy_?

Prints, per size, gpubench's GB/s, torch.utils.benchmark.Timer's GB/s (median of
blocked_autorange) and their ratio. Both time ``dst.copy_(src)`` on the same buffers, with the
same thread count (the baseline's one thread), interleaved, so machine noise hits both alike.
Not a test: a figure for notes.

    PYTHONPATH=src python scripts/agreement_copy.py
"""

from __future__ import annotations

import os
import statistics

import torch
import torch.utils.benchmark as tbench

from gpubench.suites.copy import case as copy

SIZES = (1 << 20, 16 << 20, 256 << 20)
ROUNDS = 3


def torch_timer_gbps(nbytes: int) -> float:
    src = copy._random_bytes(nbytes)
    dst = torch.empty_like(src)
    timer = tbench.Timer("dst.copy_(src)", globals={"src": src, "dst": dst}, num_threads=copy.HOST_BASELINE_THREADS)
    return nbytes / timer.blocked_autorange(min_run_time=0.5).median / 1e9


def main() -> None:
    print(f"torch {torch.__version__}, {copy.HOST_BASELINE_THREADS} thread(s), load average {os.getloadavg()[0]:.2f}")
    print(f"{'size (B)':>10}  {'gpubench GB/s':>13}  {'torch Timer GB/s':>16}  {'ratio':>6}")
    for nbytes in SIZES:
        ours, theirs = [], []
        for _ in range(ROUNDS):
            ours.append(copy.measure(copy.CopyConfig("h2h", nbytes, "pageable")).metrics["gbps"])
            theirs.append(torch_timer_gbps(nbytes))
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"{nbytes:>10}  {a:>13.2f}  {b:>16.2f}  {a / b:>6.3f}")


if __name__ == "__main__":
    main()
