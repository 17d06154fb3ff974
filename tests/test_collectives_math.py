"""Collective figures and checks that need no process group: factors, byte counts, check data, views."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from gpubench.measure.result import CaseSkipped, VerificationError
from gpubench.suites.collectives import case
from gpubench.suites.collectives.data import check_is_exact, count_wrong
from gpubench.suites.collectives.plot import plot, ratio_table
from gpubench.suites.collectives.spec import (
    COLLECTIVES,
    FULL_SIZES,
    SizeResult,
    Sweep,
    SweepOutcome,
    algbw_gbps,
    collective,
    parse_size,
    parse_sizes,
    whole_count,
)
from gpubench.views.tables import summary

# nccl-tests' PERFORMANCE.md: (bus-bandwidth factor at n ranks, per-rank (send, recv) elements of
# a whole array of ``count`` elements). The size is always the whole array.
NCCL_TESTS = {
    "all_reduce": (lambda n: 2 * (n - 1) / n, lambda count, n: (count, count)),
    "all_gather": (lambda n: (n - 1) / n, lambda count, n: (count // n, count)),  # recvcount = n x sendcount
    "reduce_scatter": (lambda n: (n - 1) / n, lambda count, n: (count, count // n)),  # sendcount = n x recvcount
    "broadcast": (lambda n: 1.0, lambda count, n: (count, count)),
    "reduce": (lambda n: 1.0, lambda count, n: (count, count)),
    "all_to_all": (lambda n: (n - 1) / n, lambda count, n: (count, count)),
}


@pytest.mark.parametrize("name", COLLECTIVES)
@pytest.mark.parametrize("world_size", [2, 3, 4, 8])
def test_bus_bandwidth_factor_and_byte_count_follow_nccl_tests(name, world_size):
    module = collective(name)
    factor, counts = NCCL_TESTS[name]
    assert module.busbw_factor(world_size) == pytest.approx(factor(world_size))
    count = whole_count(1 << 20, 4, world_size, module.SPLITS)
    assert module.buffer_counts(count, world_size) == counts(count, world_size)
    # The figures come from the whole array, never one rank's share: 1 MiB in 1 ms.
    sweep = Sweep("gloo", "cpu", world_size, (1 << 20,), collective=name)
    in_place = module.PLACEMENTS[0]
    size = SizeResult("float32", 1 << 20, in_place, count, (1e-3,) * 3, (1e-3,) * 3, 5, "host-perf_counter")
    result = case.case_result(SweepOutcome(sweep, results=(size,)), "float32", 1 << 20, in_place, "test")
    assert result.params["bytes"] == count * 4 and result.info["count"] == count
    assert result.metrics["algbw_gbps"] == pytest.approx(count * 4 / 1e-3 / 1e9)
    assert result.metrics["busbw_gbps"] == pytest.approx(count * 4 / 1e-3 / 1e9 * factor(world_size))
    assert result.suite == module.SUITE and result.info["collective"] == name


def test_whole_count_aligns_each_ranks_share_to_16_bytes_as_nccl_tests():
    # nccl-tests (all_gather.cu, reduce_scatter.cu, alltoall.cu): per rank (count / nranks) & -(16 / eltSize).
    # 1 KiB of float32 on 3 ranks: 256 elements, 85 a rank, 84 (336 B) once aligned: 252 in all.
    assert whole_count(1024, 4, 3, splits=True) == 252 and whole_count(1024, 4, 3, splits=False) == 256
    assert whole_count(1024, 2, 3, splits=True) == 504  # bfloat16: 170 a rank, 168 (8 elements = 16 B)
    assert whole_count(1 << 20, 4, 8, splits=True) == 1 << 18  # aligned already: nothing lost
    assert whole_count(96, 4, 2, splits=True) == 24 and whole_count(88, 4, 2, splits=True) == 16  # 11 a rank: 8
    assert whole_count(16, 4, 2, splits=True) == 0 and whole_count(8, 4, 3, splits=True) == 0  # under 16 B a rank


def _simulate(name: str, sends: list[torch.Tensor], count: int) -> list[torch.Tensor | None]:
    """What each rank must receive, computed here without the library's help."""
    n = len(sends)
    total = sum(send.double() for send in sends)
    if name == "all_reduce":
        return [total] * n
    if name == "reduce":
        return [total] + [None] * (n - 1)
    if name == "reduce_scatter":
        return list(total.chunk(n))
    if name == "all_gather":
        return [torch.cat(sends).double()] * n
    if name == "broadcast":
        return [sends[0].double()] * n
    if name == "all_to_all":
        return [torch.cat([send.chunk(n)[rank] for send in sends]).double() for rank in range(n)]
    raise AssertionError(name)


def _check_data(name: str, n: int, count: int, dtype=torch.float32) -> list[torch.Tensor]:
    module = collective(name)
    sends = []
    for rank in range(n):
        send = torch.empty(module.buffer_counts(count, n)[0], dtype=dtype)
        module.fill_check(send, rank, n)
        sends.append(send)
    return sends


def _wrong(name: str, n: int, count: int, received: list[torch.Tensor | None], dtype=torch.float32) -> int:
    module = collective(name)
    total = 0
    for rank, got in enumerate(received):
        expected = module.expected(rank, n, count, torch.device("cpu"))
        if expected is not None:
            total += count_wrong(got.to(dtype), expected, module.summands(n))
    return total


@pytest.mark.parametrize("name", COLLECTIVES)
@pytest.mark.parametrize("world_size", [2, 3, 5])
def test_check_data_passes_right_results_and_catches_wrong_ones(name, world_size):
    count = whole_count(1000 * world_size + 6, 1, world_size, collective(name).SPLITS)  # not whole rows: tails too
    sends = _check_data(name, world_size, count)
    assert all(bool((send != 0).all()) for send in sends[:1]), "the root's (and rank 0's) data is never zero"
    right = _simulate(name, sends, count)
    assert _wrong(name, world_size, count, right) == 0
    corrupted = [None if got is None else got.clone() for got in right]
    corrupted[0][7] += 1
    corrupted[0][-1] = float("nan")
    assert _wrong(name, world_size, count, corrupted) == 2
    # a rank's data left out (zeros), doubled, or two ranks' data swapped: caught wherever it shows
    zeros = [torch.zeros_like(send) for send in sends]
    left_out = _simulate(name, [sends[0], *zeros[1:]], count) if name != "broadcast" else _simulate(name, zeros, count)
    assert _wrong(name, world_size, count, left_out) > 0
    if collective(name).summands(world_size) > 1:  # a SUM does not see the order, it sees a rank counted twice
        assert _wrong(name, world_size, count, _simulate(name, [2 * sends[0], *sends[1:]], count)) > 0
    else:
        assert _wrong(name, world_size, count, _simulate(name, [sends[1], sends[0], *sends[2:]], count)) > 0


@pytest.mark.parametrize("name", ["all_reduce", "reduce", "reduce_scatter"])
def test_a_reduction_with_max_instead_of_sum_is_caught(name):
    n, count = 3, 3 * 300
    sends = _check_data(name, n, count)
    maxed = torch.stack([send.double() for send in sends]).max(dim=0).values
    received = _simulate(name, [maxed / n] * n, count)  # n copies of max/n sum to the max
    assert _wrong(name, n, count, received) > 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("world_size", [1, 2, 3, 8, 64, 127])
def test_all_reduce_sums_exactly_in_any_order(dtype, world_size):
    sends = _check_data("all_reduce", world_size, 1000, dtype)
    assert check_is_exact(2 * world_size, dtype)
    forward, backward = sends[0].clone(), sends[-1].clone()
    for other in sends[1:]:
        forward += other  # summed in the dtype, like a ring
    for other in sends[-2::-1]:
        backward += other
    assert torch.equal(forward, backward), "another summation order, the same bits"
    assert _wrong("all_reduce", world_size, 1000, [forward] * world_size, dtype) == 0


def test_bfloat16_beyond_exact_integers_is_checked_within_rounding():
    world_size = 200
    assert not check_is_exact(2 * world_size, torch.bfloat16) and check_is_exact(1 << 21, torch.float32)
    sends = _check_data("all_reduce", world_size, 1000, torch.bfloat16)
    good = sends[0].clone()
    for other in sends[1:]:
        good += other
    expected = collective("all_reduce").expected(0, world_size, 1000, torch.device("cpu"))
    assert count_wrong(good, expected, world_size) == 0
    good[3] = float("nan")
    good[4] *= 2
    assert count_wrong(good, expected, world_size) == 2


def test_sizes_parse_like_nccl_tests_and_nonsense_is_refused():
    assert [parse_size(text) for text in ("8", "64K", "16M", "1G", "2KiB")] == [8, 65536, 16 << 20, 1 << 30, 2048]
    assert parse_sizes("8, 64K,8") == (8, 65536)
    for bad in ("", " , ", "0", "12X"):
        with pytest.raises(ValueError):
            parse_sizes(bad)
    with pytest.raises(ValueError, match="whole number of float32"):
        Sweep("gloo", "cpu", 2, (6,))
    with pytest.raises(ValueError, match="unknown transport"):
        Sweep("mpi", "cpu", 2, (8,))
    with pytest.raises(ValueError, match="unknown collective"):
        Sweep("gloo", "cpu", 2, (8,), collective="gather")
    with pytest.raises(ValueError, match="finite"):
        Sweep("gloo", "cpu", 2, (8,), min_sample_s=float("nan"))


def test_profiles_world_sizes_and_case_names():
    quick = case.configs("all_reduce", "quick", (2,))
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
    assert {c.params()["world_size"] for c in case.configs("all_reduce", "quick", (2, 4))} == {2, 4}
    # AllReduce's cases keep the names stored history and baselines know
    first = quick[0].params()
    assert list(first) == ["backend", "device", "world_size", "nodes", "dtype", "bytes"]
    # a collective with both placements names the placement
    gather = case.configs("all_gather", "quick", (2,))
    assert {c.params()["in_place"] for c in gather} == {True, False}
    assert case.parse_world_sizes("2,4,2") == (2, 4)
    for bad in ("two", "", "0", "2,-1"):
        with pytest.raises(ValueError):
            case.parse_world_sizes(bad)


def _outcome(samples=(0.002, 0.001, 0.003), mean=(0.0015, 0.0009, 0.0021), wrong=0, world_size=4, **extra):
    sweep = Sweep("gloo", "cpu", world_size, (1 << 20, 1 << 30))
    results = (
        SizeResult("float32", 1 << 20, True, 1 << 18, samples, mean, iters=20, clock="host-perf_counter", wrong=wrong),
        SizeResult("float32", 1 << 30, True, 1 << 28, skip_reason="1073741824 B needs more memory"),
    )
    return SweepOutcome(sweep, nodes=1, hosts=1, results=results, **extra)


def test_case_result_figures_follow_the_slowest_rank_and_the_mean_rank():
    result = case.case_result(_outcome(), "float32", 1 << 20, True, launcher="test")
    assert result.measurement.median == 0.002 and result.measurement.ops_per_sample == 20
    assert result.metrics["algbw_gbps"] == pytest.approx(algbw_gbps(1 << 20, 0.002))
    assert result.metrics["busbw_gbps"] == pytest.approx(result.metrics["algbw_gbps"] * 1.5)
    assert result.metrics["latency_us"] == pytest.approx(2000.0)
    assert result.metrics["latency_mean_rank_us"] == pytest.approx(1500.0)
    assert result.metrics["busbw_mean_rank_gbps"] == pytest.approx(algbw_gbps(1 << 20, 0.0015) * 1.5)
    assert result.params == {
        "backend": "gloo",
        "device": "cpu",
        "world_size": 4,
        "nodes": 1,
        "dtype": "float32",
        "bytes": 1 << 20,
    }
    assert result.case == "allreduce[backend=gloo,device=cpu,world_size=4,nodes=1,dtype=float32,bytes=1048576]"
    assert result.info["time_across_ranks"] == "max" and result.info["count"] == 1 << 18
    assert result.info["in_place"] is True and result.info["collective"] == "all_reduce"
    case.verify(result)
    with pytest.raises(CaseSkipped, match="needs more memory"):
        case.case_result(_outcome(), "float32", 1 << 30, True, launcher="test")
    with pytest.raises(CaseSkipped, match="NCCL refuses"):
        case.case_result(SweepOutcome(_outcome().sweep, skip_reason="NCCL refuses"), "float32", 8, True, "test")
    peaked = case.case_result(_outcome(link_name="PCIe Gen4 x16", link_peak_gbps=31.5), "float32", 1 << 20, True, "t")
    assert peaked.metrics["busbw_pct_of_link"] == pytest.approx(100 * peaked.metrics["busbw_gbps"] / 31.5)


def test_rooted_collectives_record_their_root():
    sweep = Sweep("gloo", "cpu", 2, (4096,), collective="broadcast")
    size = SizeResult("float32", 4096, True, 1024, (1e-4,), (1e-4,), 5, "host-perf_counter")
    result = case.case_result(SweepOutcome(sweep, results=(size,)), "float32", 4096, True, "test")
    assert result.info["root"] == 0 and result.suite == "broadcast"


def test_wrong_elements_fail_the_case():
    result = case.case_result(_outcome(wrong=3), "float32", 1 << 20, True, launcher="test")
    with pytest.raises(VerificationError, match="3 element"):
        case.verify(result)


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
    frame = _frame()  # as stored before placements were recorded: all in place
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


def test_a_new_collective_plots_both_placements_under_its_own_name(tmp_path):
    frame = _frame()
    both = pd.concat([frame.assign(in_place=True), frame.assign(in_place=False, busbw_gbps=frame["busbw_gbps"] / 2)])
    both = both.assign(suite="all_gather", collective="all_gather")
    ratio = ratio_table(both)
    assert set(ratio["in_place"]) == {True, False} and len(ratio) == 2 * len(ratio_table(frame))
    assert [p.name for p in plot(both, tmp_path)] == ["all_gather_busbw.png", "all_gather_ratio.png"]
