"""scripts/gpu-check.sh under a small budget (its time limits and partial results), and its summary's logic."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tarfile
import time

import pandas as pd
from support import REPO


def _summary_module():
    spec = importlib.util.spec_from_file_location("gpu_check_summary", REPO / "scripts" / "gpu_check_summary.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_check_keeps_its_budget_and_returns_what_ran(tmp_path):
    out, results = tmp_path / "out", tmp_path / "results"
    out.mkdir()
    env = dict(os.environ, OUT=str(out), PYTHON=sys.executable, GPU_CHECK_RESULTS=str(results))
    env.update(GPU_CHECK_TOTAL_S="40", GPU_CHECK_RESERVE_S="12")
    started = time.monotonic()
    done = subprocess.run(
        ["bash", "scripts/gpu-check.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    elapsed = time.monotonic() - started
    assert elapsed < 40 + 15, f"the check ran {elapsed:.0f} s on a 40 s budget"
    summary = (out / "summary.log").read_text()
    assert re.search(r"== env \(limit \d+ s\)", summary)  # every step under timeout
    assert "TIMED OUT" in summary or "NOT RUN" in summary  # verify cannot fit: it was stopped, or not started
    assert "== unit-tests-gpu: NOT RUN, the 40 s budget is spent" in summary
    assert "what a first GPU run must show" in summary and "== total" in summary
    # $OUT holds few, shallow files (what the device tool returns): the archive and the summary.
    assert sorted(path.name for path in out.iterdir()) == ["gpu-check.tar.gz", "summary.log"]
    with tarfile.open(out / "gpu-check.tar.gz") as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    (folder,) = (tmp_path / "unpacked").iterdir()
    assert summary == (folder / "summary.log").read_text()  # complete when copied
    assert (folder / "env.log").exists(), "an earlier step's log did not come back"
    assert done.returncode == 1  # steps that did not run fail the check
    assert not (REPO / "results" / folder.name).exists()  # nothing written in the checkout


def _conv_row(bench, determ, tf32, pid, kernels, first_call, same=True, direction="forward"):
    return {
        "suite": "conv", "status": "ok", "device": "cuda", "scenario": "static", "dtype": "float32",
        "shape": "resnet50_64to64_3x3_56", "layout": "nchw", "direction": direction,
        "cudnn_benchmark": bench, "cudnn_deterministic": determ, "allow_tf32": tf32, "worker_pid": pid,
        "flags_in_effect": f"enabled=True benchmark={bench} deterministic={determ}", "kernels": kernels,
        "kernels_check": "ok" if kernels else "failed: no CUDA kernel recorded", "first_call_s": first_call,
        "deterministic_output": same, "late_enqueue_samples": 0, "skip_reason": None,
    }  # fmt: skip


def test_summary_says_ok_when_a_gpu_run_shows_what_it_must():
    summary = _summary_module()
    rows = []
    for pid, (bench, determ) in enumerate([(False, False), (True, False), (False, True), (True, True)], start=100):
        first = 2.0 if bench else 0.05
        rows.append(_conv_row(bench, determ, True, pid, "xmma_fprop_tf32", first))
        rows.append(_conv_row(bench, determ, False, pid, "implicit_gemm_fp32", first))
    lines = summary.conv_lines(pd.DataFrame(rows))
    assert "4 combinations in 4 distinct workers: OK" in lines[-6]
    assert all(line.endswith("OK") for line in lines[-5:]), lines


def test_summary_flags_what_a_gpu_run_must_not_show():
    summary = _summary_module()
    rows = [
        _conv_row(False, False, True, 7, "same_kernel", 0.5),
        _conv_row(False, False, False, 7, "same_kernel", 0.5),
        _conv_row(True, True, True, 7, "", 0.1, same=False),  # shares the pid, no kernels, slower off
        _conv_row(True, True, False, 7, "same_kernel", 0.1),
    ]
    text = "\n".join(summary.conv_lines(pd.DataFrame(rows)))
    assert "2 combinations in 1 distinct workers: CHECK" in text
    assert "benchmark on 0.1000 s vs off 0.5000 s: CHECK" in text
    assert "deterministic on: 1/2: CHECK" in text
    assert "TF32 on and off in 0 of 1 float32 cases: CHECK" in text
    assert "kernels recorded in 3/4 static CUDA cases: CHECK" in text


def test_summary_reads_pinned_copies_against_the_pcie_peak():
    summary = _summary_module()
    frame = pd.DataFrame(
        [
            {"suite": "copy", "status": "ok", "direction": direction, "host_memory": "pinned", "bytes": 1 << 28,
             "gbps": gbps, "pcie_theoretical_gbps": 63.0, "pcie_gen": 5, "pcie_width": 16, "skip_reason": None}
            for direction, gbps in (("h2d", 55.0), ("d2h", 20.0))
        ]
    )  # fmt: skip
    h2d, d2h = summary.copy_lines(frame)
    assert "55.00 GB/s = 87% of 63.0 GB/s (Gen5 x16): OK" in h2d
    assert "32% of 63.0 GB/s" in d2h and d2h.endswith("CHECK")
