"""NVML, read in one place and safely: every call may be unsupported, refused or missing on some
board, VM or driver.

``Nvml.read`` never raises: it returns the value, or records why it could not (under a key the
caller names) and returns None. The readers every part of gpubench shares live here too: the
handle of a CUDA device by its UUID (``GPU-`` or ``MIG-``; CUDA and NVML number GPUs differently
under ``CUDA_VISIBLE_DEVICES``), its PCIe link, its NVLinks and its clock-event reasons. No torch:
callers hand in what torch says (a UUID, an index).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

try:  # nvidia-ml-py; a machine without it still gets a fingerprint
    import pynvml
except ImportError:  # pragma: no cover - the package is a dependency, but keep working without it
    pynvml = None

NVLINK_MAX_LINKS = 18  # NVML_NVLINK_MAX_LINKS in nvidia-ml-py 12; read from the module when it has it


class Nvml:
    """An initialised NVML session, or an unavailable one that says why."""

    def __init__(self) -> None:
        self.unavailable_reason: str | None = None
        self.problems: dict[str, str] = {}
        if pynvml is None:
            self.unavailable_reason = "nvidia-ml-py is not installed"
            return
        try:
            pynvml.nvmlInit()
        except Exception as error:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
            self.unavailable_reason = f"NVML could not start: {describe(error)}"

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None

    def read(self, what: str, function: str, *args: Any) -> Any:
        """Call ``pynvml.<function>(*args)``; on failure remember why under ``what``, return None."""
        if not self.available:
            return None
        call = getattr(pynvml, function, None)
        if call is None:
            self.problems[what] = f"{function} is missing from this nvidia-ml-py"
            return None
        try:
            value = call(*args)
        except Exception as error:
            self.problems[what] = describe(error)
            return None
        return value.decode() if isinstance(value, bytes) else value

    def handles(self, key: str = "gpu{index}.handle") -> dict[int, Any]:
        """Every GPU of the node by NVML index (whatever ``CUDA_VISIBLE_DEVICES`` says)."""
        count = self.read("gpu_count", "nvmlDeviceGetCount") or 0
        found = {}
        for index in range(count):
            handle = self.read(key.format(index=index), "nvmlDeviceGetHandleByIndex", index)
            if handle is not None:
                found[index] = handle
        return found

    def close(self) -> None:
        if self.available:
            with suppress(Exception):
                pynvml.nvmlShutdown()


@contextmanager
def nvml_session() -> Iterator[Nvml]:
    session = Nvml()
    try:
        yield session
    finally:
        session.close()


def describe(error: BaseException) -> str:
    """A one-line reason: 'not supported here', 'no permission', or the error's own words."""
    name = type(error).__name__
    if "NotSupported" in name:
        return "not supported here"
    if "NoPermission" in name:
        return "no permission"
    if "FunctionNotFound" in name:
        return "not in this driver"
    return f"{name}: {error}".strip()


def uuid_candidates(uuid: str | None) -> list[str]:
    """NVML's spellings of a device UUID. torch gives it bare; NVML wants ``GPU-`` (a whole GPU) or
    ``MIG-`` (a MIG instance) in front."""
    uuid = str(uuid or "")
    if not uuid:
        return []
    return [uuid] if uuid.startswith(("GPU-", "MIG-")) else [f"GPU-{uuid}", f"MIG-{uuid}"]


def device_handle(nvml: Nvml, uuid: str | None, index: int | None = None, key: str = "handle") -> Any:
    """The handle of the device with this UUID; by NVML ``index`` only when no UUID is known or
    none matches (an old driver). None, with the reason under ``key``, when neither answers."""
    for candidate in uuid_candidates(uuid):
        handle = nvml.read(key, "nvmlDeviceGetHandleByUUID", candidate)
        if handle is not None:
            nvml.problems.pop(key, None)
            return handle
    if index is None:
        return None
    return nvml.read(key, "nvmlDeviceGetHandleByIndex", index)


def current_link(nvml: Nvml, handle: Any, key: str = "pcie.") -> tuple[int | None, int | None]:
    """The PCIe link's current (generation, width): what it trained to now (idle GPUs train down)."""
    return (
        nvml.read(key + "gen_current", "nvmlDeviceGetCurrPcieLinkGeneration", handle),
        nvml.read(key + "width_current", "nvmlDeviceGetCurrPcieLinkWidth", handle),
    )


def link_limits(nvml: Nvml, handle: Any, key: str = "pcie.") -> dict[str, int | None]:
    """``gen_max``/``width_max``: what this GPU in this slot can train to; ``gen_gpu_max``: the GPU's own limit."""
    return {
        "gen_max": nvml.read(key + "gen_max", "nvmlDeviceGetMaxPcieLinkGeneration", handle),
        "width_max": nvml.read(key + "width_max", "nvmlDeviceGetMaxPcieLinkWidth", handle),
        "gen_gpu_max": nvml.read(key + "gen_gpu_max", "nvmlDeviceGetGpuMaxPcieLinkGeneration", handle),
    }


def clock_event_reasons(nvml: Nvml, key: str, handle: Any) -> int | None:
    """The clock-event (throttle) bitmask, under its new name or, on older drivers, its old one."""
    for function in ("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"):
        value = nvml.read(key, function, handle)
        if value is not None:
            nvml.problems.pop(key, None)
            return int(value)
    return None


def nvlink_states(nvml: Nvml, key: str, handle: Any) -> list[int | None] | None:
    """1/0 per NVLink; [] for none; None when the GPU does not answer (NotSupported: no NVLink)."""
    function = getattr(pynvml, "nvmlDeviceGetNvLinkState", None) if nvml.available else None
    if function is None:
        if nvml.available:
            nvml.problems[key] = "nvmlDeviceGetNvLinkState is missing from this nvidia-ml-py"
        return None
    states: list[int | None] = []
    first_problem = None
    for link in range(int(getattr(pynvml, "NVML_NVLINK_MAX_LINKS", NVLINK_MAX_LINKS))):
        try:
            states.append(int(function(handle, link)))
        except Exception as error:
            # Past the GPU's last link NVML answers InvalidArgument, not NotSupported: that ends the list.
            if "InvalidArgument" in type(error).__name__:
                break
            states.append(None)
            first_problem = first_problem or describe(error)
    if states and all(state is None for state in states):
        nvml.problems[key] = first_problem or "not supported here"
        return None
    return states


def active_nvlinks(nvml: Nvml, handle: Any, key: str = "nvlink") -> tuple[int, int | None]:
    """(active NVLinks, NVML version enum of the first active one); (0, None) without any."""
    active = [link for link, state in enumerate(nvlink_states(nvml, key + ".states", handle) or []) if state == 1]
    if not active:
        return 0, None
    return len(active), nvml.read(key + ".version", "nvmlDeviceGetNvLinkVersion", handle, active[0])
