"""Copy bandwidth against transfer size: host-side copies and device memory in panels of their own.

D2D reaches about 2,000 GB/s on an H200 while H2D, D2H, bidirectional and pageable copies stay
under the ~63 GB/s of PCIe Gen5 x16: on one linear axis they would share its bottom 3%. So the
figure has two panels, each on a log axis: copies that cross the host (h2d, d2h, bidir, h2h) with
the PCIe peak, and device-memory copies (d2d, which counts its bytes once: it reads and writes
them, so device memory moves twice the bytes shown). A run without d2d rows gets one panel.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from gpubench.files.safe import save_figure
from gpubench.measure.byte_size import human_bytes

DEVICE_DIRECTIONS = ("d2d",)
LABELS = {"d2d": "d2d (bytes counted once; read + write move 2x)"}


def plot(frame: pd.DataFrame, out_dir: Path) -> list[Path]:
    """``copy_bandwidth.png``: GB/s (log) against bytes (log2), host copies and device memory apart."""
    device = frame[frame["direction"].isin(DEVICE_DIRECTIONS)]
    host = frame[~frame["direction"].isin(DEVICE_DIRECTIONS)]
    panels = [
        (rows, title) for rows, title in ((host, "through the host"), (device, "device memory")) if not rows.empty
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 5), squeeze=False)
    for ax, (rows, title) in zip(axes[0], panels, strict=True):
        _panel(ax, rows, title)
    if not host.empty and "pcie_theoretical_gbps" in host:
        peak = host["pcie_theoretical_gbps"].dropna()
        if not peak.empty:
            axes[0][0].axhline(
                float(peak.max()), color="grey", linestyle="--", label=f"PCIe theoretical {peak.max():.1f} GB/s"
            )
            axes[0][0].legend(fontsize="small")
    fig.suptitle(_title(frame))
    path = save_figure(fig, out_dir, "copy_bandwidth.png", dpi=110)
    plt.close(fig)
    return [path]


def _panel(ax, frame: pd.DataFrame, title: str) -> None:
    for (direction, memory), rows in frame.groupby(["direction", "host_memory"], sort=True):
        rows = rows.sort_values("bytes")
        label = LABELS.get(direction, f"{direction} ({memory})")
        (line,) = ax.plot(rows["bytes"], rows["gbps"], marker="o", label=label)
        # The band spans the bandwidths of the slowest and fastest quartile times.
        bytes_ = rows["bytes"].astype(float)
        ax.fill_between(
            bytes_, bytes_ / rows["q3_s"] / 1e9, bytes_ / rows["q1_s"] / 1e9, color=line.get_color(), alpha=0.2
        )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    sizes = sorted(frame["bytes"].unique())
    ax.set_xticks(sizes, [human_bytes(size) for size in sizes], rotation=45 if len(sizes) > 8 else 0)
    ax.set_xlabel("transfer size (log2)")
    ax.set_ylabel("GB/s (10^9 B/s, log) from the median time per copy; band: IQR")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")


def _title(frame: pd.DataFrame) -> str:
    where = (
        frame["gpu_name"].dropna().iloc[0] if "gpu_name" in frame and frame["gpu_name"].notna().any() else "host only"
    )
    host = frame["hostname"].iloc[0] if "hostname" in frame else ""
    return f"Copy bandwidth: {where} on {host}"
