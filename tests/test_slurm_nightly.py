"""deploy/slurm/nightly.sbatch on a real (single-host) Slurm cluster: three machines, one store.

The cluster (``slurm_cluster``) starts in seconds; the script is submitted as a job array of
three tasks with distinct machine names (``GPUBENCH_HOSTNAME=sim-%a``) over one copy case, the
tasks run one after another (the script asks for the whole node), and then ``gpubench fleet``
lists three machines and ``gpubench history`` each machine's run. Skipped where Slurm is not
installed; CI installs it (.ci/run). Takes about two minutes on two cores.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import slurm_cluster
from fleet_support import ONE_CASE
from support import REPO, cli, subprocess_env

SCRIPT = REPO / "deploy" / "slurm" / "nightly.sbatch"
TASKS = 3

pytestmark = pytest.mark.skipif(bool(slurm_cluster.missing()), reason=slurm_cluster.missing() or "")


def test_a_job_array_of_nightlies_fills_one_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with slurm_cluster.cluster(tmp_path / "slurm") as env:
        gpubench = f"{shlex.quote(sys.executable)} -m gpubench"
        job_env = subprocess_env(
            **env,
            GPUBENCH_RESULTS=str(store),
            GPUBENCH_HOSTNAME="sim-%a",
            GPUBENCH=gpubench,
            GPUBENCH_ARGS=f"--suite copy --no-confirm -- -k {ONE_CASE}",
            GPUBENCH_SCRATCH=str(tmp_path / "scratch"),
        )
        submit = subprocess.run(
            ["sbatch", "--parsable", f"--array=0-{TASKS - 1}", f"--output={tmp_path}/task-%a.out", str(SCRIPT)],
            env=job_env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert submit.returncode == 0, submit.stderr
        job_id = submit.stdout.strip().split(";")[0]
        slurm_cluster.wait_for_jobs(env, job_id)
        records = [
            record for record in slurm_cluster.completions(tmp_path / "slurm") if record.get("ArrayJobId") == job_id
        ]
    outputs = "\n".join(path.read_text()[-1500:] for path in sorted(tmp_path.glob("task-*.out")))
    assert len(records) == TASKS, outputs
    assert all(record["JobState"] == "COMPLETED" and record["ExitCode"] == "0:0" for record in records), outputs
    fleet = cli("fleet", "--results", store, "--format", "json", "--min-peers", TASKS - 1, "--out", tmp_path / "fleet")
    assert fleet.returncode in (0, 1), fleet.stderr
    machines = {f"no GPU @ sim-{task}" for task in range(TASKS)}
    assert {row["machine"] for row in json.loads(fleet.stdout)["machines"]} == machines
    runs = cli("history", "--results", store, "--format", "json", "--out", tmp_path / "history")
    assert runs.returncode == 0, runs.stderr
    history = {row["machine"]: row["runs"] for row in json.loads(runs.stdout)["cases"]}
    assert history == dict.fromkeys(machines, 1)
