"""The main job end to end, and the plot as a real PNG."""

import matplotlib.image
import pandas as pd
from support import cli

from gpubench import store
from gpubench.views.figures.run import plot_run


def test_plot_is_a_real_png(copy_json, tmp_path):
    store.ingest(copy_json, tmp_path / "results")
    frame = store.read_results(tmp_path / "results")
    [png] = plot_run(frame, tmp_path / "plots")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(png).shape
    assert width > 400 and height > 300


def test_run_stores_plots_and_summarises(tmp_path):
    results = tmp_path / "results"
    done = cli("run", "--suite", "copy", "--results", str(results), "--", "-k", "h2h")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "GB/s" in done.stdout and "size (B)" in done.stdout  # the nccl-tests-like summary
    runs = store.list_runs(results)
    assert len(runs) == 1
    run_id = runs["run_id"].iloc[0]
    assert (results / "plots" / run_id / "copy_bandwidth.png").is_file()
    assert (results / "json" / f"{run_id}.json").is_file()
    assert not list(results.glob(".gpubench-run-*"))  # scratch space cleaned up
    frame = store.read_results(results)
    assert pd.api.types.is_float_dtype(frame["gbps"])


def test_plot_command_and_errors(copy_json, tmp_path):
    results = tmp_path / "results"
    run = store.ingest(copy_json, results)
    done = cli("plot", "--results", str(results), "--out", str(tmp_path / "out"))
    assert done.returncode == 0 and "copy_bandwidth.png" in done.stdout
    done = cli("plot", "--results", str(results), "--run", "no-such-run")
    assert done.returncode == 2 and "no-such-run is not in" in done.stderr
    done = cli("run", "--suite", "nonsense", "--results", str(results))
    assert done.returncode == 2 and "unknown suite" in done.stderr
    assert run.path.exists()


def test_gpubench_run_itself_imports_no_torch():
    """Only pytest and the ranks measure: the parent's torch import cost ~2 s a run (more with CUDA)."""
    import subprocess
    import sys

    modules = ("gpubench.cli", "gpubench.commands.run", "gpubench.pipeline", "gpubench.run.case_times",
               "gpubench.measure.progress_events", "gpubench.views.progress", "gpubench.store.ingest",
               "gpubench.views.figures.run", "gpubench.views.tables", "gpubench.views.next_steps")  # fmt: skip
    code = f"import sys\nfor name in {modules!r}: __import__(name)\nprint('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
