"""The nightly GitHub Actions workflow: valid YAML, a GPU runner, a schedule, the real command."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import yaml

from gpubench.cli import build_parser

WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "nightly.yml"


def load() -> dict:
    document = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(document, dict)
    # YAML 1.1 reads the bare key `on` as True.
    document["on"] = document.pop(True, document.get("on"))
    return document


def steps() -> list[dict]:
    (job,) = load()["jobs"].values()
    return job["steps"]


def test_triggers_and_runner() -> None:
    document = load()
    (cron,) = [entry["cron"] for entry in document["on"]["schedule"]]
    fields = cron.split()
    assert len(fields) == 5 and all(re.fullmatch(r"[\d*/,-]+", field) for field in fields)
    assert "workflow_dispatch" in document["on"]
    (job,) = document["jobs"].values()
    assert {"self-hosted", "gpu"} <= set(job["runs-on"])
    assert job["timeout-minutes"] > 0
    assert document["concurrency"]["cancel-in-progress"] is False  # never two nightlies on one GPU


def test_the_nightly_step_runs_a_valid_command() -> None:
    (step,) = [step for step in steps() if "gpubench nightly" in step.get("run", "")]
    assert "continue-on-error" not in step and "if" not in step  # its failure is the job's failure
    # Replace the workflow expressions by what they give by default, then parse with our own CLI.
    command = re.sub(r"\$\{\{\s*inputs\.profile \|\| 'quick'\s*\}\}", "quick", step["run"])
    words = shlex.split(command.replace('"$GPUBENCH_RESULTS"', "/tmp/results"))
    assert words[0].endswith("gpubench")
    args = build_parser().parse_args(words[1:])
    assert args.command == "nightly" and args.profile == "quick" and args.baseline_runs == 7


def test_report_and_results_are_uploaded_even_on_failure() -> None:
    names = [step.get("uses", "") for step in steps()]
    nightly = next(i for i, step in enumerate(steps()) if "gpubench nightly" in step.get("run", ""))
    uploads = [i for i, name in enumerate(names) if name.startswith("actions/upload-artifact@")]
    assert len(uploads) == 2 and all(i > nightly for i in uploads)
    for i in uploads:
        assert steps()[i]["if"] == "always()" and steps()[i]["with"]["path"]
    assert any(step.get("uses", "").startswith("actions/checkout@") for step in steps())


def test_shell_steps_parse() -> None:
    for step in steps():
        if "run" in step:
            done = subprocess.run(["bash", "-n"], input=step["run"], capture_output=True, text=True)
            assert done.returncode == 0, f"{step.get('name')}: {done.stderr}"
