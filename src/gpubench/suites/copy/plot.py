"""Copy bandwidth against transfer size: a line per direction and host memory kind."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from gpubench.files.safe import save_figure
from gpubench.measure.byte_size import human_bytes


def plot(frame: pd.DataFrame, out_dir: Path) -> list[Path]:
    """``copy_bandwidth.png``: GB/s against bytes (log2), the PCIe theoretical peak where known."""
    fig, ax = plt.subplots(figsize=(8, 5))
    for (direction, memory), rows in frame.groupby(["direction", "host_memory"], sort=True):
        rows = rows.sort_values("bytes")
        (line,) = ax.plot(rows["bytes"], rows["gbps"], marker="o", label=f"{direction} ({memory})")
        # The band spans the bandwidths of the slowest and fastest quartile times.
        bytes_ = rows["bytes"].astype(float)
        ax.fill_between(
            bytes_, bytes_ / rows["q3_s"] / 1e9, bytes_ / rows["q1_s"] / 1e9, color=line.get_color(), alpha=0.2
        )
    if "pcie_theoretical_gbps" in frame:
        peak = frame["pcie_theoretical_gbps"].dropna()
        if not peak.empty:
            ax.axhline(float(peak.max()), color="grey", linestyle="--", label=f"PCIe theoretical {peak.max():.1f} GB/s")
    ax.set_xscale("log", base=2)
    sizes = sorted(frame["bytes"].unique())
    ax.set_xticks(sizes, [human_bytes(size) for size in sizes], rotation=45 if len(sizes) > 8 else 0)
    ax.set_xlabel("transfer size (log2)")
    ax.set_ylabel("GB/s (10^9 B/s) from the median time per copy; band: IQR")
    ax.set_title(_title(frame))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    path = save_figure(fig, out_dir, "copy_bandwidth.png", dpi=110)
    plt.close(fig)
    return [path]


def _title(frame: pd.DataFrame) -> str:
    where = (
        frame["gpu_name"].dropna().iloc[0] if "gpu_name" in frame and frame["gpu_name"].notna().any() else "host only"
    )
    host = frame["hostname"].iloc[0] if "hostname" in frame else ""
    return f"Copy bandwidth: {where} on {host}"
