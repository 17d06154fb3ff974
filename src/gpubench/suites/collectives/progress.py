"""Where each rank is, so that a run that stops names the rank that stopped, however it was launched.

Every rank records its phase (``warm-up (all_reduce, gloo on cpu tensors, 2 rank(s), 4096 B
float32)``) and its state (running, failed, finished) in the process group's key-value store,
the TCPStore that torchrun's agent or rank 0 serves, which outlives a hung rank. A rank whose
collective times out (or whose peer's connection drops) reads the others: those still running
are the ones that stopped answering, and its error names them. The local launcher also gets each
rank's phase through a shared array, to explain a run that overran its deadline.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from gpubench.suites.collectives.spec import Sweep

PHASES = ("starting", "setup", "allocation", "probe", "warm-up", "untimed collective", "barrier", "timed loops")
PHASES += ("check",)
STARTED, FINISHED, FAILED = 1, 2, 3
SLOTS = 4  # per rank in a shared progress array: state, sweep index, size index, phase
_STATE_NAMES = {STARTED: "running", FINISHED: "finished", FAILED: "failed"}
# Errors that mean "a peer stopped answering" (Gloo's and NCCL's wording), not a fault of this rank.
PEER_LOST = re.compile(r"timed out|timeout|connection (closed|reset)|broken pipe|peer", re.IGNORECASE)
_GRACE_S = 1.0  # let ranks that timed out at the same moment mark themselves failed before reading


class Progress:
    """Where this rank is: for its own messages, the store (every launcher) and a shared array (local)."""

    def __init__(self, rank: int, world_size: int, sweeps: Sequence[Sweep], shared: Any = None) -> None:
        self.rank, self.world_size, self.sweeps, self.shared = rank, world_size, sweeps, shared
        self.where = "start-up"
        self.store: Any = None

    def attach(self, store: Any) -> None:
        """Start reporting to the process group's store (None: no store to report to)."""
        self.store = store
        self._publish("state", _STATE_NAMES[STARTED])
        self._publish("where", self.where)

    def state(self, state: int) -> None:
        if self.shared is not None:
            self.shared[self.rank * SLOTS] = state
        self._publish("state", _STATE_NAMES[state])

    def at(self, phase: str, sweep_index: int, dtype: str = "", nbytes: int = 0, size_index: int = -1) -> None:
        sweep = self.sweeps[sweep_index]
        self.where = f"{phase} ({sweep.describe()}" + (f", {nbytes} B {dtype})" if nbytes else ")")
        if self.shared is not None:
            base = self.rank * SLOTS
            self.shared[base + 1], self.shared[base + 2] = sweep_index, size_index
            self.shared[base + 3] = PHASES.index(phase)
        self._publish("where", self.where)

    def silent_peers(self) -> str:
        """`` -- rank(s) 1 stopped answering (rank 1 was at ...)``, or "" when the store cannot tell."""
        if self.store is None:
            return ""
        time.sleep(_GRACE_S)
        try:
            silent = [
                (rank, self._read(rank, "where"))
                for rank in range(self.world_size)
                if rank != self.rank and self._read(rank, "state") == "running"
            ]
        except Exception:  # the store went with the rank that served it
            return ""
        if not silent:
            return ""
        ranks = ", ".join(str(rank) for rank, _ in silent)
        where = "; ".join(f"rank {rank} was at {text}" for rank, text in silent)
        return f" -- rank(s) {ranks} stopped answering ({where})"

    def _publish(self, what: str, value: str) -> None:
        if self.store is None:
            return
        try:
            self.store.set(f"gpubench/{what}/{self.rank}", value)
        except Exception:  # a store that is gone tells nothing more; the run itself will say why
            self.store = None

    def _read(self, rank: int, what: str) -> str:
        key = f"gpubench/{what}/{rank}"
        return self.store.get(key).decode() if self.store.check([key]) else "start-up"


def describe_shared(progress: list[int], rank: int, sweeps: Sequence[Sweep]) -> str:
    """Rank ``rank``'s phase from the local launcher's shared array."""
    state, sweep_index, size_index, phase = progress[rank * SLOTS : rank * SLOTS + SLOTS]
    if state == 0:
        return "start-up (never reached the sweep)"
    sweep = sweeps[sweep_index]
    size = f", {sweep.sizes[size_index]} B" if 0 <= size_index < len(sweep.sizes) else ""
    return f"{PHASES[phase]} ({sweep.collective}, {sweep.transport}{size})"
