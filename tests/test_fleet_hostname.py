"""GPUBENCH_HOSTNAME names the machine as the fleet names it (a Slurm node, a Kubernetes node)."""

from __future__ import annotations

import socket

import pytest

from gpubench.machine.fingerprint import host_fingerprint


def test_the_override_names_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GPUBENCH_HOSTNAME", "gpu-node-17")
    assert host_fingerprint()["hostname"] == "gpu-node-17"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_unset_or_blank_is_the_host_name(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("GPUBENCH_HOSTNAME", raising=False)
    else:
        monkeypatch.setenv("GPUBENCH_HOSTNAME", value)
    assert host_fingerprint()["hostname"] == socket.gethostname()
