"""Every notebook is stored stripped (checked here, once) and runs top to bottom (each once).

The notebooks run here read the repository's results/; ``nccl_vs_gloo`` needs a fresh
collectives store and runs in the test that makes one (``RUN_ELSEWHERE``).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from support import REPO, subprocess_env

from gpubench.store import read_results

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
RUN_ELSEWHERE = {"nccl_vs_gloo": "tests/test_allreduce_notebook.py runs it on a store it makes"}
RUN_HERE = [path for path in NOTEBOOKS if path.stem not in RUN_ELSEWHERE]
# What a run must print, beyond raising nothing: the figures each notebook exists to show.
EXPECTED_TEXT = {"conv_flags": ("bench on / det on speed-up", "1st call (ms)", "total_s")}


def test_the_notebooks_are_there() -> None:
    names = {path.stem for path in NOTEBOOKS}
    assert {"compare_runs", "copy_vs_link", "conv_flags", *RUN_ELSEWHERE} <= names
    assert list((REPO / "results" / "runs").glob("*.parquet")), "no committed results for the notebooks"


def test_results_hold_a_conv_run_with_all_four_combinations() -> None:
    frame = read_results(REPO / "results")
    conv = frame[(frame["suite"] == "conv") & (frame["status"] == "ok") & (frame["scenario"] == "static")]
    assert not conv.empty
    combos = conv.groupby(["shape", "layout", "direction"])[["cudnn_benchmark", "cudnn_deterministic"]]
    assert (combos.apply(lambda rows: len(rows.drop_duplicates())) == 4).all()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_is_stripped(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    dirty = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} keep outputs; strip them (e.g. jupyter nbconvert --clear-output)"


@pytest.mark.parametrize("path", RUN_HERE, ids=[path.stem for path in RUN_HERE])
def test_notebook_runs_top_to_bottom(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel inherits this environment: this checkout's gpubench, the repository's results.
    monkeypatch.setenv("PYTHONPATH", subprocess_env()["PYTHONPATH"])
    monkeypatch.setenv("GPUBENCH_RESULTS", str(REPO / "results"))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": path.parent}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any failure
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.get("output_type") == "error"]
    text = "\n".join(str(out.get("data", {}).get("text/plain", "")) + str(out.get("text", "")) for out in outputs)
    missing = [expected for expected in EXPECTED_TEXT.get(path.stem, ()) if expected not in text]
    assert not missing, f"{path.name} did not print {missing}"
