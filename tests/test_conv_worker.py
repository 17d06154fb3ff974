"""Flag isolation: one fresh process per flag combination, never a convolution twice in a process."""

import os

import pytest
import torch

from gpubench.measure.result import CaseResult, CaseSkipped
from gpubench.suites.conv import case as conv
from gpubench.suites.conv.case import FLAG_COMBOS, ConvConfig
from gpubench.suites.conv.shapes import ConvShape
from gpubench.suites.conv.worker import ConvSession, serve

SHAPE_A = ConvShape("a", 1, 6, 8, 10, 10, 3, 3, 1, 1)
SHAPE_B = ConvShape("b", 1, 8, 6, 10, 10, 1, 1, 1, 0)


def case(shape, flags, direction="forward", device="cpu") -> ConvConfig:
    return ConvConfig(shape, device, "float32", "nchw", direction, flags, samples=3, warmup=1)


def test_each_combination_runs_in_its_own_fresh_process():
    cases = [case(shape, flags) for flags in FLAG_COMBOS for shape in (SHAPE_A, SHAPE_B)]
    session = ConvSession(cases)
    results = {config: session.result(config) for config in cases}
    assert session.workers_started == len(FLAG_COMBOS)
    pids = {}
    for config, result in results.items():
        assert isinstance(result, CaseResult)
        assert result.info["worker_pid"] != os.getpid() and result.info["parent_pid"] == os.getpid()
        wanted = f"benchmark={config.flags.benchmark} deterministic={config.flags.deterministic}"
        assert wanted in result.info["flags_in_effect"]
        pids.setdefault(config.flags, set()).add(result.info["worker_pid"])
    assert all(len(p) == 1 for p in pids.values()), "a combination was split over processes"
    assert len(set().union(*pids.values())) == len(FLAG_COMBOS), "two combinations shared a process"
    # Both shapes of a combination ran in one process, in order, as its first two cases.
    first = results[cases[0]].info["process_case_index"], results[cases[1]].info["process_case_index"]
    assert first == (0, 1)


def test_a_worker_refuses_other_combinations():
    with pytest.raises(ValueError, match="other combinations"):
        serve("cpu", FLAG_COMBOS[0], [case(SHAPE_A, FLAG_COMBOS[1])])


def test_a_worker_refuses_to_run_a_convolution_twice():
    # In-process, as a worker would: the second run of the same pass is refused, not measured.
    shape = ConvShape("twice", 1, 5, 5, 9, 9, 3, 3, 1, 1)
    outcomes = serve("cpu", FLAG_COMBOS[2], [case(shape, FLAG_COMBOS[2]), case(shape, FLAG_COMBOS[2])])
    assert isinstance(outcomes[0], CaseResult)
    assert isinstance(outcomes[1], conv.PlanCacheReuse)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the skip on a machine without CUDA")
def test_cuda_combinations_skip_without_starting_a_worker():
    session = ConvSession([case(SHAPE_A, FLAG_COMBOS[1], device="cuda")])
    with pytest.raises(CaseSkipped, match=r"CPU build|no usable GPU"):
        session.result(case(SHAPE_A, FLAG_COMBOS[1], device="cuda"))
    assert session.workers_started == 0


# --- kernel names on CUDA: once per worker, after every timing (the device is simulated here) ---


def _fake_cuda_worker(monkeypatch, kernels):
    """serve() for CUDA with measuring and profiling replaced by a log of what ran, in order."""
    import gpubench.suites.conv.worker as worker
    from gpubench.measure.stats import Measurement

    log = []

    def measure(config):
        log.append(f"time {config.shape.name}")
        return CaseResult(conv.SUITE, config.params(), Measurement((1.0,)))

    def record(configs, device):
        log.append("kernels " + ",".join(config.shape.name for config in configs))
        if isinstance(kernels, Exception):
            raise kernels
        return {config.id: kernels.get(config.shape.name, []) for config in configs}

    monkeypatch.setattr(conv, "prime", lambda device, variants: None)
    monkeypatch.setattr(conv, "measure", measure)
    monkeypatch.setattr(conv, "record_kernels", record)
    monkeypatch.setattr(worker, "require_cuda", lambda index: torch.device("cuda", index))
    return log


def test_kernels_are_recorded_once_after_every_case_was_timed(monkeypatch):
    log = _fake_cuda_worker(monkeypatch, {"a": ["implicit_gemm"], "b": ["winograd", "nchwToNhwc"]})
    configs = [case(SHAPE_A, FLAG_COMBOS[1], device="cuda"), case(SHAPE_B, FLAG_COMBOS[1], device="cuda")]
    outcomes = serve("cuda", FLAG_COMBOS[1], configs)
    assert log == ["time a", "time b", "kernels a,b"]
    assert outcomes[1].info["kernels"] == "winograd; nchwToNhwc" and outcomes[1].info["kernel_count"] == 2
    assert all(conv.check_kernels(outcome) for outcome in outcomes)


def test_no_kernel_recorded_on_cuda_fails_the_case(monkeypatch):
    from gpubench.measure.result import VerificationError

    _fake_cuda_worker(monkeypatch, {"a": ["implicit_gemm"]})
    configs = [case(SHAPE_A, FLAG_COMBOS[0], device="cuda"), case(SHAPE_B, FLAG_COMBOS[0], device="cuda")]
    first, second = serve("cuda", FLAG_COMBOS[0], configs)
    conv.check_kernels(first)
    assert second.info["kernel_count"] == 0 and second.measurement.n == 1  # figures kept, check failed
    with pytest.raises(VerificationError, match="no CUDA kernel recorded"):
        conv.check_kernels(second)


def test_a_failing_profiler_fails_every_cuda_case_with_its_reason(monkeypatch):
    from gpubench.measure.result import VerificationError

    _fake_cuda_worker(monkeypatch, RuntimeError("CUPTI_ERROR_NOT_INITIALIZED"))
    (only,) = serve("cuda", FLAG_COMBOS[0], [case(SHAPE_A, FLAG_COMBOS[0], device="cuda")])
    with pytest.raises(VerificationError, match="CUPTI_ERROR_NOT_INITIALIZED"):
        conv.check_kernels(only)


def test_cpu_cases_have_no_kernel_check():
    (only,) = serve("cpu", FLAG_COMBOS[3], [case(ConvShape("cpu-only", 1, 4, 4, 6, 6, 1, 1, 1, 0), FLAG_COMBOS[3])])
    assert "kernels_check" not in only.info
    conv.check_kernels(only)
