"""Every notebook is stored stripped (checked here, once) and runs top to bottom (each once).

The notebooks run here read the repository's results/; ``nccl_vs_gloo`` needs a fresh
collectives store and runs in the test that makes one (``RUN_ELSEWHERE``).
"""

from __future__ import annotations

import json
import math
import statistics
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
# A last cell run after the notebook's own: what it computed, as one line of JSON.
PROBE = "GPUBENCH_PROBE "
PROBES = {
    "compare_runs": """import json
print("GPUBENCH_PROBE " + json.dumps({"baseline": baseline_id, "candidate": candidate_id,
    "cases": comparison.to_frame()[["case", "ratio", "verdict"]].to_dict(orient="records")}))""",
    "copy_vs_link": """import json
best_rows = best[["direction", "host_memory", "bytes", "gbps"]].to_dict(orient="records")
print("GPUBENCH_PROBE " + json.dumps({"best": best_rows,
    "skipped": int(skipped.shape[0]), "runs": sorted(latest_runs["run_id"].unique())}))""",
}


def committed_runs() -> list[dict]:
    """The committed runs as pytest-benchmark wrote them (results/json), oldest first: read here
    with json, not through the store the notebooks read."""
    runs = [json.loads(path.read_text()) for path in (REPO / "results" / "json").glob("*.json")]
    return sorted(runs, key=lambda run: run["gpubench"]["started_at"])


def measured_samples(run: dict) -> dict[str, list[float]]:
    """case -> raw samples (seconds per operation) of every case the run measured."""
    return {bench["extra_info"]["gpubench"]["case"]: bench["stats"]["data"] for bench in run["benchmarks"]}


def check_compare_runs(probe: dict) -> None:
    """The two latest runs that share a case; per shared case, the candidate's median time over the
    baseline's from the raw samples; "same" exactly where that moved less than the 5% threshold."""
    runs = committed_runs()
    later = runs[-1]
    baseline = next(run for run in reversed(runs[:-1]) if set(measured_samples(run)) & set(measured_samples(later)))
    assert (probe["baseline"], probe["candidate"]) == (baseline["gpubench"]["run_id"], later["gpubench"]["run_id"])
    before, after = measured_samples(baseline), measured_samples(later)
    expected = {
        case: statistics.median(after[case]) / statistics.median(before[case]) for case in before.keys() & after
    }
    found = {row["case"]: row for row in probe["cases"]}
    assert set(found) == set(expected) and len(found) > 100
    for case, ratio in expected.items():
        assert found[case]["ratio"] == pytest.approx(ratio, rel=1e-9), case
        if abs(abs(math.log(ratio)) - math.log(1.05)) > 1e-3:  # clear of the threshold's edge
            assert (found[case]["verdict"] == "same") == (abs(math.log(ratio)) < math.log(1.05)), (case, ratio)


def check_copy_vs_link(probe: dict) -> None:
    """The latest run with copies: per direction and memory, the size with the most GB/s (bytes over
    the median time per copy, 10^9 B/s) and that figure; its skipped copy cases counted."""
    latest = [run for run in committed_runs() if any(c.startswith("copy[") for c in measured_samples(run))][-1]
    benches = [bench for bench in latest["benchmarks"] if bench["extra_info"]["gpubench"]["suite"] == "copy"]
    best: dict[tuple[str, str], tuple[float, int]] = {}
    for bench in benches:
        params = bench["extra_info"]["gpubench"]["params"]
        gbps = params["bytes"] / statistics.median(bench["stats"]["data"]) / 1e9
        key = (params["direction"], params["host_memory"])
        best[key] = max(best.get(key, (0.0, 0)), (gbps, params["bytes"]))
    assert probe["runs"] == [latest["gpubench"]["run_id"]]
    found = {(row["direction"], row["host_memory"]): (row["gbps"], row["bytes"]) for row in probe["best"]}
    assert set(found) == set(best)
    for key, (gbps, nbytes) in best.items():
        assert found[key][1] == nbytes and found[key][0] == pytest.approx(gbps, rel=1e-9), key
    assert probe["skipped"] == sum(1 for skip in latest["gpubench"]["skipped"] if skip["suite"] == "copy") > 0


CHECKS = {"compare_runs": check_compare_runs, "copy_vs_link": check_copy_vs_link}


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
    if path.stem in PROBES:
        notebook.cells.append(nbformat.v4.new_code_cell(PROBES[path.stem]))
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": path.parent}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any failure
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.get("output_type") == "error"]
    text = "\n".join(str(out.get("data", {}).get("text/plain", "")) + str(out.get("text", "")) for out in outputs)
    missing = [expected for expected in EXPECTED_TEXT.get(path.stem, ()) if expected not in text]
    assert not missing, f"{path.name} did not print {missing}"
    if path.stem in CHECKS:  # what the notebook computed, against the same worked out here from the runs
        (line,) = [line for line in text.splitlines() if line.startswith(PROBE)]
        CHECKS[path.stem](json.loads(line.removeprefix(PROBE)))
