"""The copy and collective suites' doctor rules on stored rows: their own floors and their own groups."""

from __future__ import annotations

import pandas as pd

from gpubench.suites.collectives.doctor import allreduce_findings
from gpubench.suites.copy.doctor import BIDIR_FLOOR_PCT, COPY_FLOOR_PCT, copy_findings


def _copy(direction: str, gbps: float) -> dict:
    return {"suite": "copy", "status": "ok", "direction": direction, "host_memory": "pinned", "bytes": 1 << 28,
            "gbps": gbps, "pcie_theoretical_gbps": 63.0, "pcie_gen": 5, "pcie_width": 16}  # fmt: skip


def test_bidirectional_copies_are_judged_against_their_own_floor():
    assert BIDIR_FLOOR_PCT < COPY_FLOOR_PCT
    # 30 GB/s per direction with the other direction loaded: 48% of 63, a healthy Gen5 host.
    findings = copy_findings(pd.DataFrame([_copy("h2d", 55.0), _copy("bidir", 30.0)]), "run r")
    by_direction = {finding.message.split(": ")[1].split()[0]: finding for finding in findings}
    assert by_direction["bidir"].severity == "info" and by_direction["h2d"].severity == "info"
    slow = copy_findings(pd.DataFrame([_copy("bidir", 15.0)]), "run r")  # 24%: below even its floor
    assert slow[0].severity == "warning" and f"expect >= {BIDIR_FLOOR_PCT:.0f}%" in slow[0].message
    one_way = copy_findings(pd.DataFrame([_copy("h2d", 30.0)]), "run r")  # the same 48% one way is far below
    assert one_way[0].severity == "warning" and f"expect >= {COPY_FLOOR_PCT:.0f}%" in one_way[0].message


def _allreduce(device: str, busbw: float) -> dict:
    return {"suite": "allreduce", "status": "ok", "backend": "gloo", "device": device, "world_size": 2,
            "bytes": 64 << 20, "busbw_gbps": busbw}  # fmt: skip


def test_gloo_on_cpu_and_on_cuda_tensors_are_reported_apart():
    frame = pd.DataFrame([_allreduce("cpu", 1.0), _allreduce("cuda", 3.5), _allreduce("cuda", 2.0)])
    messages = [finding.message for finding in allreduce_findings(frame, "run r")]
    assert len(messages) == 2
    assert any("gloo on cpu tensors x2 busbw reaches at best 1.0 GB/s" in message for message in messages)
    assert any("gloo on cuda tensors x2 busbw reaches at best 3.5 GB/s" in message for message in messages)


def test_rows_stored_without_a_device_are_still_judged():
    frame = pd.DataFrame([_allreduce("cpu", 1.0)]).drop(columns="device")
    (finding,) = allreduce_findings(frame, "run r")
    assert "allreduce gloo x2 busbw reaches at best 1.0 GB/s" in finding.message
