"""A CUDA stream on a virtual timeline, to test the Timer's ordering logic without a GPU.

The host pays ``enqueue_s`` to launch an operation and the device ``device_s`` to run it; an item
starts on the device when the device is free and the host has launched it. Events take the device
time at which the stream reaches them. The launch queue holds ``queue_depth`` items that have not
finished; launching into a full queue blocks the host until the oldest one finishes, as CUDA does.
The spin kernel runs ``spin_rate`` x the seconds asked for (below 1: a clock faster than assumed).
An operation issues ``op_commands`` items (a bidirectional copy: copies, event records and stream
waits on three streams), which share its device time.
"""

from __future__ import annotations

import contextlib
from collections import deque


class SimulatedStream:
    def __init__(
        self, enqueue_s: float, device_s: float, queue_depth: int = 1024, spin_rate: float = 1.0, op_commands: int = 1
    ) -> None:
        self.op_commands = op_commands
        self.enqueue_s, self.device_s = enqueue_s, device_s
        self.queue_depth, self.spin_rate = queue_depth, spin_rate
        self.host = 0.0
        self.device_free = 0.0
        self.unfinished: deque[float] = deque()  # end times of launched items, oldest first
        self.blocked_s = 0.0  # host time spent waiting on a full queue

    def launch(self, duration: float) -> float:
        """Put an item on the stream now; return the device time it starts."""
        while self.unfinished and self.unfinished[0] <= self.host:
            self.unfinished.popleft()
        if len(self.unfinished) >= self.queue_depth:
            oldest = self.unfinished.popleft()
            self.blocked_s += oldest - self.host
            self.host = oldest
        start = max(self.device_free, self.host)
        self.device_free = start + duration
        self.unfinished.append(self.device_free)
        return start

    def op(self) -> None:
        """The operation being timed."""
        self.host += self.enqueue_s
        for _ in range(self.op_commands):
            self.launch(self.device_s / self.op_commands)

    # --- the DeviceClock protocol ---
    def now(self) -> float:
        return self.host

    def event(self) -> SimulatedEvent:
        return SimulatedEvent(self)

    def spin(self, seconds: float) -> None:
        self.launch(seconds * self.spin_rate)

    def synchronize(self) -> None:
        self.host = max(self.host, self.device_free)

    def scope(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()


class SimulatedEvent:
    def __init__(self, stream: SimulatedStream) -> None:
        self.stream = stream
        self.time: float | None = None

    def record(self) -> None:
        self.time = self.stream.launch(0.0)

    def query(self) -> bool:
        return self.time is not None and self.time <= self.stream.host

    def synchronize(self) -> None:
        self.stream.host = max(self.stream.host, self.time)

    def elapsed_time(self, end: SimulatedEvent) -> float:
        return (end.time - self.time) * 1e3
