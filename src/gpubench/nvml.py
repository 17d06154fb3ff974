"""NVML, read safely: every call may be unsupported, refused or missing on some board, VM or driver.

``Nvml.read`` never raises: it returns the value, or records why it could not and returns None.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

try:  # nvidia-ml-py; a machine without it still gets a fingerprint
    import pynvml
except ImportError:  # pragma: no cover - the package is a dependency, but keep working without it
    pynvml = None


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

    def handles(self) -> list[Any]:
        count = self.read("gpu_count", "nvmlDeviceGetCount") or 0
        found = []
        for index in range(count):
            handle = self.read(f"gpu{index}.handle", "nvmlDeviceGetHandleByIndex", index)
            if handle is not None:
                found.append(handle)
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
