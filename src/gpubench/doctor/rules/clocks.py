"""Clocks held down (throttling) and a power limit set below the board's default."""

from __future__ import annotations

from typing import Any

from gpubench.doctor.readings import Readings
from gpubench.doctor.rules.common import GpuFinding, gpu_rule, unreadable

# nvmlClocksEventReason* bits. Idle and the software power cap are normal; health checks treat the rest as suspect.
CLOCK_EVENTS = {
    0x1: "idle",
    0x2: "applications clocks setting",
    0x4: "SW power cap",
    0x8: "HW slowdown",
    0x10: "sync boost",
    0x20: "SW thermal slowdown",
    0x40: "HW thermal slowdown",
    0x80: "HW power brake slowdown",
    0x100: "display clock setting",
}
NORMAL_CLOCK_EVENTS = 0x1 | 0x4
SEVERE_CLOCK_EVENTS = 0x8 | 0x20 | 0x40 | 0x80  # hardware or thermal: the card itself is in trouble
CLOCK_EVENT_ACTIONS = {
    0x2: "reset application clocks (sudo nvidia-smi -rac)",
    0x8: "check the power supply and cables (HW slowdown also follows overheating)",
    0x10: "sync boost ties this GPU's clocks to others in its group: check nvidia-smi -q -d PERFORMANCE",
    0x20: "check cooling and airflow (nvidia-smi -q -d TEMPERATURE)",
    0x40: "check cooling and airflow (nvidia-smi -q -d TEMPERATURE)",
    0x80: "check the power supply: the power brake is asserted by the system",
    0x100: "a display clock setting limits clocks: detach displays or use a compute GPU",
}
POWER_LIMIT_FLOOR = 0.95


@gpu_rule
def clock_events(readings: Readings, gpu: dict[str, Any]) -> list[GpuFinding]:
    """Clock-event (throttle) reasons other than idle and the software power cap."""
    reasons = gpu.get("clocks_event_reasons")
    if reasons is None:
        return unreadable(
            readings,
            gpu,
            "clocks_event_reasons",
            "clocks",
            "clock-event (throttle) reasons not readable",
            "nvidia-smi -q -d PERFORMANCE shows them",
        )
    active = int(reasons) & ~NORMAL_CLOCK_EVENTS
    if not active:
        return []
    bits = [bit for bit in sorted(CLOCK_EVENTS) if active & bit] + [active & ~sum(CLOCK_EVENTS)]
    names = [CLOCK_EVENTS.get(bit, f"unknown 0x{bit:x}") for bit in bits if bit]
    actions = list(dict.fromkeys(CLOCK_EVENT_ACTIONS[bit] for bit in bits if bit in CLOCK_EVENT_ACTIONS))
    when = "under load" if (gpu.get("pcie") or {}).get("under_load") else "when read"
    return [
        (
            "error" if active & SEVERE_CLOCK_EVENTS else "warning",
            "clocks",
            f"clocks held down {when} by {', '.join(names)} (clock-event reasons 0x{int(reasons):x})",
            "; ".join(actions) or "nvidia-smi -q -d PERFORMANCE shows the reasons",
        )
    ]


@gpu_rule
def power_limit(readings: Readings, gpu: dict[str, Any]) -> list[GpuFinding]:
    """A power limit set below the board's default makes the SW power cap bite early."""
    limit, default = gpu.get("power_limit_w"), gpu.get("power_default_limit_w")
    if not (limit and default and limit < POWER_LIMIT_FLOOR * default):
        return []
    return [
        (
            "warning",
            "power",
            f"power limit {limit:.0f} W is below the default {default:.0f} W, so clocks drop under load earlier",
            f"restore it (sudo nvidia-smi -i <index> -pl {default:.0f}) unless it is on purpose",
        )
    ]
