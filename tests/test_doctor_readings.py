"""Collecting readings: the real path on this machine, and NVML's refusals turned into reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from gpubench.doctor import collect, diagnose, load_readings, machine
from gpubench.doctor import readings as doctor_readings
from gpubench.machine import nvml as nvml_module

DATA = Path(__file__).parent / "data" / "doctor"
RECORDED = sorted(path for path in DATA.glob("*.json") if not path.stem.startswith("results_"))


@pytest.mark.skipif(torch.version.cuda is not None, reason="checks the collection path of a CPU build of torch")
def test_collect_on_a_cpu_build():
    readings = collect()
    assert json.loads(json.dumps(readings)) == readings  # plain JSON data
    assert readings["torch"]["cuda_build"] is None and readings["torch"]["cuda_available"] is False
    assert readings["torch"]["version"] == torch.__version__
    errors = [finding for finding in diagnose(readings) if finding.severity == "error"]
    assert [finding.check for finding in errors] == ["cuda"] and "CPU build" in errors[0].message


@pytest.fixture
def collected(fake_nvml) -> dict:
    """What the collector builds for two GPUs (NVML played by a fake): the layout recordings must have."""
    return collect(load=False)


@pytest.mark.parametrize("path", RECORDED, ids=[path.stem for path in RECORDED])
def test_recorded_readings_have_the_collectors_layout(path, collected):
    readings = load_readings(path)
    assert tuple(readings) == tuple(collected)
    assert set(readings["torch"]) == set(machine.torch_readings())
    gpu, pair = collected["gpus"][0], collected["pairs"][0]
    for recorded in readings["gpus"]:
        assert tuple(recorded) == tuple(gpu)
        assert tuple(recorded["pcie"]) == tuple(gpu["pcie"])
    for recorded in readings["pairs"]:
        assert tuple(recorded) == tuple(pair)
    count = len(readings["gpus"])
    assert len(readings["pairs"]) == count * (count - 1) // 2


def test_load_readings_refuses_what_is_not_readings(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        load_readings(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match="not a readable JSON"):
        load_readings(tmp_path / "broken.json")
    (tmp_path / "other.json").write_text('{"benchmarks": []}')
    with pytest.raises(ValueError, match="not doctor readings"):
        load_readings(tmp_path / "other.json")
    document = {"findings": [], "readings": load_readings(DATA / "cpu_only.json")}
    (tmp_path / "doctor.json").write_text(json.dumps(document))
    assert load_readings(tmp_path / "doctor.json")["torch"]["version"] == "2.13.0+cpu"


def test_cpu_lists():
    assert doctor_readings.cpu_list([5, 0, 1, 2, 7, 8]) == "0-2,5,7-8"
    assert doctor_readings.parse_cpu_list("0-2,5,7-8") == {0, 1, 2, 5, 7, 8}
    assert doctor_readings.parse_cpu_list("") == set()


# NVML cannot start on this machine, so its answers are played by the real pynvml error classes:
# this checks that every refusal becomes a reason, never a traceback.


class FakeNvml:
    """Two GPUs that refuse in every way NVML does."""

    def __init__(self, pynvml):
        self.pynvml = pynvml

    def refuse(self, code):
        def call(*args):
            raise self.pynvml.NVMLError(code)

        return call

    def install(self, monkeypatch):
        pynvml = self.pynvml
        not_supported = self.refuse(pynvml.NVML_ERROR_NOT_SUPPORTED)
        for name in dir(pynvml):
            if name.startswith("nvmlDeviceGet") or name.startswith("nvmlSystemGet"):
                monkeypatch.setattr(pynvml, name, not_supported)
        monkeypatch.setattr(pynvml, "nvmlInit", lambda: None)
        monkeypatch.setattr(pynvml, "nvmlShutdown", lambda: None)
        monkeypatch.setattr(pynvml, "nvmlDeviceGetCount", lambda: 2)
        monkeypatch.setattr(pynvml, "nvmlDeviceGetHandleByIndex", lambda index: f"handle{index}")
        monkeypatch.setattr(pynvml, "nvmlSystemGetDriverVersion", lambda: "550.90.07")
        monkeypatch.setattr(pynvml, "nvmlSystemGetCudaDriverVersion_v2", lambda: 12040)
        monkeypatch.setattr(pynvml, "nvmlDeviceGetName", lambda handle: b"NVIDIA Fake GPU")
        monkeypatch.setattr(pynvml, "nvmlDeviceGetPersistenceMode", self.refuse(pynvml.NVML_ERROR_NO_PERMISSION))
        monkeypatch.setattr(pynvml, "nvmlDeviceGetCurrPcieLinkGeneration", lambda handle: 4)
        monkeypatch.setattr(pynvml, "nvmlDeviceGetCurrPcieLinkWidth", lambda handle: 16)
        monkeypatch.setattr(
            pynvml, "nvmlDeviceGetGpuMaxPcieLinkGeneration", self.refuse(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND)
        )
        # An older driver: the new name of the clock-event call is missing, the old one answers.
        monkeypatch.setattr(
            pynvml, "nvmlDeviceGetCurrentClocksEventReasons", self.refuse(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND)
        )
        monkeypatch.setattr(pynvml, "nvmlDeviceGetCurrentClocksThrottleReasons", lambda handle: 0x1 | 0x40)
        monkeypatch.delattr(pynvml, "nvmlDeviceGetVirtualizationMode")  # an nvidia-ml-py without the call

        def nvlink_state(handle, link):
            if handle == "handle1":
                raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
            if link >= 4:  # past the last link: InvalidArgument, which ends the list
                raise pynvml.NVMLError(pynvml.NVML_ERROR_INVALID_ARGUMENT)
            return 1 if link < 3 else 0

        monkeypatch.setattr(pynvml, "nvmlDeviceGetNvLinkState", nvlink_state)

        def p2p(first, second, index):
            if not isinstance(index, int):
                raise TypeError("ctypes takes an int index")  # nvidia-ml-py's NVML_P2P_CAPS_INDEX_READ is (0,)
            return 1 if index == 0 else 5

        monkeypatch.setattr(pynvml, "nvmlDeviceGetP2PStatus", p2p)


@pytest.fixture
def fake_nvml(monkeypatch):
    pynvml = pytest.importorskip("pynvml")
    monkeypatch.setattr(nvml_module, "pynvml", pynvml)
    FakeNvml(pynvml).install(monkeypatch)
    return pynvml


def test_every_nvml_refusal_becomes_a_reason(fake_nvml):
    readings = collect(load=False)
    assert json.loads(json.dumps(readings)) == readings
    assert readings["nvml"] == {
        "available": True,
        "unavailable_reason": None,
        "driver_version": "550.90.07",
        "cuda_driver_version": "12.4",
        "gpu_count": 2,
    }
    first, second = readings["gpus"]
    problems = readings["problems"]
    assert first["name"] == "NVIDIA Fake GPU"
    assert first["pcie"]["gen_current"] == 4 and first["pcie"]["gen_gpu_max"] is None
    assert problems["gpu0.pcie.gen_gpu_max"] == "not in this driver"
    assert first["persistence_mode"] is None and problems["gpu0.persistence_mode"] == "no permission"
    assert first["ecc_mode"] is None and problems["gpu0.ecc_mode"] == "not supported here"
    assert first["clocks_event_reasons"] == 0x41 and "gpu0.clocks_event_reasons" not in problems
    assert "missing from this nvidia-ml-py" in problems["gpu0.virtualization_mode"]
    assert first["mig_mode"] is None and problems["gpu0.mig_mode_pending"] == "not supported here"
    assert first["nvlink_states"] == [1, 1, 1, 0]  # InvalidArgument after link 3 ends the list, not an error
    assert "gpu0.nvlink_states" not in problems
    assert second["nvlink_states"] is None and problems["gpu1.nvlink_states"] == "not supported here"
    assert readings["pairs"] == [
        {
            "a": 0,
            "b": 1,
            "p2p_read": "chipset not supported",
            "p2p_nvlink": "not supported",
            "topology": None,
            "torch_peer_access": None,
        }
    ]
    assert problems["pair0-1.topology"] == "not supported here"

    findings = diagnose(readings)
    text = "\n".join(finding.line() for finding in findings)
    assert "GPUs 0-1: persistence mode not readable: no permission" in text
    assert "GPUs 0-1: ECC state not readable: not supported here" in text
    assert "GPUs 0-1: clocks held down when read by HW thermal slowdown" in text
    assert "GPUs 0-1: virtualisation mode not readable: nvmlDeviceGetVirtualizationMode is missing" in text
    assert "GPU 0: only 3 of its 4 NVLinks are active" in text
    assert "no peer-to-peer path between GPU pair(s) 0-1" in text
