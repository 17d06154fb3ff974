"""What a first GPU run's copies must show (gpu-check's summary): figures against the PCIe link.

Pinned h2d and d2h at their largest size against the link's one-direction peak (60-100%: OK),
bidirectional per direction against its own floor (the doctor's), d2d (bytes counted once),
the link reading (polled during the loop) and any sample whose enqueue outlasted the spin.
"""

from __future__ import annotations

import pandas as pd

from gpubench.suites.copy.doctor import BIDIR_FLOOR_PCT
from gpubench.suites.must_show import missing, ok_rows, verdict

BANDS = {"h2d": (60.0, 100.0), "d2h": (60.0, 100.0), "bidir": (BIDIR_FLOOR_PCT, 100.0)}


def lines(frame: pd.DataFrame) -> list[str]:
    copies = ok_rows(frame, "copy")
    if copies.empty or "host_memory" not in copies:
        return [missing(frame, "copy", "copies against the PCIe peak")]
    out = []
    pinned = copies[copies["host_memory"] == "pinned"]
    for direction, (low, high) in BANDS.items():
        rows = pinned[pinned["direction"] == direction]
        if rows.empty:
            out.append(missing(frame, "copy", f"copy: pinned {direction} against the PCIe peak"))
            continue
        best = rows.sort_values("bytes").iloc[-1]
        figure = f"copy: pinned {direction} {int(best['bytes'])} B: {best['gbps']:.2f} GB/s"
        peak = best.get("pcie_theoretical_gbps")
        if peak is None or pd.isna(peak):
            out.append(f"{figure}; PCIe peak unknown (no link reading): CHECK")
            continue
        share = 100 * best["gbps"] / peak
        link = f"Gen{int(best['pcie_gen'])} x{int(best['pcie_width'])}"
        polls = best.get("pcie_link_polls")
        read = f", link read {int(polls)} times during the loop" if polls is not None and not pd.isna(polls) else ""
        out.append(f"{figure} = {share:.0f}% of {peak:.1f} GB/s ({link}{read}): {verdict(low <= share <= high)}")
    d2d = copies[copies["direction"] == "d2d"]
    if not d2d.empty:
        best = d2d.sort_values("bytes").iloc[-1]
        out.append(f"copy: d2d {int(best['bytes'])} B: {best['gbps']:.1f} GB/s (bytes counted once)")
    if "late_enqueue_samples" in copies:
        late = copies[copies["late_enqueue_samples"].fillna(0).astype(int) > 0]
        cases = ", ".join(f"{row.direction} {int(row.bytes)} B" for row in late.itertuples()) or "none"
        out.append(f"copy: cases with a sample whose enqueue outlasted the spin: {cases}: {verdict(late.empty)}")
    return out
