import json
import types

import pytest
from support import cli

from gpubench import env, nvml


def test_fingerprint_without_nvml_records_what_exists():
    fp = env.fingerprint("quick")
    assert fp["torch_version"] and fp["hostname"] and fp["cpu_count"] >= 1 and fp["profile"] == "quick"
    if not fp["nvml_available"]:
        assert fp["nvml_unavailable_reason"] and fp["gpu_count"] == 0 and fp["gpus"] == []
    if not fp["cuda_available"]:
        assert fp["cuda_unavailable_reason"]
    json.dumps(fp)  # plain values only


class _NotSupported(Exception):
    pass


_NotSupported.__name__ = "NVMLError_NotSupported"


def fake_pynvml() -> types.SimpleNamespace:
    """An NVML where the device answers some questions and refuses others, as real boards do."""

    def unsupported(*_args):
        raise _NotSupported("Not Supported")

    return types.SimpleNamespace(
        nvmlInit=lambda: None,
        nvmlShutdown=lambda: None,
        nvmlSystemGetDriverVersion=lambda: b"580.65.06",
        nvmlSystemGetCudaDriverVersion_v2=lambda: 13000,
        nvmlDeviceGetCount=lambda: 1,
        nvmlDeviceGetHandleByIndex=lambda index: f"handle{index}",
        nvmlDeviceGetName=lambda handle: "NVIDIA H100 80GB HBM3",
        nvmlDeviceGetMemoryInfo=lambda handle: types.SimpleNamespace(total=80 << 30),
        nvmlDeviceGetUUID=lambda handle: "GPU-1234",
        nvmlDeviceGetCurrPcieLinkGeneration=lambda handle: 5,
        nvmlDeviceGetCurrPcieLinkWidth=lambda handle: 16,
        nvmlDeviceGetMaxPcieLinkGeneration=unsupported,
        nvmlDeviceGetMaxPcieLinkWidth=lambda handle: 16,
        # nvmlDeviceGetGpuMaxPcieLinkGeneration is missing, as in older bindings
    )


def test_nvml_refusals_are_recorded_not_raised(monkeypatch):
    monkeypatch.setattr(nvml, "pynvml", fake_pynvml())
    fp = env.fingerprint()
    assert fp["driver_version"] == "580.65.06" and fp["cuda_driver_version"] == "13.0"
    assert fp["gpu_name"] == "NVIDIA H100 80GB HBM3" and fp["gpu_count"] == 1
    assert (fp["pcie_gen_current"], fp["pcie_width_current"]) == (5, 16)
    assert fp["pcie_gen_max"] is None and "pcie_gen_max: not supported here" in fp["nvml_problems"]
    assert "pcie_gen_gpu_max: nvmlDeviceGetGpuMaxPcieLinkGeneration is missing" in fp["nvml_problems"]


def test_nvml_that_cannot_start(monkeypatch):
    def refuse():
        raise OSError("driver not loaded")

    monkeypatch.setattr(nvml, "pynvml", types.SimpleNamespace(nvmlInit=refuse))
    fp = env.fingerprint()
    assert fp["nvml_available"] is False and "driver not loaded" in fp["nvml_unavailable_reason"]


@pytest.mark.parametrize("args", [["env", "--json"], ["env"]])
def test_env_command(args):
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    if "--json" in args:
        assert "torch_version" in json.loads(done.stdout)
    else:
        assert "torch_version" in done.stdout
