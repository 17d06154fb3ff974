"""The conv suite: cuDNN convolution under the four benchmark x deterministic flag combinations."""

from gpubench.suites import Column, GpuCheckStep, Suite

_GPUBENCH = ("{python}", "-m", "gpubench")
# gpu-check: one ResNet-50 shape, each flag combination its own step (its own run, its own worker).
_CHECK_SHAPE = "resnet50_64to64_3x3_56"
_COMBOS = ("bench_off-det_off", "bench_on-det_off", "bench_off-det_on", "bench_on-det_on")


def _combo_step(combo: str) -> GpuCheckStep:
    selection = f"cuda and {_CHECK_SHAPE} and {combo}"
    command = (
        *_GPUBENCH,
        "run",
        "--profile",
        "quick",
        "--suite",
        "conv",
        "--results",
        "{store}",
        "--",
        "-k",
        selection,
    )
    return GpuCheckStep(f"conv-{combo}", command, 22, 20)


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
            Column("dynamic_tflops", "TFLOP/s dynamic (autotune incl.)", "{:.3f}"),
            Column("first_call_s", "1st call (s)", "{:.4f}"),
            Column("deterministic_output", "bitwise same"),
            Column("max_abs_diff", "max |diff|", "{:.2g}"),
        ),
        headline="tflops",
        gpu_check=(
            GpuCheckStep(
                "verify-conv", (*_GPUBENCH, "verify", "--suite", "conv", "--results", "{store}"), 40, 34, "verify"
            ),
            *(_combo_step(combo) for combo in _COMBOS),
        ),
        must_show="gpubench.suites.conv.must_show:lines",
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
