"""The copy suite: H2D, D2H, D2D, bidirectional, pinned and pageable, and the host baseline."""

from gpubench.suites import Column, GpuCheckStep, Suite

_GPUBENCH = ("{python}", "-m", "gpubench")

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
            Column("time_per_copy_us", "time per copy (us, pipelined)", "{:.2f}"),
            Column("gbps", "GB/s (d2d: bytes once)", "{:.2f}"),
            Column("pcie_efficiency_pct", "% of PCIe", "{:.1f}"),
        ),
        headline="gbps",
        plot="gpubench.suites.copy.plot:plot",
        plot_columns=("direction", "host_memory", "bytes", "gbps", "q1_s", "q3_s"),
        doctor_rules="gpubench.suites.copy.doctor:copy_findings",
        verify=(("copy", "gpubench.suites.copy.verify:pairs"),),
        renamed=(("latency_us", "time_per_copy_us"),),
        gpu_check=(
            GpuCheckStep(
                "verify-copy", (*_GPUBENCH, "verify", "--suite", "copy", "--results", "{store}"), 25, 22, "verify"
            ),
            GpuCheckStep(
                "copy", (*_GPUBENCH, "run", "--profile", "quick", "--suite", "copy", "--results", "{store}"), 30, 27
            ),
        ),
        must_show="gpubench.suites.copy.must_show:lines",
    ),
)
