"""The AllReduce suite's registration until it moves to ``gpubench.suites.collectives``.

Interim: the collectives package declares ``allreduce`` itself (same name, columns and rules);
when it lands, this module and its entry in ``gpubench.suites._PACKAGES`` go.
"""

from gpubench.suites import Column, Suite

SUITES = (
    Suite(
        name="allreduce",
        title="AllReduce bus bandwidth: NCCL and Gloo, as nccl-tests measures it",
        case="gpubench.cases.allreduce",
        columns=(
            Column("backend", "backend"),
            Column("device", "device"),
            Column("world_size", "ranks", "{:.0f}"),
            Column("nodes", "nodes", "{:.0f}"),
            Column("dtype", "type"),
            Column("bytes", "size (B)", "{:.0f}"),
            Column("count", "count (elts)", "{:.0f}"),
            Column("latency_us", "time (us, max rank)", "{:.2f}"),
            Column("algbw_gbps", "algbw (GB/s)", "{:.3f}"),
            Column("busbw_gbps", "busbw (GB/s)", "{:.3f}"),
            Column("busbw_pct_of_link", "% of link", "{:.1f}"),
            Column("wrong", "#wrong", "{:.0f}"),
        ),
        headline="busbw_gbps",
        plot="gpubench.plots.allreduce:plot",
        doctor_rules="gpubench.doctor.results:allreduce_findings",
    ),
)
