"""Ranks as local worker processes: the pytest path, and ``gpubench allreduce`` without torchrun.

Each rank is a spawned worker (``gpubench.measure.workers.run_group``) given the environment torchrun
would give it, on 127.0.0.1 and a free port. A port taken between finding it and listening on it
is retried with another. A rank that dies ends the run at once; one that hangs ends it when the
others' collective times out (``timeout_s``, set on every process group), and they name it
(gpubench.suites.collectives.progress); ``deadline_s`` bounds the whole run. No worker outlives
the call.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import socket
from collections.abc import Sequence

from gpubench.measure.workers import WorkerError, WorkerTimeout, run_group
from gpubench.suites.collectives.harness import Call, run_rank
from gpubench.suites.collectives.progress import FAILED, FINISHED, SLOTS, describe_shared
from gpubench.suites.collectives.spec import DEFAULT_TIMEOUT_S, Sweep, SweepOutcome

PORT_ATTEMPTS = 3


class CollectiveError(WorkerError):
    """The ranks did not finish; the message names the rank(s) at fault."""


def launch(
    sweeps: Sequence[Sweep],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    deadline_s: float | None = None,
    port: int | None = None,
    call: Call | None = None,
) -> list[SweepOutcome]:
    """Run ``sweeps`` on ``world_size`` local ranks; rank 0's outcomes, one per sweep."""
    world_sizes = {sweep.world_size for sweep in sweeps}
    if len(world_sizes) != 1:
        raise ValueError(f"one launch runs one world size, got {sorted(world_sizes)}")
    world_size = world_sizes.pop()
    if deadline_s is None:
        deadline_s = 300 + sum(120 * len(sweep.sizes) * len(sweep.dtypes) for sweep in sweeps)
    labels = [f"rank {rank}" for rank in range(world_size)]
    for attempt in range(PORT_ATTEMPTS):
        chosen = port if (port and attempt == 0) else free_port()
        shared = mp.get_context("spawn").RawArray("q", world_size * SLOTS)
        try:
            results = run_group(
                _rank_main,
                [(list(sweeps), timeout_s, shared, call)] * world_size,
                timeout=deadline_s,
                envs=[_rank_env(rank, world_size, chosen) for rank in range(world_size)],
                labels=labels,
            )
            return results[0]
        except WorkerError as error:
            if _port_busy(error) and attempt + 1 < PORT_ATTEMPTS:
                continue
            raise CollectiveError(explain(error, list(shared), sweeps)) from None
    raise AssertionError("unreachable")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (another process may still take it: see launch)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rank_main(sweeps: list[Sweep], timeout_s: float, shared, call: Call | None):
    return run_rank(sweeps, timeout_s=timeout_s, shared_progress=shared, call=call)


def _rank_env(rank: int, world_size: int, port: int) -> dict[str, str]:
    return {
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
        "RANK": str(rank),
        "WORLD_SIZE": str(world_size),
        "LOCAL_RANK": str(rank),
        "LOCAL_WORLD_SIZE": str(world_size),
        "GROUP_RANK": "0",
        "GROUP_WORLD_SIZE": "1",
        "TORCHELASTIC_USE_AGENT_STORE": "False",  # in case this runs under torchrun itself
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),  # what torchrun sets
    }


def _port_busy(error: BaseException) -> bool:
    text = str(error)
    return "EADDRINUSE" in text or "address already in use" in text.lower()


def explain(error: BaseException, progress: list[int], sweeps: Sequence[Sweep]) -> str:
    """The workers' error; past the deadline, where each unfinished rank was.

    A rank that timed out waiting already names the ranks that stopped answering (from the store).
    """
    message = str(error)
    if isinstance(error, WorkerTimeout):
        states = progress[0::SLOTS]
        message += " -- " + "; ".join(
            f"rank {rank} was at {describe_shared(progress, rank, sweeps)}"
            for rank, state in enumerate(states)
            if state not in (FINISHED, FAILED)
        )
    return message
