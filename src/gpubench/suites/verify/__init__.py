"""The verify suite: ``gpubench verify``'s checks, stored so that history shows fidelity over time.

Its rows are checks, not benchmarks: gpubench's time over a plain reference's for one headline
case. They are not judged (no nightly verdict, not "the latest run") and are not run by pytest.
"""

from gpubench.suites import Column, GpuCheckStep, Suite

POSITION = 90  # where views list this suite (gpubench.suites)

SUITES = (
    Suite(
        name="verify",
        title="gpubench's figures against independent plain timings (gpubench verify)",
        case="gpubench.suites.verify.case",
        columns=(
            Column("target", "suite"),
            Column("check", "case"),
            Column("gpubench_s", "gpubench (s)", "{:.6g}"),
            Column("reference_s", "reference (s)", "{:.6g}"),
            Column("ratio", "ratio", "{:.3f}"),
            Column("verdict", "verdict"),
        ),
        headline="ratio",
        judged=False,
        # The spin kernel every CUDA timing relies on (measure.timing) is verified with the other checks.
        verify=(("spin", "gpubench.suites.verify.spin:pairs"),),
        gpu_check=(
            GpuCheckStep(
                "verify-spin",
                ("{python}", "-m", "gpubench", "verify", "--suite", "spin", "--results", "{store}"),
                10,
                7,
                "verify",
            ),
        ),
        must_show="gpubench.suites.verify.must_show:lines",
    ),
)
