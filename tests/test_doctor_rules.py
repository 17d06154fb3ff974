"""The doctor's rules on recorded readings: each real-world case gives exactly its findings."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from gpubench.doctor import Finding, diagnose, exit_code, load_readings, sort_findings
from gpubench.doctor import rules as doctor_rules

DATA = Path(__file__).parent / "data" / "doctor"


def recorded(name: str) -> dict:
    return load_readings(DATA / f"{name}.json")


def serious(findings: list[Finding]) -> set[tuple[str, str]]:
    """(severity, check) of every error and warning."""
    return {(finding.severity, finding.check) for finding in findings if finding.severity != "info"}


def messages(findings: list[Finding], severity: str | None = None) -> str:
    return "\n".join(finding.message for finding in findings if severity in (None, finding.severity))


# Each recorded case: the errors and warnings it must give (no more), and the exit code.
EXPECTED = {
    "healthy_h100_node": (set(), 0),
    "downtrained_pcie": ({("error", "pcie")}, 1),
    "throttled_card": ({("error", "clocks"), ("warning", "power"), ("warning", "persist")}, 1),
    "old_driver": ({("error", "cuda"), ("error", "driver")}, 1),
    "mig_enabled": ({("warning", "mig")}, 0),
    "ecc_errors": ({("error", "ecc"), ("warning", "ecc")}, 1),
    "multi_gpu_no_p2p": ({("warning", "p2p"), ("warning", "topology")}, 0),
    "cpu_only": ({("error", "cuda")}, 1),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_case_gives_exactly_its_findings(name):
    findings = diagnose(recorded(name))
    expected, status = EXPECTED[name]
    assert serious(findings) == expected, messages(findings)
    assert exit_code(findings) == status


def test_every_recorded_readings_file_is_covered():
    files = {path.stem for path in DATA.glob("*.json") if not path.stem.startswith("results_")}
    assert files == set(EXPECTED)


def test_healthy_node_says_what_it_is():
    findings = diagnose(recorded("healthy_h100_node"))
    text = messages(findings, "info")
    assert "GPUs 0-7: NVIDIA H100 80GB HBM3" in text and "Gen5 x16" in text and "under load" in text
    assert "28 of 28 GPU pairs reach each other over NVLink" in text


def test_cpu_build_is_named_in_one_error_line():
    findings = diagnose(recorded("cpu_only"))
    errors = [finding for finding in findings if finding.severity == "error"]
    assert len(errors) == 1
    assert "CPU build" in errors[0].message and "2.13.0+cpu" in errors[0].message
    assert "\n" not in errors[0].line()
    assert any(finding.check == "nvml" and "skipped" in finding.message for finding in findings)


def test_downtrained_link_names_both_links():
    (error,) = [finding for finding in diagnose(recorded("downtrained_pcie")) if finding.severity == "error"]
    assert "Gen5 x8" in error.message and "Gen5 x16" in error.message and "under load" in error.message


def test_throttle_reasons_are_decoded():
    (error,) = [finding for finding in diagnose(recorded("throttled_card")) if finding.check == "clocks"]
    assert "SW thermal slowdown" in error.message and "HW thermal slowdown" in error.message
    assert "SW power cap" not in error.message  # normal, not a reason to complain
    assert "0x64" in error.message and "cooling" in error.action


def test_old_driver_names_the_minimum_and_a_way_out():
    (driver,) = [finding for finding in diagnose(recorded("old_driver")) if finding.check == "driver"]
    assert "470.223.02" in driver.message and ">= 525" in driver.message
    assert "CUDA 11.x" in driver.action
    (cuda,) = [finding for finding in diagnose(recorded("old_driver")) if finding.check == "cuda"]
    assert "too old" in cuda.message and "Alternatively" not in cuda.message  # CUDA's first sentence only


def test_unreadable_values_say_not_supported_here():
    text = messages(diagnose(recorded("old_driver")))
    assert "MIG mode: not supported here" in text


def test_findings_sort_errors_first():
    ordered = sort_findings(diagnose(recorded("throttled_card")))
    severities = [finding.severity for finding in ordered]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)


# Single rules on a healthy reading with one thing changed.


@pytest.fixture
def healthy():
    return copy.deepcopy(recorded("healthy_h100_node"))


def only(findings: list[Finding], check: str) -> list[Finding]:
    return [finding for finding in findings if finding.check == check]


@pytest.mark.parametrize(
    ("build", "driver", "supported", "severity"),
    [
        ("12.4", "550.90.07", "12.4", None),
        ("12.4", "535.183.01", "12.2", "warning"),  # minor-version compatibility
        ("12.4", "525.60.13", "12.0", "warning"),
        ("12.4", "520.61.05", "11.8", "error"),
        ("13.0", "575.57.08", "12.9", "error"),
        ("13.0", "580.65.06", "13.0", None),
        ("11.8", "450.80.02", "11.0", "warning"),
        ("11.8", "440.33.01", "10.2", "error"),
        ("12.6", "560.35.03", "12.6", None),
    ],
)
def test_driver_against_the_cuda_runtime(healthy, build, driver, supported, severity):
    healthy["torch"]["cuda_build"] = build
    healthy["nvml"].update(driver_version=driver, cuda_driver_version=supported)
    found = doctor_rules.driver_version(healthy)
    assert [finding.severity for finding in found] == ([severity] if severity else [])


def test_driver_version_unreadable_is_info(healthy):
    healthy["nvml"]["driver_version"] = None
    healthy["problems"]["driver_version"] = "no permission"
    (finding,) = doctor_rules.driver_version(healthy)
    assert finding.severity == "info" and "no permission" in finding.message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"environment": {"CUDA_VISIBLE_DEVICES": ""}}, "CUDA_VISIBLE_DEVICES is set but empty"),
        ({"environment": {"CUDA_VISIBLE_DEVICES": "7"}}, "CUDA_VISIBLE_DEVICES=7 matches none"),
        ({"nvml": {"available": False, "unavailable_reason": "NVML Shared Library Not Found"}}, "no NVIDIA driver"),
        ({"nvml": {"gpu_count": 0}}, "the driver sees no GPU"),
        ({"torch": {"cuda_init_error": "CUDA error: system not yet initialized. More text"}}, "not yet initialized"),
    ],
)
def test_cuda_not_usable_says_why(healthy, change, expected):
    healthy["torch"].update(cuda_available=False, device_count=0)
    for section, values in change.items():
        healthy[section].update(values)
    (finding,) = doctor_rules.cuda_usable(healthy)
    assert finding.severity == "error" and expected in finding.message
    assert "More text" not in finding.message


def test_cudnn_and_nccl_off_or_missing(healthy):
    assert doctor_rules.cudnn_and_nccl(healthy) == []
    healthy["torch"]["cudnn_enabled"] = False
    assert "enabled is False" in messages(doctor_rules.cudnn_and_nccl(healthy), "warning")
    healthy["torch"].update(cudnn_available=False, nccl_available=False)
    found = doctor_rules.cudnn_and_nccl(healthy)
    assert {finding.check for finding in found} == {"cudnn", "nccl"}
    assert "not available" in messages(found)


def test_environment_flags(healthy):
    healthy["environment"] = {
        "NCCL_P2P_DISABLE": "1",
        "CUDA_LAUNCH_BLOCKING": "1",
        "NCCL_NVLS_ENABLE": "0",
        "NCCL_SHM_DISABLE": "0",  # off: nothing to say
        "NCCL_ALGO": "Ring",
    }
    found = doctor_rules.environment_flags(healthy)
    assert {(finding.severity, finding.message.split("=")[0]) for finding in found} == {
        ("warning", "NCCL_P2P_DISABLE"),
        ("warning", "CUDA_LAUNCH_BLOCKING"),
        ("info", "NCCL_NVLS_ENABLE"),
        ("info", "NCCL_ALGO"),
    }


def test_slot_caps_the_gpu(healthy):
    healthy["gpus"][3]["pcie"].update(gen_max=4, gen_current=4)
    found = only(doctor_rules.pcie_link(healthy), "pcie")
    assert serious(found) == {("warning", "pcie")}
    assert found[0].message.startswith("GPU 3: the slot or platform caps the link at Gen4")


def test_link_below_max_only_judged_under_load(healthy):
    healthy["gpus"][0]["pcie"].update(gen_current=1, under_load=False, load_gbps=None)
    (finding,) = doctor_rules.pcie_link(healthy)
    assert finding.severity == "info" and "while idle" in finding.message
    healthy["problems"]["gpu0.load"] = "OutOfMemoryError: CUDA out of memory"
    assert "out of memory" in doctor_rules.pcie_link(healthy)[0].message
    healthy["gpus"][0]["pcie"].update(under_load=True)
    assert doctor_rules.pcie_link(healthy)[0].severity == "error"


def test_load_copy_problems(healthy):
    healthy["problems"]["gpu4.load"] = "VerificationError: the load copy's data did not arrive intact"
    healthy["problems"]["gpu5.load"] = "OutOfMemoryError: CUDA out of memory"
    found = doctor_rules.pcie_link(healthy)
    assert [(finding.severity, finding.message.split(":")[0]) for finding in found] == [
        ("error", "GPU 4"),
        ("info", "GPU 5"),
    ]
    assert "wrong data" in found[0].message and "out of memory" in found[1].message


def test_slow_load_copy_is_flagged(healthy):
    healthy["gpus"][2]["pcie"]["load_gbps"] = 20.0
    (finding,) = doctor_rules.pcie_link(healthy)
    assert finding.severity == "warning" and "20.0 GB/s, 32%" in finding.message


def test_unreadable_link(healthy):
    healthy["gpus"][0]["pcie"].update(gen_current=None, width_current=None)
    healthy["problems"]["gpu0.pcie.gen_current"] = "not supported here"
    (finding,) = doctor_rules.pcie_link(healthy)
    assert finding.severity == "info" and finding.message == "GPU 0: PCIe link not readable: not supported here"


@pytest.mark.parametrize(
    ("reasons", "severity"),
    [(0x0, None), (0x1, None), (0x4, None), (0x5, None), (0x2, "warning"), (0x10, "warning"), (0x8, "error"),
     (0x80 | 0x4, "error"), (0x20, "error"), (0x400, "warning")],
)  # fmt: skip
def test_clock_event_reasons(healthy, reasons, severity):
    healthy["gpus"] = healthy["gpus"][:1]
    healthy["gpus"][0]["clocks_event_reasons"] = reasons
    found = doctor_rules.clock_events(healthy)
    assert [finding.severity for finding in found] == ([severity] if severity else [])


def test_clock_event_names_match_nvml():
    pynvml = pytest.importorskip("pynvml")
    names = {
        "GpuIdle": 0x1,
        "ApplicationsClocksSetting": 0x2,
        "SwPowerCap": 0x4,
        "HwSlowdown": 0x8,
        "SyncBoost": 0x10,
        "SwThermalSlowdown": 0x20,
        "HwThermalSlowdown": 0x40,
        "HwPowerBrakeSlowdown": 0x80,
        "DisplayClockSetting": 0x100,
    }
    for name, bit in names.items():
        assert getattr(pynvml, f"nvmlClocksEventReason{name}") == bit
    assert set(doctor_rules.CLOCK_EVENTS) == set(names.values())


def test_persistence_ecc_mig_virtualization(healthy):
    gpu = healthy["gpus"][5]
    gpu.update(
        persistence_mode=0,
        ecc_aggregate_uncorrected=3,
        remapped_rows_failure=True,
        ecc_mode=0,
        mig_mode=0,
        mig_mode_pending=1,
        virtualization_mode="vgpu",
    )
    found = diagnose(healthy)
    assert serious(found) == {("warning", "persist"), ("warning", "ecc"), ("error", "ecc"), ("warning", "virt")}
    text = messages(found)
    assert "GPU 5: 3 uncorrected ECC error(s) in the GPU's life" in text
    assert "GPU 5: memory row remapping failed" in text
    assert "GPU 5: ECC is off" in text
    assert "GPU 5: a MIG mode change to on is pending" in text


def test_unreadable_gpu_values_are_info_with_the_reason(healthy):
    gpu = healthy["gpus"][1]
    for field in ("persistence_mode", "ecc_mode", "ecc_volatile_uncorrected", "ecc_aggregate_uncorrected"):
        gpu[field] = None
    gpu.update(clocks_event_reasons=None, virtualization_mode=None, nvlink_states=None)
    healthy["problems"].update(
        {
            "gpu1.persistence_mode": "no permission",
            "gpu1.ecc_mode": "not supported here",
            "gpu1.clocks_event_reasons": "not in this driver",
            "gpu1.virtualization_mode": "not supported here",
            "gpu1.nvlink_states": "NVMLError_Unknown: Unknown Error",
        }
    )
    found = diagnose(healthy)
    assert not serious(found)
    text = messages(found, "info")
    for expected in (
        "GPU 1: persistence mode not readable: no permission",
        "GPU 1: ECC state not readable: not supported here",
        "GPU 1: clock-event (throttle) reasons not readable: not in this driver",
        "GPU 1: virtualisation mode not readable: not supported here",
        "GPU 1: NVLink state not readable: NVMLError_Unknown",
    ):
        assert expected in text


def test_nvlinks_down(healthy):
    healthy["gpus"][6]["nvlink_states"] = [1] * 16 + [0, 0]
    healthy["gpus"][7]["nvlink_states"] = [0] * 18
    found = doctor_rules.nvlink(healthy)
    assert [(finding.severity, finding.message.split(":")[0]) for finding in found] == [
        ("warning", "GPU 6"),
        ("warning", "GPU 7"),
    ]
    assert "16 of its 18" in found[0].message and "none of its 18" in found[1].message


def test_pairs_over_pcie_only_and_torch_disagreeing(healthy):
    for pair in healthy["pairs"]:
        pair["p2p_nvlink"] = "not supported"
        pair["topology"] = "NODE"
    healthy["pairs"][0]["torch_peer_access"] = False
    found = doctor_rules.gpu_pairs(healthy)
    assert serious(found) == {("warning", "p2p")}
    assert "peer-to-peer over PCIe only" in messages(found, "info")
    assert "can_device_access_peer says no" in messages(found, "warning")
    assert "and 22 more" in messages(found, "info")  # 28 pairs, 6 named


def test_pairs_unreadable(healthy):
    for pair in healthy["pairs"]:
        pair.update(p2p_read=None, p2p_nvlink=None, topology=None, torch_peer_access=None)
    healthy["problems"]["pair0-1.p2p_read"] = "not supported here"
    (finding,) = doctor_rules.gpu_pairs(healthy)
    assert finding.severity == "info" and "not readable" in finding.message and "not supported here" in finding.message


def test_process_on_the_far_socket(healthy):
    healthy["process_cpus"] = "56-111"
    found = doctor_rules.numa_affinity(healthy)
    assert len(found) == 1 and found[0].severity == "warning"
    assert found[0].message.startswith("GPUs 0-3: attached to NUMA node 0")
    assert "numactl --cpunodebind=0 --membind=0" in found[0].action


def test_finding_is_one_line_and_checked():
    finding = Finding("info", "x", "two\nlines  here", "do\tthis")
    assert finding.message == "two lines here" and finding.action == "do this"
    with pytest.raises(ValueError, match="severity"):
        Finding("fatal", "x", "m", "a")
    with pytest.raises(ValueError, match="action"):
        Finding("info", "x", "m", " ")
