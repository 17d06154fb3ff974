import time

import pytest
import torch

from gpubench.timing import Timer


def test_cpu_timer_reports_per_operation_samples():
    calls = []

    def op():
        calls.append(1)
        time.sleep(0.002)  # sleeps at least this long: a lower bound, not a timed target

    m = Timer(op, warmup=2, samples=5, ops_per_sample=3).measure()
    assert m.n == 5 and m.ops_per_sample == 3 and m.clock == "host-perf_counter"
    assert len(calls) == 2 + 5 * 3
    assert m.min >= 0.002  # per operation, not per loop of three


def test_calibration_batches_fast_operations():
    data = torch.arange(64, dtype=torch.float32)
    m = Timer(lambda: data.sum(), samples=3, min_sample_s=1e-3).measure()
    assert m.ops_per_sample > 1  # a sum of 64 floats takes far less than a millisecond


def test_calibration_keeps_slow_operations_single():
    m = Timer(lambda: time.sleep(0.003), samples=2, warmup=0, min_sample_s=1e-3).measure()
    assert m.ops_per_sample == 1


def test_invalid_settings():
    with pytest.raises(ValueError):
        Timer(lambda: None, samples=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA events need a GPU; this torch has none")
def test_cuda_timer_uses_events():
    x = torch.randn(1 << 20, device="cuda")
    m = Timer(lambda: x.mul_(1.0001), device="cuda", samples=3).measure()
    assert m.clock == "cuda-event" and m.median > 0
