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

from gpubench.store import read_results
from gpubench.suites import SUITES
from gpubench.suites.collectives.must_show import lines as collective_lines
from gpubench.suites.conv.must_show import lines as conv_lines
from gpubench.suites.copy.must_show import lines as copy_lines
from gpubench.suites.gpu_check import CAP_S, MARGIN_S, RESERVE_S, budgeted_s, must_show_lines, steps


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
    rows = []
    for pid, (bench, determ) in enumerate([(False, False), (True, False), (False, True), (True, True)], start=100):
        first = 2.0 if bench else 0.05
        rows.append(_conv_row(bench, determ, True, pid, "xmma_fprop_tf32", first))
        rows.append(_conv_row(bench, determ, False, pid, "implicit_gemm_fp32", first))
    lines = conv_lines(pd.DataFrame(rows))
    assert "4 combinations in 4 distinct workers: OK" in lines[-6]
    assert all(line.endswith("OK") for line in lines[-5:]), lines


def test_summary_flags_what_a_gpu_run_must_not_show():
    rows = [
        _conv_row(False, False, True, 7, "same_kernel", 0.5),
        _conv_row(False, False, False, 7, "same_kernel", 0.5),
        _conv_row(True, True, True, 7, "", 0.1, same=False),  # shares the pid, no kernels, slower off
        _conv_row(True, True, False, 7, "same_kernel", 0.1),
    ]
    text = "\n".join(conv_lines(pd.DataFrame(rows)))
    assert "2 combinations in 1 distinct workers: CHECK" in text
    assert "benchmark on 0.1000 s vs off 0.5000 s: CHECK" in text
    assert "deterministic on: 1/2: CHECK" in text
    assert "TF32 on and off in 0 of 1 float32 cases: CHECK" in text
    assert "kernels recorded in 3/4 static CUDA cases: CHECK" in text


def test_summary_reads_pinned_copies_against_the_pcie_peak():
    frame = pd.DataFrame(
        [
            {"suite": "copy", "status": "ok", "direction": direction, "host_memory": "pinned", "bytes": 1 << 28,
             "gbps": gbps, "pcie_theoretical_gbps": 63.0, "pcie_gen": 5, "pcie_width": 16, "skip_reason": None,
             "pcie_link_polls": 40, "late_enqueue_samples": late}
            for direction, gbps, late in (("h2d", 55.0, 0), ("d2h", 20.0, 0), ("bidir", 30.0, 2))
        ]
    )  # fmt: skip
    h2d, d2h, bidir, late = copy_lines(frame)
    assert "55.00 GB/s = 87% of 63.0 GB/s (Gen5 x16, link read 40 times during the loop): OK" in h2d
    assert "32% of 63.0 GB/s" in d2h and d2h.endswith("CHECK")
    assert "48% of 63.0 GB/s" in bidir and bidir.endswith("OK")  # bidir has its own floor
    assert late == "copy: cases with a sample whose enqueue outlasted the spin: bidir 268435456 B: CHECK"


def _collective_row(suite, backend, device, status="ok", wrong=0, reason=None, **extra):
    return {"suite": suite, "backend": backend, "device": device, "status": status, "bytes": 64 << 20,
            "busbw_gbps": 1.5, "wrong": wrong, "skip_reason": reason, **extra}  # fmt: skip


def test_summary_says_what_each_collective_did_on_each_transport():
    nccl_refused = "NCCL refuses two ranks on one GPU: 2 ranks on this node but 1 GPU(s) visible"
    rows = [
        _collective_row("allreduce", "nccl", "cuda", status="skipped", reason=nccl_refused),
        _collective_row("allreduce", "gloo", "cpu"),
        _collective_row("allreduce", "gloo", "cuda", wrong=3),
        _collective_row("reduce_scatter", "gloo", "cpu", algorithm="allreduce+chunk"),
    ]
    text = "\n".join(collective_lines(pd.DataFrame(rows)))
    assert f"allreduce nccl on cuda tensors: not measured, skipped: {nccl_refused}" in text
    assert "allreduce gloo on cpu tensors: 1 case, busbw 1.500 GB/s at 67108864 B, #wrong 0: OK" in text
    assert "allreduce gloo on cuda tensors: 1 case, busbw 1.500 GB/s at 67108864 B, #wrong 3: CHECK" in text
    assert "reduce_scatter gloo on cpu tensors: 1 case, busbw 1.500 GB/s at 67108864 B, #wrong 0, ran as " in text
    assert "ran as allreduce+chunk: OK" in text
    assert "all_gather: MISSING, no rows (its step did not store a run)" in text


def test_every_suite_with_gpu_steps_has_must_show_lines_and_the_summary_covers_them():
    covered = {suite.name for suite in SUITES.values() if suite.must_show}
    assert {suite.name for suite in SUITES.values() if suite.gpu_check} <= covered
    assert {"copy", "conv", "allreduce", "verify"} <= covered
    text = "\n".join(must_show_lines(pd.DataFrame({"suite": [], "status": []})))
    for what in ("copies against the PCIe peak", "conv", "collectives", "spin", "verify"):
        assert what in text
    doctor = _summary_module().doctor_lines(None)
    assert doctor == ["doctor: MISSING, no doctor --json capture"]


def test_the_plan_comes_from_the_registry_and_its_limits_fit_the_cap():
    every = steps()
    labels = [step.label for step in every]
    declared = [step.label for suite in SUITES.values() for step in suite.gpu_check]
    assert set(declared) <= set(labels) and labels[0] == "env" and labels[-1] == "must-show"
    assert labels.index("unit-tests-gpu") > max(labels.index(label) for label in labels if label.startswith("verify-"))
    assert {f"conv-bench_{b}-det_{d}" for b in ("on", "off") for d in ("on", "off")} <= set(labels)
    assert {"allreduce-cpu", "allreduce-cuda", "allreduce-torchrun", "collectives"} <= set(labels)
    (others,) = [step for step in every if step.label == "collectives"]
    wanted = ("all_gather", "reduce_scatter", "broadcast", "reduce", "all_to_all")
    assert others.command[others.command.index("--collectives") + 1].split(",") == list(wanted)
    assert budgeted_s() <= CAP_S - RESERVE_S - MARGIN_S
    assert all(step.estimate_s < step.limit_s for step in every)
    script = (REPO / "scripts" / "gpu-check.sh").read_text()
    assert f"GPU_CHECK_TOTAL_S:-{CAP_S}" in script and f"GPU_CHECK_RESERVE_S:-{RESERVE_S}" in script


def test_a_step_stopped_at_its_limit_loses_only_its_own_part(tmp_path):
    # Three steps: a copy run that stores, one that outlives its limit, another copy run that stores.
    results = tmp_path / "results"
    # "$store": the script exports its store to the steps.
    run = f'{sys.executable} -m gpubench run --profile quick --suite copy --results "$store" -- -k'
    plan = tmp_path / "plan.tsv"
    plan.write_text(
        f"first\t60\t3\t{run} 'h2h and 4096]'\nkilled\t2\t3\tsleep 30\nafter\t60\t3\t{run} 'h2h and 65536]'\n"
    )
    env = dict(os.environ, PYTHON=sys.executable, GPU_CHECK_RESULTS=str(results), GPU_CHECK_TOTAL_S="300")
    env["GPU_CHECK_PLAN"] = str(plan)
    done = subprocess.run(["bash", "scripts/gpu-check.sh"], cwd=REPO, env=env, capture_output=True, text=True)
    (folder,) = results.iterdir()
    summary = (folder / "summary.log").read_text()
    assert "== first: ok" in summary and "== after: ok" in summary, summary
    assert "== killed: TIMED OUT" in summary and done.returncode == 1
    stored = read_results(folder / "store")
    assert sorted(stored["bytes"].astype(int)) == [4096, 65536]  # both stored, the killed step between them
    assert stored["run_id"].nunique() == 2
