"""What a collective sweep measures and what its rows say: selected sizes only, Gloo without link
columns, Gloo's reduce_scatter fallback named in the row and under the table."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from gpubench.suites.collectives import case, links
from gpubench.suites.collectives.spec import SizeResult, Sweep, SweepOutcome
from gpubench.views.tables import summary

MIB = 1 << 20


@pytest.fixture
def recorded_sweeps(monkeypatch):
    """Sweeps handed to the ranks, recorded instead of run (each outcome empty)."""
    ran: list[Sweep] = []
    monkeypatch.setattr(case, "_OUTCOMES", {})
    monkeypatch.setattr(case, "_SELECTED", {})
    monkeypatch.setattr(case, "_run", lambda sweep: ran.append(sweep) or SweepOutcome(sweep))
    return ran


def test_a_deselected_size_is_not_measured(recorded_sweeps):
    configs = [c for c in case.configs("all_reduce", "quick", (2,)) if c.sweep.transport == "gloo:cuda"]
    assert 256 * MIB in {c.nbytes for c in configs}
    kept = [c for c in configs if c.nbytes != 256 * MIB]  # what -k "not 268435456" leaves
    items = [SimpleNamespace(callspec=SimpleNamespace(params={"config": c})) for c in kept]
    case.select_items([*items, SimpleNamespace(name="a test without a config")])
    with pytest.raises(case.CaseSkipped, match="not part of this sweep"):
        case.measure(kept[0])  # the recorded outcome holds no sizes: the point is what was asked for
    (sweep,) = recorded_sweeps
    assert sweep.sizes == tuple(c.nbytes for c in kept) and 256 * MIB not in sweep.sizes


def test_only_the_selected_placements_and_dtypes_run(recorded_sweeps):
    configs = case.configs("all_gather", "quick", (2,))
    chosen = [c for c in configs if c.sweep.transport == "nccl:cuda" and c.dtype == "bfloat16" and not c.in_place]
    case.select(chosen[:2])
    with pytest.raises(case.CaseSkipped):
        case.measure(chosen[0])
    (sweep,) = recorded_sweeps
    assert (sweep.dtypes, sweep.placements, sweep.sizes) == (("bfloat16",), (False,), (8, 1024))


def test_an_unselected_session_measures_the_whole_sweep(recorded_sweeps):
    config = case.configs("all_reduce", "quick", (2,))[0]
    with pytest.raises(case.CaseSkipped):
        case.measure(config)
    assert recorded_sweeps == [config.sweep]


def test_gloo_gets_no_link_whatever_its_tensors(monkeypatch):
    monkeypatch.setattr(links, "pcie_link", lambda device: pytest.fail("Gloo must not read a link"))
    monkeypatch.setattr(links, "nvlink", lambda device: pytest.fail("Gloo must not read a link"))
    for device in ("cpu", "cuda"):
        sweep = Sweep("gloo", device, 2, (8,))
        assert links.link_peak(sweep, torch.device(device, 0) if device == "cuda" else torch.device("cpu"), 1) == (
            None,
            None,
        )
    monkeypatch.setattr(links, "pcie_link", lambda device: (5, 16))
    monkeypatch.setattr(links, "nvlink", lambda device: (0, None))
    name, peak = links.link_peak(Sweep("nccl", "cuda", 2, (8,)), torch.device("cuda", 0), 1)
    assert name == "PCIe Gen5 x16" and peak == pytest.approx(63.0, rel=0.01)  # NCCL keeps its link


def _outcome(collective: str, backend: str) -> SweepOutcome:
    sweep = Sweep(backend, "cpu" if backend == "gloo" else "cuda", 2, (16 * MIB,), collective=collective)
    result = SizeResult("float32", 16 * MIB, False, 4 * MIB, (0.02,) * 3, (0.02,) * 3, 5, "host-perf_counter")
    return SweepOutcome(sweep, results=(result,))


def test_gloos_reduce_scatter_fallback_is_in_the_row_and_under_the_table():
    result = case.case_result(_outcome("reduce_scatter", "gloo"), "float32", 16 * MIB, False, "test")
    assert result.info["algorithm"] == "allreduce+chunk" and "PR 118911" in result.info["note"]
    assert "link_peak_gbps" not in result.metrics and "busbw_pct_of_link" not in result.metrics
    nccl = case.case_result(_outcome("reduce_scatter", "nccl"), "float32", 16 * MIB, False, "test")
    assert "algorithm" not in nccl.info and "note" not in nccl.info
    row = {"suite": "reduce_scatter", "status": "ok", **result.params, **result.metrics, **result.info}
    text = summary(pd.DataFrame([row | {"median_s": 0.02, "iqr_s": 0.0, "rounds": 3}]))
    assert text.splitlines()[-1].startswith("#   note: Gloo's reduce_scatter is an all_reduce followed by a chunk")


def test_an_nccl_loop_behind_the_spin_never_fills_the_launch_queue():
    from gpubench.measure.timing import QUEUE_SAFE_COMMANDS
    from gpubench.suites.collectives.harness import NCCL_COMMANDS, loop_iters

    nccl, gloo = Sweep("nccl", "cuda", 2, (8,)), Sweep("gloo", "cuda", 2, (8,))
    # 8 B over NVLink: ~10 us a collective; 5 ms would want 500 of them, ~2,000 stream commands.
    assert loop_iters(nccl, 10e-6) == QUEUE_SAFE_COMMANDS // NCCL_COMMANDS
    assert loop_iters(gloo, 10e-6) == 500  # Gloo blocks the host per collective: no queue to fill
    assert loop_iters(nccl, 1e-3) == 5 and loop_iters(nccl, 0.0) == QUEUE_SAFE_COMMANDS // NCCL_COMMANDS
