"""--results: recorded runs, ingested into a real store, held against the physical limits."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from support import cli

from gpubench.doctor import judge_run, judge_store
from gpubench.measure.result import CaseResult
from gpubench.measure.stats import Measurement
from gpubench.measure.timing import CUDA_EVENT_CLOCK
from gpubench.run.document import benchmark_entry, dumps, run_block, run_document
from gpubench.store import ingest, read_results

DATA = Path(__file__).parent / "data" / "doctor"


def benchmark_json(recorded: dict, run_id: str, started_at: str = "2026-11-20T10:00:00+00:00") -> dict:
    """A recorded run (fingerprint + cases) as the document gpubench writes: each case a CaseResult
    whose samples centre on the recorded median, through the one document writer."""
    benchmarks = []
    for case in recorded["cases"]:
        median = case["median_s"]
        samples = tuple(median * (1 + spread) for spread in (-0.02, -0.01, -0.005, 0.0, 0.005, 0.01, 0.03))
        result = CaseResult(case["suite"], case["params"], Measurement(samples, clock=CUDA_EVENT_CLOCK))
        result.metrics.update(case["metrics"])
        name = f"test_{case['suite']}[{result.case}]"
        entry = benchmark_entry(result, name=name, fullname=f"benchmarks/test_{case['suite']}.py::{name}", timer="t")
        benchmarks.append(entry)
    block = run_block(run_id, started_at, "quick", len(benchmarks), [])
    return json.loads(dumps(run_document(benchmarks, block, recorded["fingerprint"])))


def store_recorded(name: str, results: Path, started_at: str = "2026-11-20T10:00:00+00:00") -> pd.DataFrame:
    recorded = json.loads((DATA / f"{name}.json").read_text())
    path = results.parent / f"{name}.benchmark.json"
    run_id = f"{started_at[:10].replace('-', '')}T100000Z-{name.replace('_', '-')}"
    path.write_text(json.dumps(benchmark_json(recorded, run_id, started_at)))
    ingest(path, results)
    return read_results(results, run_id)


def judged(name: str, tmp_path: Path) -> list:
    return judge_run(store_recorded(name, tmp_path / "store"))


def warnings(findings: list) -> list[str]:
    return [finding.message for finding in findings if finding.severity == "warning"]


def test_healthy_copies_pass(tmp_path):
    findings = judged("results_copy_healthy", tmp_path)
    assert warnings(findings) == []
    assert all(finding.severity == "info" and finding.check == "results" for finding in findings)
    text = "\n".join(finding.message for finding in findings)
    assert "h2d pinned copies reach at best 54.3 GB/s (256 MiB), 86% of the PCIe Gen5 x16 link's 63.0 GB/s" in text
    assert "(h100-node-07, NVIDIA H100 80GB HBM3)" in text
    assert "pageable" not in text  # bounded by the bounce buffer, not judged


def test_slow_copies_are_flagged_per_direction(tmp_path):
    (message,) = warnings(judged("results_copy_slow", tmp_path))
    assert "h2d pinned copies reach at best 14.6 GB/s (256 MiB), 23%" in message and "expect >= 70%" in message


def test_copies_on_a_downtrained_link_are_flagged(tmp_path):
    (message,) = warnings(judged("results_copy_downtrained", tmp_path))
    assert "copies ran on a PCIe Gen3 x16 link" in message and "Gen4 x16" in message


def test_allreduce_below_the_pcie_floor(tmp_path):
    findings = judged("results_allreduce_pcie_slow", tmp_path)
    (message,) = warnings(findings)
    assert "allreduce nccl x2 busbw reaches at best 9.8 GB/s (256 MiB), 31% of one PCIe Gen4 x16 link" in message
    infos = [finding.message for finding in findings if finding.severity == "info"]
    assert any("allreduce gloo x2" in text and "not judged" in text for text in infos)


def test_allreduce_against_a_recorded_link_peak(tmp_path):
    findings = judged("results_allreduce_nvlink", tmp_path)
    assert warnings(findings) == []
    (finding,) = findings
    assert "372.0 GB/s (1 GiB), 83% of the link peak the run recorded" in finding.message


def test_allreduce_without_the_expected_columns(tmp_path):
    frame = store_recorded("results_allreduce_nvlink", tmp_path / "store").drop(columns=["busbw_gbps"])
    (finding,) = judge_run(frame)
    assert finding.severity == "info" and "lack busbw_gbps" in finding.message


def test_a_run_without_judgeable_figures(tmp_path):
    frame = store_recorded("results_copy_healthy", tmp_path / "store")
    frame = frame[frame["direction"] == "h2h"]
    (finding,) = judge_run(frame)
    assert finding.severity == "info" and "no pinned host<->device copy" in finding.message


def doctor(*args: str):
    return cli("doctor", *args, timeout=120)


def test_cli_judges_the_latest_run(tmp_path):
    results = tmp_path / "store"
    store_recorded("results_copy_healthy", results)
    later = json.loads((DATA / "results_copy_slow.json").read_text())
    document = benchmark_json(later, "20261121T100000Z-later", "2026-11-21T10:00:00+00:00")
    (tmp_path / "later.json").write_text(json.dumps(document))
    ingest(tmp_path / "later.json", results)
    done = doctor("--readings", str(DATA / "healthy_h100_node.json"), "--results", str(results), "--json")
    assert done.returncode == 0, done.stderr  # warnings only
    document = json.loads(done.stdout)
    assert document["results_runs"] == {"copy": "20261121T100000Z-later"}
    assert any("23%" in finding["message"] for finding in document["findings"] if finding["severity"] == "warning")


def test_cli_with_an_empty_store_is_a_one_line_error(tmp_path):
    done = doctor("--readings", str(DATA / "healthy_h100_node.json"), "--results", str(tmp_path / "none"))
    assert done.returncode == 2
    assert done.stderr.strip().startswith("gpubench: error: no run in") and len(done.stderr.strip().splitlines()) == 1


def test_the_store_is_judged_by_the_latest_run_of_each_suite(tmp_path):
    results = tmp_path / "store"
    store_recorded("results_copy_healthy", results, "2026-11-19T10:00:00+00:00")
    store_recorded("results_copy_slow", results, "2026-11-20T10:00:00+00:00")
    store_recorded("results_allreduce_nvlink", results, "2026-11-21T10:00:00+00:00")  # the latest run: no copies
    findings, runs = judge_store(read_results(results))
    assert runs == {
        "copy": "20261120T100000Z-results-copy-slow",
        "allreduce": "20261121T100000Z-results-allreduce-nvlink",
    }
    (message,) = warnings(findings)
    assert "h2d pinned copies reach at best 14.6 GB/s (256 MiB), 23%" in message
    assert any("83% of the link peak the run recorded" in finding.message for finding in findings)


def test_gloo_is_not_held_to_the_link_it_recorded(tmp_path):
    frame = store_recorded("results_allreduce_pcie_slow", tmp_path / "store")
    frame["link_peak_gbps"] = 31.5  # the PCIe link a Gloo-on-CUDA run records as its link
    findings = judge_run(frame)
    gloo = [finding for finding in findings if "allreduce gloo" in finding.message]
    assert gloo and all(finding.severity == "info" and "not judged" in finding.message for finding in gloo)
