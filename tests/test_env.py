import json
import types

import pytest
from support import cli

from gpubench.machine import fingerprint as env
from gpubench.machine import nvml


def test_fingerprint_without_nvml_records_what_exists(monkeypatch):
    monkeypatch.setattr(nvml, "pynvml", None)  # nvidia-ml-py absent: NVML cannot even be asked
    monkeypatch.setattr(env, "cuda_unavailable_reason", lambda: "no GPU in this test")
    fp = env.fingerprint("quick")
    assert fp["torch_version"] and fp["hostname"] and fp["cpu_count"] >= 1 and fp["profile"] == "quick"
    assert fp["nvml_available"] is False and fp["nvml_unavailable_reason"] == "nvidia-ml-py is not installed"
    assert fp["gpu_count"] == 0 and fp["gpus"] == [] and fp["gpu_name"] is None and fp["driver_version"] is None
    assert fp["cuda_available"] is False and fp["cuda_unavailable_reason"] == "no GPU in this test"
    assert json.loads(json.dumps(fp)) == fp  # plain values only


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


def two_gpus() -> types.SimpleNamespace:
    """NVML sees the node's two GPUs; CUDA_VISIBLE_DEVICES=1 makes the second one cuda:0."""
    names = {"handle0": "GPU zero", "handle1": "GPU one"}
    uuids = {"handle0": "GPU-aaaa", "handle1": "GPU-bbbb"}
    fake = fake_pynvml()
    fake.nvmlDeviceGetCount = lambda: 2
    fake.nvmlDeviceGetName = names.get
    fake.nvmlDeviceGetUUID = uuids.get
    fake.nvmlDeviceGetCurrPcieLinkGeneration = lambda handle: 5 if handle == "handle1" else 3

    def by_uuid(uuid):
        found = [handle for handle, known in uuids.items() if known == uuid]
        if not found:
            raise _NotSupported("no such UUID")  # NVML answers NotFound; any refusal will do
        return found[0]

    fake.nvmlDeviceGetHandleByUUID = by_uuid
    return fake


def test_fingerprint_describes_the_measured_gpu_found_by_uuid(monkeypatch):
    monkeypatch.setattr(nvml, "pynvml", two_gpus())
    monkeypatch.setattr(env, "cuda_unavailable_reason", lambda: None)
    monkeypatch.setattr(env, "cuda_device_uuid", lambda index=0: "bbbb")  # torch gives it bare
    fp = env.fingerprint()
    assert fp["gpu_count"] == 2 and [gpu["gpu_name"] for gpu in fp["gpus"]] == ["GPU zero", "GPU one"]
    assert (fp["gpu_name"], fp["gpu_uuid"], fp["pcie_gen_current"]) == ("GPU one", "GPU-bbbb", 5)


def test_nvml_handles_by_uuid_take_gpu_and_mig_prefixes(monkeypatch):
    fake = two_gpus()
    mig = {"MIG-cccc": "mig-handle"}
    gpu_lookup = fake.nvmlDeviceGetHandleByUUID

    def by_uuid(uuid):
        return mig[uuid] if uuid in mig else gpu_lookup(uuid)

    fake.nvmlDeviceGetHandleByUUID = by_uuid
    monkeypatch.setattr(nvml, "pynvml", fake)
    with nvml.nvml_session() as session:
        assert nvml.device_handle(session, "bbbb", 0) == "handle1"
        assert nvml.device_handle(session, "GPU-aaaa", 1) == "handle0"
        assert nvml.device_handle(session, "cccc", 0) == "mig-handle"
        assert nvml.device_handle(session, "dddd", 1) == "handle1"  # no UUID matches: the index
        assert nvml.device_handle(session, None) is None
