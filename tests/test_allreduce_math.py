"""AllReduce figures and checks that need no process group: formulas, check data, configs, views."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from gpubench.allreduce.check import check_is_exact, count_wrong, fill_for_check
from gpubench.allreduce.spec import (
    FULL_SIZES,
    SizeResult,
    Sweep,
    SweepOutcome,
    algbw_gbps,
    busbw_factor,
    busbw_gbps,
    parse_size,
)
from gpubench.cases import allreduce
from gpubench.plots.allreduce import plot, ratio_table
from gpubench.result import CaseSkipped, VerificationError
from gpubench.tables import summary


def test_busbw_is_algbw_times_2_n_minus_1_over_n():
    assert busbw_factor(1) == 0.0
    assert busbw_factor(2) == 1.0
    assert busbw_factor(8) == pytest.approx(1.75)
    # 1 GiB in 10 ms: algbw 107.37 GB/s (10^9 B/s); on 4 ranks each link carries 1.5x that.
    assert algbw_gbps(1 << 30, 0.01) == pytest.approx(107.374182)
    assert busbw_gbps(1 << 30, 0.01, 4) == pytest.approx(107.374182 * 1.5)
    with pytest.raises(ValueError):
        busbw_factor(0)


def _reduce(tensors: list[torch.Tensor], how: str) -> torch.Tensor:
    out = tensors[0].clone()
    for other in tensors[1:]:
        out = torch.maximum(out, other) if how == "max" else out + other  # summed in the dtype, like a ring
    return out


def _check_data(world_size: int, dtype: torch.dtype, count: int = 1000) -> list[torch.Tensor]:
    tensors = []
    for rank in range(world_size):
        x = torch.empty(count, dtype=dtype)
        fill_for_check(x, rank, world_size)
        tensors.append(x)
    return tensors


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("world_size", [1, 2, 3, 8, 64, 127])
def test_check_data_sums_exactly_and_catches_wrong_reductions(dtype, world_size):
    tensors = _check_data(world_size, dtype)  # 1000 elements: not whole rows, the tail is checked too
    assert check_is_exact(world_size, dtype)
    if world_size > 1:
        assert not torch.equal(tensors[0], tensors[1]), "ranks must hold distinct values"
    assert bool((tensors[0] != 0).all()), "never zeros"
    good = _reduce(tensors, "sum")
    assert count_wrong(good, world_size) == 0
    assert torch.equal(_reduce(tensors[::-1], "sum"), good), "another summation order, the same bits"
    corrupted = good.clone()
    corrupted[7] += 1
    corrupted[-1] = float("nan")
    assert count_wrong(corrupted, world_size) == 2
    if world_size > 1:
        assert count_wrong(_reduce(tensors[1:], "sum"), world_size) == 1000  # a rank's data left out
        assert count_wrong(_reduce([*tensors, tensors[0]], "sum"), world_size) == 1000  # one counted twice
        assert count_wrong(_reduce(tensors, "max"), world_size) == 1000  # MAX instead of SUM


def test_bfloat16_beyond_128_ranks_is_checked_within_rounding():
    world_size = 200
    assert not check_is_exact(world_size, torch.bfloat16) and check_is_exact(1 << 20, torch.float32)
    tensors = _check_data(world_size, torch.bfloat16)
    good = _reduce(tensors, "sum")
    assert count_wrong(good, world_size) == 0
    assert count_wrong(_reduce(tensors, "max"), world_size) > 0  # only where the error exceeds rounding
    good[3] = float("nan")
    assert count_wrong(good, world_size) == 1


def test_sizes_parse_like_nccl_tests():
    assert [parse_size(text) for text in ("8", "64K", "16M", "1G", "2KiB")] == [8, 65536, 16 << 20, 1 << 30, 2048]
    with pytest.raises(ValueError, match="unreadable size"):
        parse_size("12X")
    with pytest.raises(ValueError, match="whole number of float32"):
        Sweep("gloo", "cpu", 2, (6,))
    with pytest.raises(ValueError, match="unknown transport"):
        Sweep("mpi", "cpu", 2, (8,))


def test_profiles_and_world_sizes():
    quick = allreduce.configs("quick", (2,))
    transports = {(c.sweep.backend, c.sweep.device, c.dtype) for c in quick}
    assert transports == {
        ("nccl", "cuda", "float32"),
        ("nccl", "cuda", "bfloat16"),
        ("gloo", "cpu", "float32"),
        ("gloo", "cuda", "float32"),
    }
    cpu_sizes = sorted({c.nbytes for c in quick if c.sweep.device == "cpu"})
    assert cpu_sizes[0] == 8 and 16 << 20 in cpu_sizes and cpu_sizes[-1] <= 64 << 20
    assert FULL_SIZES[0] == 8 and FULL_SIZES[-1] == 1 << 30 and len(FULL_SIZES) == 28
    assert {c.params()["world_size"] for c in allreduce.configs("quick", (2, 4))} == {2, 4}
    assert allreduce.parse_world_sizes("2,4,2") == (2, 4)
    with pytest.raises(ValueError):
        allreduce.parse_world_sizes("two")


def _outcome(samples=(0.002, 0.001, 0.003), wrong=0, world_size=4, **extra) -> SweepOutcome:
    sweep = Sweep("gloo", "cpu", world_size, (1 << 20, 1 << 30))
    results = (
        SizeResult("float32", 1 << 20, samples, iters=20, clock="host-perf_counter", wrong=wrong),
        SizeResult("float32", 1 << 30, skip_reason="1073741824 B needs more memory"),
    )
    return SweepOutcome(sweep, nodes=1, hosts=1, results=results, **extra)


def test_case_result_figures_follow_the_median_of_the_slowest_rank():
    result = allreduce.case_result(_outcome(), "float32", 1 << 20, launcher="test")
    assert result.measurement.median == 0.002 and result.measurement.ops_per_sample == 20
    assert result.metrics["algbw_gbps"] == pytest.approx((1 << 20) / 0.002 / 1e9)
    assert result.metrics["busbw_gbps"] == pytest.approx(result.metrics["algbw_gbps"] * 1.5)
    assert result.metrics["latency_us"] == pytest.approx(2000.0)
    assert result.params == {
        "backend": "gloo",
        "device": "cpu",
        "world_size": 4,
        "nodes": 1,
        "dtype": "float32",
        "bytes": 1 << 20,
    }
    assert result.info["time_across_ranks"] == "max" and result.info["count"] == 1 << 18
    allreduce.verify(result)
    with pytest.raises(CaseSkipped, match="needs more memory"):
        allreduce.case_result(_outcome(), "float32", 1 << 30, launcher="test")
    with pytest.raises(CaseSkipped, match="NCCL refuses"):
        allreduce.case_result(SweepOutcome(_outcome().sweep, skip_reason="NCCL refuses"), "float32", 8, "test")
    peaked = allreduce.case_result(_outcome(link_name="PCIe Gen4 x16", link_peak_gbps=31.5), "float32", 1 << 20, "t")
    assert peaked.metrics["busbw_pct_of_link"] == pytest.approx(100 * peaked.metrics["busbw_gbps"] / 31.5)


def test_wrong_elements_fail_the_case():
    result = allreduce.case_result(_outcome(wrong=3), "float32", 1 << 20, launcher="test")
    with pytest.raises(VerificationError, match="3 element"):
        allreduce.verify(result)


def _frame() -> pd.DataFrame:
    rows = []
    for backend, device, scale in (("nccl", "cuda", 100.0), ("gloo", "cpu", 2.0), ("gloo", "cuda", 1.0)):
        for nbytes in (1 << 10, 1 << 20, 1 << 24):
            busbw = scale * nbytes / (1 << 24)
            rows.append(
                {
                    "suite": "allreduce",
                    "status": "ok",
                    "backend": backend,
                    "device": device,
                    "world_size": 2,
                    "nodes": 1,
                    "dtype": "float32",
                    "bytes": nbytes,
                    "count": nbytes // 4,
                    "latency_us": nbytes / busbw / 1e3,
                    "algbw_gbps": busbw,
                    "busbw_gbps": busbw,
                    "wrong": 0,
                    "iqr_s": 1e-6,
                    "rounds": 10,
                    "hostname": "here",
                    "link": "NVLink 4.0 x18" if backend == "nccl" else None,
                    "link_peak_gbps": 450.0 if backend == "nccl" else None,
                }
            )
    return pd.DataFrame(rows)


def test_views_ratio_plots_and_table(tmp_path):
    frame = _frame()
    ratio = ratio_table(frame)
    assert set(ratio["pair"]) == {"nccl:cuda / gloo:cpu", "nccl:cuda / gloo:cuda"}
    assert ratio[ratio["pair"] == "nccl:cuda / gloo:cpu"]["ratio"].tolist() == pytest.approx([50.0] * 3)
    gloo_only = ratio_table(frame[frame["backend"] == "gloo"])
    assert set(gloo_only["pair"]) == {"gloo:cuda / gloo:cpu"}
    assert ratio_table(frame[frame["device"] == "cpu"]).empty
    paths = plot(frame, tmp_path)
    assert [p.name for p in paths] == ["allreduce_busbw.png", "allreduce_ratio.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)
    table = summary(frame)
    assert "busbw (GB/s)" in table and "#wrong" in table and "time (us, max rank)" in table
