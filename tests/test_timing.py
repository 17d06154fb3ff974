import time

import pytest
import torch
from simulated_stream import SimulatedStream

from gpubench.measure.timing import COMMANDS_PER_OP, QUEUE_SAFE_COMMANDS, QUEUE_SAFE_OPS, Timer


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
    with pytest.raises(ValueError, match="commands_per_op"):
        Timer(lambda: None, commands_per_op=0)


# --- the CUDA path on a simulated stream (tests/simulated_stream.py): launch 50 us, kernel 10 us ---


def simulated_timer(stream: SimulatedStream, **kwargs) -> Timer:
    return Timer(stream.op, device="cuda", clock=stream, warmup=1, samples=5, **kwargs)


def test_spin_moves_enqueue_out_of_the_span():
    stream = SimulatedStream(enqueue_s=50e-6, device_s=10e-6)
    timer = simulated_timer(stream, ops_per_sample=100)
    m = timer.measure()
    assert m.clock == "cuda-event"
    assert m.median == pytest.approx(10e-6, rel=1e-9)  # the kernels alone, not their launches
    assert timer.report.late_samples == 0 and timer.report.note() == ""
    assert timer.report.spin_s >= 100 * 50e-6  # the spin covered the enqueue of the whole loop


def test_without_the_spin_enqueue_is_in_the_span():
    # The control for the test above: the simulation tells the two apart.
    stream = SimulatedStream(enqueue_s=50e-6, device_s=10e-6)
    m = simulated_timer(stream, ops_per_sample=100, spin=False).measure()
    assert m.median == pytest.approx(50e-6, rel=0.02)


def test_calibration_is_timed_behind_the_spin():
    # One launch and kernel take 70 us; calibrated on that, 2 ms would get a loop of 29 kernels
    # (0.6 ms of device time). Behind the spin the loop is long enough.
    stream = SimulatedStream(enqueue_s=50e-6, device_s=20e-6)
    m = simulated_timer(stream, min_sample_s=2e-3).measure()
    assert m.ops_per_sample * 20e-6 >= 2e-3
    assert m.median == pytest.approx(20e-6, rel=1e-9)


def test_calibrated_loops_stay_within_the_launch_queue():
    stream = SimulatedStream(enqueue_s=5e-6, device_s=1e-6)
    m = simulated_timer(stream, min_sample_s=2e-3).measure()
    assert m.ops_per_sample == QUEUE_SAFE_OPS


def test_an_operation_of_many_commands_gets_a_loop_that_fits_the_launch_queue():
    # A bidirectional copy issues about 12 stream commands: 256 of them would be ~3,000 commands.
    def bidirectional(commands_per_op):
        stream = SimulatedStream(enqueue_s=15e-6, device_s=1e-6, queue_depth=QUEUE_SAFE_COMMANDS, op_commands=12)
        timer = simulated_timer(stream, min_sample_s=2e-3, commands_per_op=commands_per_op)
        return stream, timer, timer.measure()

    stream, timer, m = bidirectional(12)
    assert m.ops_per_sample == QUEUE_SAFE_COMMANDS // 12 and stream.blocked_s == 0
    assert timer.report.late_samples == 0 and m.median == pytest.approx(1e-6, rel=1e-9)
    # The control: capped as a plain operation, the queue fills, the host waits inside the span, and it is said.
    stream, timer, m = bidirectional(COMMANDS_PER_OP)
    assert m.ops_per_sample == QUEUE_SAFE_OPS and stream.blocked_s > 0
    assert timer.report.late_samples == 5 and m.median > 5e-6
    assert "launch queue full" in timer.report.info()["timing_note"]


def test_a_full_launch_queue_is_detected_and_said():
    stream = SimulatedStream(enqueue_s=50e-6, device_s=10e-6, queue_depth=32)
    timer = simulated_timer(stream, ops_per_sample=100)
    m = timer.measure()
    assert stream.blocked_s > 0 and m.median > 10e-6  # the host waited, and that wait was timed
    assert timer.report.late_samples == 5
    assert "launch queue full" in timer.report.info()["timing_note"]


def test_a_spin_shorter_than_asked_is_detected():
    stream = SimulatedStream(enqueue_s=50e-6, device_s=10e-6, spin_rate=0.3)
    timer = simulated_timer(stream, ops_per_sample=100)
    timer.measure()
    assert timer.report.late_samples == 5


def test_ranks_that_agree_on_a_spin_must_fix_the_loop_length():
    with pytest.raises(ValueError, match="ops_per_sample"):
        Timer(lambda: None, agree_spin=lambda seconds: seconds)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA events need a GPU; this torch has none")
def test_cuda_timer_uses_events():
    x = torch.randn(1 << 20, device="cuda")
    timer = Timer(lambda: x.mul_(1.0001), device="cuda", samples=3)
    m = timer.measure()
    assert m.clock == "cuda-event" and m.median > 0
    assert timer.report.late_samples == 0, timer.report.note()
