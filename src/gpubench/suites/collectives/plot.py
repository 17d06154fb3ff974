"""A collective's bus bandwidth against message size, and how many times faster NCCL is than Gloo.

One suite's rows at a time (allreduce, all_gather, ...). ``<suite>_busbw.png``: busbw (GB/s,
nccl-tests' algbw x the collective's factor, from the median time of the slowest rank) against
the whole array's bytes, a line per backend/device/ranks/dtype (and placement, where the
collective has two), the link's peak dashed where known. ``<suite>_ratio.png``: NCCL busbw / Gloo
busbw per size at the same ranks, dtype and placement (only when the run has both); without NCCL,
Gloo on CUDA tensors / Gloo on CPU tensors instead.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from gpubench.files.safe import save_figure

LINE_KEYS = ["backend", "device", "world_size", "nodes", "dtype", "in_place"]


def plot(frame: pd.DataFrame, out_dir: Path) -> list[Path]:
    frame = frame[frame["busbw_gbps"] > 0] if "busbw_gbps" in frame else frame.iloc[0:0]
    if frame.empty:  # one rank only (older runs): nothing crosses a link, busbw is 0 by definition
        return []
    frame = _with_placement(frame)
    paths = []
    for suite, rows in frame.groupby("suite", sort=True):
        paths.append(_busbw(rows, out_dir, str(suite)))
        ratio = ratio_table(rows)
        if not ratio.empty:
            paths.append(_ratio(ratio, rows, out_dir, str(suite)))
    return paths


def _with_placement(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows stored before placements were recorded were all in place."""
    in_place = frame["in_place"] if "in_place" in frame else pd.Series(True, index=frame.index)
    return frame.assign(in_place=in_place.fillna(True).astype(bool), suite=frame.get("suite", "allreduce"))


def ratio_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per size: numerator busbw / denominator busbw at equal ranks, nodes and dtype.

    Columns ``pair`` ("nccl:cuda / gloo:cpu"...), ``world_size``, ``nodes``, ``dtype``, ``in_place``,
    ``bytes``, ``ratio``. NCCL against each Gloo when NCCL ran; otherwise Gloo on CUDA against Gloo on CPU.
    """
    keys = ["world_size", "nodes", "dtype", "in_place", "bytes"]
    rows = _with_placement(frame)
    rows = rows.assign(transport=rows["backend"].astype(str) + ":" + rows["device"].astype(str))
    by_transport = {name: group.set_index(keys)["busbw_gbps"] for name, group in rows.groupby("transport")}
    pairs = [("nccl:cuda", "gloo:cpu"), ("nccl:cuda", "gloo:cuda")]
    if "nccl:cuda" not in by_transport:
        pairs = [("gloo:cuda", "gloo:cpu")]
    parts = []
    for top, bottom in pairs:
        if top in by_transport and bottom in by_transport:
            ratio = (by_transport[top] / by_transport[bottom]).dropna()
            if not ratio.empty:
                parts.append(ratio.rename("ratio").reset_index().assign(pair=f"{top} / {bottom}"))
    if not parts:
        return pd.DataFrame(columns=["pair", *keys, "ratio"])
    return pd.concat(parts, ignore_index=True)[["pair", *keys, "ratio"]]


def _busbw(frame: pd.DataFrame, out_dir: Path, suite: str) -> Path:
    fig, ax = plt.subplots(figsize=(8, 5))
    placements = frame["in_place"].nunique() > 1
    for key, rows in frame.groupby(LINE_KEYS, sort=True):
        backend, device, world_size, nodes, dtype, in_place = key
        rows = rows.sort_values("bytes")
        where = f"{world_size} ranks" + (f" on {nodes} nodes" if nodes > 1 else "")
        placement = (", in place" if in_place else ", out of place") if placements else ""
        label = f"{backend} {device} {dtype}, {where}{placement}"
        ax.plot(rows["bytes"], rows["busbw_gbps"], marker="o", label=label)
    if "link_peak_gbps" in frame:
        peaks = frame.dropna(subset=["link_peak_gbps"]).drop_duplicates(["link", "link_peak_gbps"])
        for _, peak in peaks.iterrows():
            value = float(peak["link_peak_gbps"])
            ax.axhline(value, color="grey", linestyle="--", label=f"{peak['link']} peak {value:.0f} GB/s")
    name = _collective(frame, suite)
    _log_axes(
        ax,
        f"busbw (GB/s, 10^9 B/s) = algbw x {name}'s factor",
        f"{name} bus bandwidth (median, slowest rank) on {_host(frame)}",
    )
    return _save(fig, out_dir / f"{suite}_busbw.png")


def _ratio(ratio: pd.DataFrame, frame: pd.DataFrame, out_dir: Path, suite: str) -> Path:
    fig, ax = plt.subplots(figsize=(8, 5))
    keys = ["pair", "world_size", "nodes", "dtype", "in_place"]
    for (pair, world_size, nodes, dtype, in_place), rows in ratio.groupby(keys, sort=True):
        rows = rows.sort_values("bytes")
        placement = "in place" if in_place else "out of place"
        label = f"{pair}, {dtype}, {world_size} ranks, {nodes} node(s), {placement}"
        ax.plot(rows["bytes"], rows["ratio"], marker="o", label=label)
    ax.axhline(1.0, color="grey", linestyle=":")
    name = _collective(frame, suite)
    _log_axes(ax, "busbw ratio (x times faster)", f"{name}: how many times the busbw, per size, on {_host(frame)}")
    return _save(fig, out_dir / f"{suite}_ratio.png")


def _collective(frame: pd.DataFrame, suite: str) -> str:
    names = frame["collective"].dropna() if "collective" in frame else pd.Series(dtype=object)
    return str(names.iloc[0]) if not names.empty else ("all_reduce" if suite == "allreduce" else suite)


def _host(frame: pd.DataFrame) -> str:
    gpu = frame["gpu_name"].dropna() if "gpu_name" in frame else pd.Series(dtype=object)
    host = str(frame["hostname"].iloc[0]) if "hostname" in frame else "?"
    return f"{gpu.iloc[0]} / {host}" if not gpu.empty else host


def _save(fig, path: Path) -> Path:
    path = save_figure(fig, path.parent, path.name, dpi=110)
    plt.close(fig)
    return path


def _log_axes(ax: plt.Axes, ylabel: str, title: str) -> None:
    """Both axes log scale (size in powers of two), labels, grid and legend."""
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("message size (bytes, log2)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
