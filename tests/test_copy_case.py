import pytest
import torch

from gpubench.machine.fingerprint import pcie_theoretical_gbps
from gpubench.measure.result import CaseSkipped, VerificationError
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
