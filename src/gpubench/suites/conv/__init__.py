"""The conv suite: cuDNN convolution under the four benchmark x deterministic flag combinations."""

from gpubench.suites import Column, Suite

POSITION = 20  # where views list this suite (gpubench.suites)

SUITES = (
    Suite(
        name="conv",
        title="cuDNN convolution: cudnn.benchmark x cudnn.deterministic across shapes, dtypes and passes",
        case="gpubench.suites.conv.case",
        columns=(
            Column("device", "device"),
            Column("shape", "shape"),
            Column("batch", "N", "{:.0f}"),
            Column("dtype", "dtype"),
            Column("allow_tf32", "tf32"),
            Column("layout", "layout"),
            Column("direction", "pass"),
            Column("cudnn_benchmark", "bench"),
            Column("cudnn_deterministic", "determ"),
            Column("median_s", "time (us)", "{:.1f}"),
            Column("tflops", "TFLOP/s", "{:.3f}"),
            Column("first_call_s", "1st call (s)", "{:.4f}"),
            Column("deterministic_output", "bitwise same"),
            Column("max_abs_diff", "max |diff|", "{:.2g}"),
        ),
        headline="tflops",
        plot=tuple(
            f"gpubench.suites.conv.plot:{name}" for name in ("plot_speedups", "plot_first_calls", "plot_dynamic")
        ),
        plot_columns=(
            "device",
            "dtype",
            "allow_tf32",
            "layout",
            "shape",
            "batch",
            "scenario",
            "direction",
            "cudnn_benchmark",
            "cudnn_deterministic",
            "median_s",
        ),
        verify=(("conv", "gpubench.suites.conv.verify:pairs"),),
    ),
)
