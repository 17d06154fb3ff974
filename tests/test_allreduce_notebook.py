"""notebooks/nccl_vs_gloo.ipynb runs top to bottom on a real store (test_notebooks checks it is stripped)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "nccl_vs_gloo.ipynb"


def test_notebook_runs_top_to_bottom_on_a_fresh_store(tmp_path, monkeypatch):
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    command = [sys.executable, "-m", "gpubench", "allreduce", "--collectives", "all_reduce,all_gather"]
    command += ["--backends", "gloo:cpu", "--sizes", "8,64K"]
    done = subprocess.run(
        [*command, "--samples", "3", "--results", str(tmp_path)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    monkeypatch.setenv("GPUBENCH_RESULTS", str(tmp_path))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    text = "".join(output.get("text", "") for output in outputs)
    assert "busbw (GB/s)" in text and "gloo:cpu only" in text and "all_gather, allreduce" in text
    assert any("image/png" in output.get("data", {}) for output in outputs)
