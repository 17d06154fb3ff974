"""What a first GPU run's gpubench verify rows must show (gpu-check's summary): the spin kernel's
checks, then every check's verdict (gpubench against its plain reference)."""

from __future__ import annotations

import pandas as pd


def lines(frame: pd.DataFrame) -> list[str]:
    return spin_lines(frame) + verdict_lines(frame)


def verdict_lines(frame: pd.DataFrame) -> list[str]:
    """One line per verify check other than the spin's: ratio and verdict, or why it did not run."""
    if "target" not in frame:
        return ["verify: MISSING, no gpubench verify rows in the store"]
    rows = frame[(frame["suite"] == "verify") & (frame["target"] != "spin")]
    out = []
    for _, row in rows.iterrows():
        if row["status"] != "ok":
            out.append(f"verify {row['target']} {row['check']}: MISSING, {row['skip_reason']}")
            continue
        out.append(
            f"verify {row['target']} {row['check']}: ratio {row['ratio']:.3f}, {row['reason']}: {row['verdict']}"
        )
    return out or ["verify: MISSING, gpubench verify ran no check but the spin's"]


def spin_lines(frame: pd.DataFrame) -> list[str]:
    """The spin kernel's checks, as gpubench verify stored them (suite verify, target spin)."""
    if "target" not in frame:
        return ["spin: MISSING, no gpubench verify rows in the store"]
    rows = frame[(frame["suite"] == "verify") & (frame["target"] == "spin")]
    lines = []
    for _, row in rows.iterrows():
        if row["status"] != "ok":
            lines.append(f"spin {row['check']}: MISSING, {row['skip_reason']}")
            continue
        detail = ""
        clock = row.get("check_implied_clock_ghz")
        no_spin = row.get("check_plain_loop_no_spin_s")
        if clock is not None and not pd.isna(clock):
            detail = (
                f"measured {row['reference_s'] * 1e3:.3f} ms for {row['gpubench_s'] * 1e3:.3f} ms assumed, "
                f"clock {clock:.2f} GHz implied; "
            )
        elif no_spin is not None and not pd.isna(no_spin):
            detail = (
                f"span {row['gpubench_s'] * 1e6:.2f} us/kernel behind the spin, enqueue {row['reference_s'] * 1e6:.2f} "
                f"us/kernel, plain loop without the spin {no_spin * 1e6:.2f} us/kernel; "
            )
        lines.append(f"spin {row['check']}: {detail}{row['reason']}: {row['verdict']}")
    return lines or ["spin: MISSING, gpubench verify ran no spin check"]
