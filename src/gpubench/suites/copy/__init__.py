"""The copy suite: H2D, D2H, D2D, bidirectional, pinned and pageable, and the host baseline."""

from gpubench.suites import Column, Suite

POSITION = 10  # where views list this suite (gpubench.suites)

SUITES = (
    Suite(
        name="copy",
        title="CUDA runtime copies: H2D, D2H, D2D, bidirectional, pinned and pageable",
        case="gpubench.suites.copy.case",
        columns=(
            Column("direction", "direction"),
            Column("host_memory", "host mem"),
            Column("bytes", "size (B)", "{:.0f}"),
            Column("latency_us", "time (us)", "{:.2f}"),
            Column("gbps", "GB/s", "{:.2f}"),
            Column("pcie_efficiency_pct", "% of PCIe", "{:.1f}"),
        ),
        headline="gbps",
        plot="gpubench.suites.copy.plot:plot",
        plot_columns=("direction", "host_memory", "bytes", "gbps", "q1_s", "q3_s"),
        doctor_rules="gpubench.suites.copy.doctor:copy_findings",
        verify=(("copy", "gpubench.suites.copy.verify:pairs"),),
    ),
)
