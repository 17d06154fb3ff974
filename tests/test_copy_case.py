import pandas as pd
import pytest
import torch

from gpubench.machine.fingerprint import pcie_theoretical_gbps
from gpubench.measure.result import CaseSkipped, VerificationError
from gpubench.measure.timing import QUEUE_SAFE_COMMANDS
from gpubench.suites.copy import case as copy


def test_host_baseline_measures_and_verifies(monkeypatch):
    checked = []
    real_verify = copy._verify
    monkeypatch.setattr(copy, "_verify", lambda *args: checked.append(args[2]) or real_verify(*args))
    result = copy.measure(copy.CopyConfig("h2h", 1 << 16, "pageable", samples=3))
    assert checked == ["h2h"]  # the copy was checked once, after timing
    assert result.params == {"direction": "h2h", "host_memory": "pageable", "bytes": 1 << 16}
    assert result.measurement.n == 3 and result.measurement.median > 0


def test_host_baseline_fails_on_a_corrupted_copy(monkeypatch):
    # The source handed to the copy differs from the data the check expects by one byte.
    real_buffer = copy._host_buffer

    def corrupted(source, nbytes, memory):
        buffer = real_buffer(source, nbytes, memory)
        if source is not None:
            buffer[nbytes // 2] ^= 0x5A
        return buffer

    monkeypatch.setattr(copy, "_host_buffer", corrupted)
    with pytest.raises(VerificationError, match="h2h copy of 65536 B: 1 bytes differ"):
        copy.measure(copy.CopyConfig("h2h", 1 << 16, "pageable", samples=3))


def test_pageable_copies_are_timed_without_the_spin():
    assert not copy.uses_spin(copy.CopyConfig("h2d", 4096, "pageable"))
    assert not copy.uses_spin(copy.CopyConfig("d2h", 4096, "pageable"))
    assert copy.uses_spin(copy.CopyConfig("h2d", 4096, "pinned"))
    assert copy.uses_spin(copy.CopyConfig("d2d", 4096, "device"))


def test_copied_data_is_random_not_zeros():
    data = copy._random_bytes(4096)
    assert data.unique().numel() > 200


def test_verification_catches_a_copy_that_did_not_arrive():
    expected = copy._random_bytes(1024)
    received = expected.clone()
    received[17] ^= 0xFF
    with pytest.raises(VerificationError, match="1 bytes differ"):
        copy._verify(received, expected, "h2h")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the skip reason on a machine without CUDA")
def test_gpu_directions_skip_with_reason_without_cuda():
    with pytest.raises(CaseSkipped, match=r"CPU build|no usable GPU"):
        copy.measure(copy.CopyConfig("h2d", 4096, "pinned"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"direction": "sideways", "nbytes": 1}, "unknown copy direction"),
        ({"direction": "d2d", "nbytes": 1, "host_memory": "pinned"}, "does not apply"),
        ({"direction": "h2d", "nbytes": 0}, "positive"),
    ],
)
def test_config_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        copy.CopyConfig(**kwargs)


def test_profiles():
    quick, full = copy.configs("quick"), copy.configs("full")
    assert {c.direction for c in quick} == set(copy.DIRECTIONS)
    assert max(c.nbytes for c in full) == 1 << 30 and min(c.nbytes for c in full) == 4096
    assert len(full) > len(quick)
    with pytest.raises(ValueError, match="unknown profile"):
        copy.configs("medium")


def test_pcie_theory():
    assert pcie_theoretical_gbps(4, 16) == pytest.approx(31.5, rel=1e-2)
    assert pcie_theoretical_gbps(5, 16) == pytest.approx(63.0, rel=1e-2)
    assert pcie_theoretical_gbps(None, 16) is None


def test_host_baseline_reports_the_time_per_copy_under_its_new_name():
    result = copy.measure(copy.CopyConfig("h2h", 1 << 12, "pageable", samples=3))
    assert result.metrics["time_per_copy_us"] == pytest.approx(result.measurement.median * 1e6)
    assert "latency_us" not in result.metrics  # a pipelined time per copy, not a latency


def test_rows_stored_under_the_old_name_are_read_under_the_new_one():
    from gpubench.suites import current_names
    from gpubench.views.tables import summary

    frame = pd.DataFrame(
        [
            {"suite": "copy", "status": "ok", "direction": "h2d", "host_memory": "pinned", "bytes": 4096,
             "latency_us": 1.5, "gbps": 2.7, "iqr_s": 1e-7, "rounds": 5},
            {"suite": "copy", "status": "ok", "direction": "d2d", "host_memory": "device", "bytes": 4096,
             "time_per_copy_us": 2.5, "gbps": 1.6, "iqr_s": 1e-7, "rounds": 5},
        ]
    )  # fmt: skip
    assert current_names(frame)["time_per_copy_us"].tolist() == [1.5, 2.5]
    text = summary(frame)
    assert "time per copy (us, pipelined)" in text and "GB/s (d2d: bytes once)" in text
    assert "1.50" in text and "2.50" in text and "latency" not in text


def test_the_figure_puts_device_memory_in_its_own_panel_on_log_axes(tmp_path, monkeypatch):
    from gpubench.suites.copy import plot as copy_plot

    drawn = []
    monkeypatch.setattr(copy_plot, "save_figure", lambda fig, out, name, dpi: drawn.append(fig) or out / name)
    rows = [
        {"direction": direction, "host_memory": memory, "bytes": size, "gbps": gbps * size / (1 << 20),
         "q1_s": 1e-3, "q3_s": 1e-3, "pcie_theoretical_gbps": 63.0 if direction != "d2d" else None}
        for direction, memory, gbps in (("h2d", "pinned", 50.0), ("d2h", "pinned", 52.0), ("d2d", "device", 2000.0))
        for size in (1 << 16, 1 << 20)
    ]  # fmt: skip
    copy_plot.plot(pd.DataFrame(rows), tmp_path)
    (fig,) = drawn
    host, device = fig.axes
    assert host.get_yscale() == device.get_yscale() == "log"
    assert {line.get_label() for line in host.get_lines()} == {
        "h2d (pinned)",
        "d2h (pinned)",
        "PCIe theoretical 63.0 GB/s",
    }
    assert [line.get_label() for line in device.get_lines()] == ["d2d (bytes counted once; read + write move 2x)"]


def test_the_link_poller_keeps_the_highest_reading_taken_during_the_block():
    import threading

    from gpubench.measure.devices import LinkPoller

    # Recorded NVML readings of a small copy case: idle Gen1, trained up to Gen5 under load, Gen1
    # again by the time one reading after the copies would have been taken.
    readings = [(1, 16), (5, 16), (5, 16), (2, 16), (None, None)]
    done = threading.Event()

    def read():
        value = readings.pop(0) if readings else (1, 16)
        if not readings:
            done.set()
        return value

    with LinkPoller(read, interval_s=0) as poller:
        assert done.wait(10)
    assert poller.link == (5, 16) and poller.polls >= 6


def test_verify_builds_a_pairs_buffers_once_for_all_its_rounds(monkeypatch):
    from gpubench.suites.copy import verify as copy_verify

    built = []
    real_build = copy._build
    monkeypatch.setattr(copy, "_build", lambda *args: built.append(1) or real_build(*args))
    ours = copy_verify._ours(copy.CopyConfig("h2h", 1 << 12, "pageable", samples=3))
    assert ours() > 0 and ours() > 0 and ours() > 0
    assert len(built) == 1


# --- on a GPU only (gpu-check runs them with -k "cuda or gpu"): small pinned copies, data and clock ---


@pytest.mark.skipif(not torch.cuda.is_available(), reason="pinned copies need a CUDA GPU; this torch has none")
@pytest.mark.parametrize(
    ("direction", "memory"), [("h2d", "pinned"), ("d2h", "pinned"), ("d2d", "device"), ("bidir", "pinned")]
)
def test_cuda_copy_measures_checks_the_data_and_uses_events(direction, memory, monkeypatch):
    checked = []
    real_verify = copy._verify
    monkeypatch.setattr(copy, "_verify", lambda *args: checked.append(args[2]) or real_verify(*args))
    result = copy.measure(copy.CopyConfig(direction, 1 << 20, memory, samples=3))
    assert checked == (["bidir h2d", "bidir d2h"] if direction == "bidir" else [direction])
    assert result.measurement.clock == "cuda-event" and result.metrics["gbps"] > 0
    assert result.info["late_enqueue_samples"] >= 0 and "spin_s" in result.info
    if direction == "bidir":  # about 12 commands an op: a shorter loop than a plain copy's
        assert result.measurement.ops_per_sample <= QUEUE_SAFE_COMMANDS // copy.BIDIR_COMMANDS
    if direction != "d2d":
        assert result.info["pcie_link_polls"] >= 2


@pytest.mark.skipif(not torch.cuda.is_available(), reason="pinned copies need a CUDA GPU; this torch has none")
def test_cuda_copy_fails_when_the_data_does_not_arrive(monkeypatch):
    real_buffer = copy._host_buffer

    def corrupted(source, nbytes, memory):
        buffer = real_buffer(source, nbytes, memory)
        if source is not None:
            buffer[nbytes // 2] ^= 0x5A
        return buffer

    monkeypatch.setattr(copy, "_host_buffer", corrupted)
    with pytest.raises(VerificationError, match="h2d copy of 1048576 B: 1 bytes differ"):
        copy.measure(copy.CopyConfig("h2d", 1 << 20, "pinned", samples=3))
