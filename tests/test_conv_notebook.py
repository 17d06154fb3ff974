"""notebooks/conv_flags.ipynb runs top to bottom against the results committed under results/."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from gpubench.store import read_results

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "conv_flags.ipynb"


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_results_hold_a_conv_run_with_all_four_combinations():
    frame = read_results(REPO / "results")
    conv = frame[(frame["suite"] == "conv") & (frame["status"] == "ok") & (frame["scenario"] == "static")]
    assert not conv.empty
    combos = conv.groupby(["shape", "layout", "direction"])[["cudnn_benchmark", "cudnn_deterministic"]]
    assert (combos.apply(lambda rows: len(rows.drop_duplicates())) == 4).all()


def test_notebook_runs_top_to_bottom():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    text = "\n".join(
        str(output.get("data", {}).get("text/plain", "")) + str(output.get("text", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert "bench on / det on speed-up" in text
    assert "1st call (ms)" in text and "total_s" in text
