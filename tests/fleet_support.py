"""Helpers for the fleet tests: an S3 endpoint (moto's server on 127.0.0.1) and simulated machines.

``s3_endpoint`` starts ``moto``'s server mode as a subprocess on a free local port and stops it
by its pid; s3fs talks to it over HTTP, its real client path. Machines are told apart by
``GPUBENCH_HOSTNAME``. A nightly here runs one copy case (``ONE_CASE``): seconds, not minutes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from support import REPO, subprocess_env

ONE_CASE = "test_copy[h2h-pageable-4096]"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def s3_endpoint() -> Iterator[dict[str, str]]:
    """An S3 endpoint on 127.0.0.1 for the duration; yields the environment that points s3fs at it."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto's server did not start on port {port}")
            time.sleep(0.2)
        yield {**CREDENTIALS, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    finally:
        os.kill(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            server.wait()


def make_bucket(env: dict[str, str], bucket: str) -> None:
    code = f"import s3fs; s3fs.S3FileSystem().mkdir({bucket!r})"
    subprocess.run([sys.executable, "-c", code], env=subprocess_env(**env), check=True, timeout=120)


def start_nightly(results: str, host: str, scratch: Path, env: dict[str, str]) -> subprocess.Popen:
    """One simulated machine's nightly (one case, no rerun), started and left running."""
    command = [sys.executable, "-m", "gpubench", "nightly", "--suite", "copy", "--no-confirm", "--results", results]
    return subprocess.Popen(
        [*command, "--", "-k", ONE_CASE],
        cwd=REPO,
        env=subprocess_env(GPUBENCH_HOSTNAME=host, GPUBENCH_SCRATCH=str(scratch), MPLBACKEND="Agg", **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
