"""The collective family: all_reduce (suite ``allreduce``), all_gather, reduce_scatter, broadcast,
reduce and all_to_all, measured as nccl-tests measures them, on NCCL and Gloo.

One harness (harness.py: ranks, timing, the check, the combination across ranks) runs whichever
collective a sweep names; each collective is one small module giving its buffer sizes, check
data, call and bus-bandwidth factor (docs/collectives.md, "Add a collective"). Each collective is
a suite of its own, named after it; AllReduce keeps its historical name ``allreduce``, so stored
history and baselines continue. This file imports nothing heavy.
"""

from gpubench.suites import Column, GpuCheckStep, Suite

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


_GPUBENCH = ("{python}", "-m", "gpubench")
_CHECK_SIZES = "8,1M,64M"
# gpu-check: AllReduce's quick profile without 256 MiB (Gloo on CPU tensors, then the CUDA ones: NCCL,
# or its reason to skip, and Gloo on CUDA tensors), then under torchrun; every other collective at
# three sizes in one launch of its own. At least 2 ranks (one rank measures nothing).
_ALLREDUCE_RUN = (*_GPUBENCH, "run", "--profile", "quick", "--suite", "allreduce", "--results", "{store}", "--")
_RANKS = "--gpubench-world-size={ranks}"
_TORCHRUN = ("{python}", "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "{ranks}")
_ALLREDUCE_STEPS = (
    GpuCheckStep("allreduce-cpu", (*_ALLREDUCE_RUN, _RANKS, "-k", "cpu and not 268435456"), 22, 18),
    GpuCheckStep("allreduce-cuda", (*_ALLREDUCE_RUN, _RANKS, "-k", "cuda and not 268435456"), 22, 18),
    GpuCheckStep(
        "allreduce-torchrun",
        (*_TORCHRUN, "-m", "gpubench.allreduce", "--sizes", _CHECK_SIZES, "--results", "{store}"),
        20,
        16,
    ),
)


# The other five collectives: one step, one `gpubench allreduce` that launches each collective's
# ranks apart and stores its run as soon as they finish (a stopped step keeps the finished ones),
# paying the command's start-up once.
_OTHERS = ",".join(name for name in _TITLES if name != "all_reduce")
_OTHERS_COMMAND = (*_GPUBENCH, "allreduce", "--collectives", _OTHERS, "--world-size", "{ranks}", "--sizes")
_OTHERS_STEP = GpuCheckStep(
    "collectives", (*_OTHERS_COMMAND, _CHECK_SIZES, "--samples", "5", "--results", "{store}"), 67, 66
)


def _check_steps(collective: str) -> tuple[GpuCheckStep, ...]:
    return (*_ALLREDUCE_STEPS, _OTHERS_STEP) if collective == "all_reduce" else ()


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
        gpu_check=_check_steps(collective),
        must_show="gpubench.suites.collectives.must_show:lines",
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
