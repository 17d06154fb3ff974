"""A single-host Slurm cluster for the tests: munged, slurmctld and slurmd from Debian's packages.

Everything lives in one folder (its own munge key and socket, a generated ``slurm.conf`` for this
host, state, spool and logs): nothing under /etc is read or changed. The daemons run as root
(``SlurmUser``/``SlurmdUser`` root; CI runs as root), track processes by ``/proc``
(``proctrack/linuxproc``, no cgroups), bind nothing (``task/none``) and schedule cores
(``select/cons_tres``). Job completions go to a text file (``jobcomp/filetxt``): there is no
accounting database, so the test waits with ``squeue`` and reads exit codes from that file.
Every daemon is stopped by the pid it wrote.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo")


def missing() -> str | None:
    """Why no cluster can start here (None when it can)."""
    absent = [name for name in DAEMONS if not (shutil.which(name) or Path("/usr/sbin", name).exists())]
    if absent:
        return f"Slurm is not installed ({', '.join(absent)} missing; .ci/run installs slurm-wlm and munge)"
    if os.geteuid() != 0:
        return "the test cluster's daemons run as root (SlurmdUser=root); run as root, as CI does"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _binary(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def slurm_conf(folder: Path, host: str) -> str:
    ctld, slurmd = _free_port(), _free_port()
    return "\n".join(
        [
            "ClusterName=gpubench-test",
            f"SlurmctldHost={host}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            f"AuthInfo=socket={folder}/munge/munge.socket",
            "CredType=cred/munge",
            f"SlurmctldPort={ctld}",
            f"SlurmdPort={slurmd}",
            f"StateSaveLocation={folder}/state",
            f"SlurmdSpoolDir={folder}/spool",
            f"SlurmctldPidFile={folder}/slurmctld.pid",
            f"SlurmdPidFile={folder}/slurmd.pid",
            f"SlurmctldLogFile={folder}/log/slurmctld.log",
            f"SlurmdLogFile={folder}/log/slurmd.log",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "ReturnToService=2",
            "MpiDefault=none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/filetxt",
            f"JobCompLoc={folder}/log/jobcomp.txt",
            f"NodeName={host} CPUs={os.cpu_count() or 1} State=UNKNOWN",
            f"PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
    )


@contextmanager
def cluster(folder: Path) -> Iterator[dict[str, str]]:
    """A running single-host cluster; yields the environment its client commands need (SLURM_CONF)."""
    host = socket.gethostname().split(".")[0]
    for part in ("state", "spool", "log", "munge"):
        (folder / part).mkdir(parents=True)
    (folder / "munge").chmod(0o755)
    key = folder / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    conf = folder / "slurm.conf"
    conf.write_text(slurm_conf(folder, host))
    env = {"SLURM_CONF": str(conf)}
    pid_files = [folder / "munge" / "munged.pid", folder / "slurmctld.pid", folder / "slurmd.pid"]
    try:
        munge = folder / "munge"
        _start(
            [_binary("munged"), f"--key-file={key}", f"--socket={munge}/munge.socket", f"--pid-file={munge}/munged.pid",
             f"--log-file={munge}/munged.log", f"--seed-file={munge}/seed", "--force"],
        )  # fmt: skip
        _start([_binary("slurmctld"), "-i", "-f", str(conf)], env)
        _start([_binary("slurmd"), "-f", str(conf)], env)
        _wait_idle(env, folder)
        yield env
    finally:
        for pid_file in reversed(pid_files):
            _stop(pid_file)


def _start(command: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(command, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} did not start: {done.stderr.strip()[-500:]}")


def _wait_idle(env: dict[str, str], folder: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        done = subprocess.run(["sinfo", "-h", "-o", "%t"], env={**os.environ, **env}, capture_output=True, text=True)
        state = done.stdout.strip()
        if state == "idle":
            return
        time.sleep(0.5)
    logs = "\n".join(path.read_text()[-1000:] for path in sorted((folder / "log").glob("*.log")))
    raise RuntimeError(f"the test node did not become idle (sinfo: {state!r})\n{logs}")


def _stop(pid_file: Path, timeout: float = 20) -> None:
    """Stop the daemon that wrote ``pid_file``: SIGTERM, then SIGKILL after ``timeout`` s."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


def wait_for_jobs(env: dict[str, str], job_id: str, timeout: float = 1200) -> None:
    """Until ``squeue`` lists no task of job ``job_id``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = subprocess.run(
            ["squeue", "-h", "-j", job_id, "-o", "%i %t"], env={**os.environ, **env}, capture_output=True, text=True
        )
        if done.returncode == 0 and not done.stdout.strip():
            return
        time.sleep(2)
    raise TimeoutError(f"job {job_id} still queued or running after {timeout:.0f} s")


def completions(folder: Path) -> list[dict[str, str]]:
    """The job completion records (``jobcomp/filetxt``), one dict of ``Key=Value`` per finished task."""
    path = folder / "log" / "jobcomp.txt"
    if not path.exists():
        return []
    return [dict(item.split("=", 1) for item in line.split() if "=" in item) for line in path.read_text().splitlines()]
