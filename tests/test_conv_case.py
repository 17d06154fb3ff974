"""The conv case measured in this process (tiny shapes, each test its own: a shape runs once per process)."""

import os
import re

import pytest
import torch

from gpubench.measure.result import CaseSkipped, VerificationError
from gpubench.suites.conv import case as conv
from gpubench.suites.conv.case import FLAG_COMBOS, ConvConfig, Flags
from gpubench.suites.conv.shapes import ConvShape, conv_flops
from gpubench.suites.conv.worker import ConvSession

ON_ON = Flags(benchmark=True, deterministic=True)


def tiny(channels: int, name: str = "tiny") -> ConvShape:
    return ConvShape(name, 2, channels, 8, 12, 12, 3, 3, 1, 1)


def cpu_case(shape, direction="forward", flags=FLAG_COMBOS[0], layout="nchw", **kwargs) -> ConvConfig:
    return ConvConfig(shape, "cpu", "float32", layout, direction, flags, samples=5, warmup=1, **kwargs)


def cudnn_flags():
    c = torch.backends.cudnn
    return (c.enabled, c.benchmark, c.deterministic, c.allow_tf32)


@pytest.fixture
def unusual_flags():
    """Start from flags nobody uses, so 'restored' cannot mean 'reset to defaults'."""
    saved = cudnn_flags()
    c = torch.backends.cudnn
    c.enabled, c.benchmark, c.deterministic, c.allow_tf32 = False, True, False, False
    yield cudnn_flags()
    c.enabled, c.benchmark, c.deterministic, c.allow_tf32 = saved


@pytest.mark.parametrize("direction", conv.DIRECTIONS)
def test_cpu_case_measures_and_records(direction):
    shape = tiny(3 + conv.DIRECTIONS.index(direction))
    result = conv.measure(cpu_case(shape, direction))
    params = result.params
    for column in ("batch", "in_channels", "out_channels", "height", "width", "kernel_h", "kernel_w", "stride"):
        assert column in params
    assert params["direction"] == direction and params["cudnn_benchmark"] is False
    assert result.metrics["tflops"] == pytest.approx(conv_flops(shape) / result.measurement.median / 1e12)
    assert result.metrics["first_call_s"] > 0
    assert result.metrics["rel_error_vs_fp64"] < 1e-5
    assert result.info["deterministic_output"] is True and result.metrics["max_abs_diff"] == 0.0
    assert result.info["conv_backend"] in ("Mkldnn", "Slow2d", "Empty")
    assert "do not apply on the CPU" in result.info["note"]
    assert result.info["cudnn_applies"] is False
    assert "kernels" not in result.info  # profiler kernel names are a CUDA thing


def test_flags_applied_during_the_case_and_restored_after(unusual_flags):
    config = cpu_case(tiny(7), flags=ON_ON, allow_tf32=False)
    result = conv.measure(config)
    assert re.search(r"enabled=True benchmark=True deterministic=True allow_tf32=False", result.info["flags_in_effect"])
    assert cudnn_flags() == unusual_flags


def test_flags_restored_when_the_case_fails(unusual_flags):
    with pytest.raises(RuntimeError, match="inside"), conv.applied_flags(ON_ON, allow_tf32=True):
        assert cudnn_flags() == (True, True, True, True)
        raise RuntimeError("failure inside the case")
    assert cudnn_flags() == unusual_flags


def test_cpu_threads_set_for_the_case_and_restored_after():
    before = torch.get_num_threads()
    wanted = 2 if before == 1 else 1
    result = conv.measure(cpu_case(tiny(19), threads=wanted))
    assert result.info["threads"] == wanted
    assert torch.get_num_threads() == before


def test_a_convolution_runs_once_per_process():
    config = cpu_case(tiny(9))
    conv.measure(config)
    again = cpu_case(tiny(9, name="same geometry, other name"), flags=ON_ON)
    with pytest.raises(conv.PlanCacheReuse, match="already ran in process"):
        conv.measure(again)
    other_pass = cpu_case(tiny(9), direction="backward_weight", flags=ON_ON)
    assert conv.measure(other_pass).params["direction"] == "backward_weight"  # another plan: allowed


def test_dynamic_scenario_times_every_step_in_order():
    config = cpu_case(tiny(11), direction=conv.TRAINING_STEP, batch_sizes=(3, 4, 3, 4))
    result = conv.measure(config)
    steps = result.measurement.samples
    assert len(steps) == 4 and result.params["scenario"] == "dynamic" and result.params["batch"] == 4
    assert result.metrics["total_s"] == pytest.approx(sum(steps))
    assert result.metrics["first_pass_s"] == pytest.approx(steps[0] + steps[1])
    assert result.info["batch_sequence"] == "3,4,3,4"
    # Its rate holds autotuning and a synchronise per step: not the steady-state column.
    assert "tflops" not in result.metrics
    flops = sum(3 * conv_flops(config.shape.with_batch(batch)) for batch in (3, 4, 3, 4))
    assert result.metrics["dynamic_tflops"] == pytest.approx(flops / result.metrics["total_s"] / 1e12)


def test_bitwise_comparison_sees_one_ulp_and_signed_zero():
    reference = torch.randn(64, generator=torch.Generator().manual_seed(0))
    assert conv.compare_repeats(reference, [reference.clone(), reference.clone()]) == (True, 0.0)
    nudged = reference.clone()
    nudged[5] = torch.nextafter(nudged[5], torch.tensor(float("inf")))
    identical, diff = conv.compare_repeats(reference, [reference.clone(), nudged])
    assert not identical and diff == pytest.approx(float(nudged[5] - reference[5])) and diff > 0
    zeros = torch.zeros(4)
    assert not conv.bitwise_equal(zeros, -zeros) and torch.equal(zeros, -zeros)


def test_reproducibility_check_catches_a_result_that_changes_between_calls():
    base = torch.randn(256, generator=torch.Generator().manual_seed(1))
    noise = torch.Generator().manual_seed(2)
    drifting = lambda: base + 1e-4 * torch.rand(256, generator=noise)  # noqa: E731
    identical, diff = conv.reproducibility(drifting, drifting(), torch.device("cpu"))
    assert not identical and 0 < diff < 1e-3
    assert conv.reproducibility(lambda: base * 2, base * 2, torch.device("cpu")) == (True, 0.0)


def test_result_check_rejects_a_wrong_convolution():
    one = conv.conv_pass(tiny(13), "forward", "float32", "nchw", torch.device("cpu"))
    reference = one.reference()
    assert conv.check_result(one.run(), reference, "float32", "ok") < 1e-5
    with pytest.raises(VerificationError, match="relative error"):
        conv.check_result(one.run() * 1.01, reference, "float32", "scaled")


def test_inputs_are_random_and_channels_last_is_real():
    inputs = conv.conv_inputs(tiny(15), "float32", "channels_last", torch.device("cpu"))
    assert inputs.x.is_contiguous(memory_format=torch.channels_last)
    assert inputs.x.unique().numel() > 100 and inputs.grad_out.abs().sum() > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the skip reason on a machine without CUDA")
def test_cuda_case_skips_with_reason_without_cuda():
    config = ConvConfig(tiny(17), "cuda", "float16", "channels_last", "forward", ON_ON)
    with pytest.raises(CaseSkipped, match=r"CPU build|no usable GPU"):
        conv.measure(config)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize(("dtype", "layout"), [("float32", "nchw"), ("float16", "channels_last")])
def test_cuda_case_records_kernels_memory_and_flags(dtype, layout):
    # As the suite runs it: one fresh spawned worker measures the case, then records its kernels
    # (the profiler never runs in this process, and never before a timing).
    shape = ConvShape(f"cuda {dtype}", 4, 16, 32, 28, 28, 3, 3, 1, 1)
    config = ConvConfig(shape, "cuda", dtype, layout, "backward_weight", ON_ON, samples=5)
    before = cudnn_flags()
    session = ConvSession([config])
    result = session.result(config)
    assert session.workers_started == 1 and result.info["worker_pid"] != os.getpid()
    assert cudnn_flags() == before
    assert result.info["cudnn_applies"] is True and result.info["conv_backend"].startswith("Cudnn")
    assert result.info["kernels_check"] == "ok" and result.info["kernel_count"] > 0
    assert "late_enqueue_samples" in result.info  # recorded; whether a sample was late is the device's business
    assert result.metrics["first_call_peak_bytes"] > 0
    assert result.measurement.clock == "cuda-event"
    assert "benchmark=True deterministic=True" in result.info["flags_in_effect"]


def test_grid_has_all_four_combinations_of_every_case():
    for profile in ("quick", "full"):
        cases = conv.configs(profile)
        assert len({case.id for case in cases}) == len(cases)
        by_case = {}
        for case in cases:
            key = (case.device, case.shape, case.dtype, case.allow_tf32, case.layout, case.direction)
            by_case.setdefault(key, set()).add(case.flags)
        assert all(flags == set(FLAG_COMBOS) for flags in by_case.values())
    quick = conv.configs("quick")
    cpu = [case for case in quick if case.device == "cpu"]
    assert {case.dtype for case in cpu} == {"float32"} and {case.shape.batch for case in cpu} == {1}
    assert {case.threads for case in cpu} == {conv.CPU_THREADS}
    cuda = [case for case in quick if case.device == "cuda"]
    assert {(case.dtype, case.allow_tf32) for case in cuda} >= {("float32", True), ("float32", False)}
    assert {case.direction for case in cuda} == {*conv.DIRECTIONS, conv.TRAINING_STEP}


def test_dynamic_batches_never_reuse_the_static_batch():
    for case in conv.configs("quick"):
        if case.batch_sizes:
            assert case.shape.batch not in case.batch_sizes
            assert len(case.batch_sizes) == 3 * len(set(case.batch_sizes))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"device": "tpu"}, "unknown conv device"),
        ({"dtype": "int8"}, "unknown conv dtype"),
        ({"layout": "nhwc"}, "unknown conv layout"),
        ({"direction": "sideways"}, "unknown conv direction"),
        ({"direction": "forward", "batch_sizes": (2, 3)}, "unknown conv direction"),
    ],
)
def test_config_rejects_bad_input(kwargs, message):
    values = {"shape": tiny(4), "device": "cpu", "dtype": "float32", "layout": "nchw", "direction": "forward"}
    values.update(kwargs)
    with pytest.raises(ValueError, match=message):
        ConvConfig(flags=ON_ON, **values)


def test_kernels_are_matched_to_the_op_that_launched_them_not_to_a_time_window():
    from types import SimpleNamespace

    cpu, cuda = torch.autograd.DeviceType.CPU, torch.autograd.DeviceType.CUDA

    def op(name, parent=None, kernels=(), **extra):
        kernels = [SimpleNamespace(name=kernel) for kernel in kernels]
        return SimpleNamespace(name=name, device_type=cpu, cpu_parent=parent, kernels=kernels, **extra)

    case_a, case_b = op("case-a"), op("case-b")
    conv_a = op("aten::convolution", case_a)
    events = [
        case_a,
        conv_a,
        op("aten::cudnn_convolution", conv_a, ["implicit_gemm_fprop"]),
        op("aten::copy_", case_a, ["case-a"]),  # the range's own GPU-side annotation: not a kernel
        case_b,
        op("aten::cudnn_convolution", op("aten::convolution", case_b), ["winograd_fprop", "nchwToNhwc"]),
        op("aten::empty", None, ["stray_kernel"]),  # launched outside every range: nobody's
        op("aten::mul", case_b, ["legacy_name"], is_legacy=True),  # the legacy profiler's op-time fallback
        # A kernel event whose GPU timestamps kineto shifted into case-b's window: not read at all.
        SimpleNamespace(name="implicit_gemm_fprop", device_type=cuda, cpu_parent=None, kernels=[]),
    ]
    assert conv.kernels_by_launch(events, ["case-a", "case-b", "case-c"]) == {
        "case-a": ["implicit_gemm_fprop"],
        "case-b": ["nchwToNhwc", "winograd_fprop"],
        "case-c": [],
    }
