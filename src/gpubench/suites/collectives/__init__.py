"""The collective family: all_reduce (suite ``allreduce``), all_gather, reduce_scatter, broadcast,
reduce and all_to_all, measured as nccl-tests measures them, on NCCL and Gloo.

One harness (harness.py: ranks, timing, the check, the combination across ranks) runs whichever
collective a sweep names; each collective is one small module giving its buffer sizes, check
data, call and bus-bandwidth factor (docs/collectives.md, "Add a collective"). Each collective is
a suite of its own, named after it; AllReduce keeps its historical name ``allreduce``, so stored
history and baselines continue. This file imports nothing heavy.
"""

from gpubench.suites import Column, Suite

COLUMNS = (
    Column("backend", "backend"),
    Column("device", "device"),
    Column("world_size", "ranks", "{:.0f}"),
    Column("nodes", "nodes", "{:.0f}"),
    Column("in_place", "in place"),
    Column("root", "root", "{:.0f}"),
    Column("dtype", "type"),
    Column("bytes", "size (B)", "{:.0f}"),
    Column("count", "count (elts)", "{:.0f}"),
    Column("latency_us", "time (us, max rank)", "{:.2f}"),
    Column("algbw_gbps", "algbw (GB/s)", "{:.3f}"),
    Column("busbw_gbps", "busbw (GB/s)", "{:.3f}"),
    Column("busbw_mean_rank_gbps", "busbw mean rank", "{:.3f}"),
    Column("busbw_pct_of_link", "% of link", "{:.1f}"),
    Column("wrong", "#wrong", "{:.0f}"),
)
_TITLES = {
    "all_reduce": "AllReduce (SUM) bus bandwidth",
    "all_gather": "AllGather bus bandwidth",
    "reduce_scatter": "ReduceScatter (SUM) bus bandwidth",
    "broadcast": "Broadcast bus bandwidth from root 0",
    "reduce": "Reduce (SUM) bus bandwidth to root 0",
    "all_to_all": "AlltoAll bus bandwidth",
}


def _suite(
    collective: str, name: str, doctor_rules: str | None = None, verify: tuple[tuple[str, str], ...] = ()
) -> Suite:
    return Suite(
        name=name,
        title=f"{_TITLES[collective]}, nccl-tests style, NCCL and Gloo (CPU and CUDA tensors)",
        case=f"gpubench.suites.collectives.{collective}",
        columns=COLUMNS,
        headline="busbw_gbps",
        plot="gpubench.suites.collectives.plot:plot",
        plot_columns=("backend", "device", "world_size", "nodes", "dtype", "bytes", "busbw_gbps"),
        doctor_rules=doctor_rules,
        verify=verify,
        extra={"collective": collective},
    )


POSITION = 30  # where views list this suite (gpubench.suites)

SUITES = (
    _suite(
        "all_reduce",
        "allreduce",
        doctor_rules="gpubench.suites.collectives.doctor:allreduce_findings",
        verify=(("allreduce", "gpubench.suites.collectives.verify:pairs"),),
    ),
    _suite("all_gather", "all_gather"),
    _suite("reduce_scatter", "reduce_scatter"),
    _suite("broadcast", "broadcast"),
    _suite("reduce", "reduce"),
    _suite("all_to_all", "all_to_all"),
)
