"""Run a measurement in fresh worker processes and bring its result back.

Some measurements must not share a process: cuDNN flag combinations (the plan cache outlives a
flag change) and AllReduce ranks (one process per rank). A worker is a spawned process (never
forked: a forked CUDA context is unusable) that runs ``fn(*args)`` and sends back its return
value or its exception. The parent enforces a deadline, names the worker that failed, and leaves
no process behind.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

_GRACE_S = 5.0


class WorkerError(RuntimeError):
    """A worker failed: it raised, crashed, or never answered."""


class WorkerTimeout(WorkerError):
    """A worker did not answer before the deadline."""


def run_in_worker(
    fn: Callable[..., Any],
    *args: Any,
    timeout: float,
    env: Mapping[str, str] | None = None,
    label: str = "worker",
) -> Any:
    """Run ``fn(*args)`` in one fresh process; return its result or re-raise its exception."""
    return run_group(fn, [args], timeout=timeout, envs=[env or {}], labels=[label])[0]


def run_group(
    fn: Callable[..., Any],
    args_per_worker: Sequence[Sequence[Any]],
    *,
    timeout: float,
    envs: Sequence[Mapping[str, str]] | None = None,
    labels: Sequence[str] | None = None,
) -> list[Any]:
    """Run ``fn`` once per entry of ``args_per_worker``, all at once, each in its own process.

    Returns the results in order. The first failure (an exception, a crash, a missed deadline)
    stops every other worker and raises, naming the worker(s) at fault.
    """
    count = len(args_per_worker)
    envs = list(envs) if envs is not None else [{}] * count
    labels = list(labels) if labels is not None else [f"worker {i}" for i in range(count)]
    ctx = mp.get_context("spawn")
    procs: list[mp.process.BaseProcess] = []
    conns: list[Connection] = []
    try:
        for args, env in zip(args_per_worker, envs, strict=True):
            receive, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_worker_main, args=(send, fn, tuple(args), dict(env), os.getpid()), daemon=True)
            proc.start()
            send.close()
            procs.append(proc)
            conns.append(receive)
        return _collect(procs, conns, labels, time.monotonic() + timeout, timeout)
    finally:
        _stop(procs)
        for conn in conns:
            conn.close()


def _collect(procs, conns, labels, deadline: float, timeout: float) -> list[Any]:
    results: dict[int, Any] = {}
    pending = {conn: index for index, conn in enumerate(conns)}
    while pending:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            late = ", ".join(labels[i] for i in sorted(pending.values()))
            raise WorkerTimeout(f"{late} did not finish within {timeout:g} s")
        ready_conns = wait(list(pending), timeout=min(remaining, 0.5))
        for conn in ready_conns:
            index = pending.pop(conn)
            try:
                status, payload = conn.recv()
            except EOFError:
                procs[index].join(_GRACE_S)
                raise WorkerError(
                    f"{labels[index]} died (exit code {procs[index].exitcode}) before reporting"
                ) from None
            if status == "error":
                raise _with_label(payload, labels[index])
            results[index] = payload
    return [results[i] for i in range(len(conns))]


def _with_label(error: BaseException, label: str) -> BaseException:
    if isinstance(error, WorkerError):
        return WorkerError(f"{label}: {error}")
    return error


def _stop(procs: list[mp.process.BaseProcess]) -> None:
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(_GRACE_S)
        if proc.is_alive():
            proc.kill()
            proc.join(_GRACE_S)


def _worker_main(conn: Connection, fn: Callable[..., Any], args: tuple, env: dict[str, str], parent: int) -> None:
    # Set before fn imports anything that reads the environment once (CUDA, NCCL, cuBLAS).
    os.environ.update(env)
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
    try:
        message = ("ok", fn(*args))
    except BaseException as error:
        message = ("error", _transportable(error))
    try:
        conn.send(message)
    except Exception as error:  # the result itself did not pickle
        conn.send(("error", WorkerError(f"result could not be sent back: {error}")))
    conn.close()


def _transportable(error: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        text = "".join(traceback.format_exception_only(type(error), error)).strip()
        return WorkerError(text)


def _exit_when_orphaned(parent: int) -> None:
    # A killed parent cannot stop us; do not outlive it.
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(3)
