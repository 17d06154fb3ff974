"""Convolution flags: speed-up of each flag combination over the default, first-call cost, dynamic shapes.

Per device and variant (dtype, TF32, layout) one heatmap of speed-ups (median time with
benchmark off and deterministic off / median time of the combination; > 1 is faster) and one of
first-call times; per device one figure of cumulative time over the dynamic batch-size sequence.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.ticker import FormatStrFormatter, NullFormatter

from gpubench.files.safe import safe_name, save_figure

DIRECTIONS = ("forward", "backward_data", "backward_weight")
SHORT = {"forward": "fwd", "backward_data": "bwd data", "backward_weight": "bwd weight"}
COMBOS = ((False, False), (True, False), (False, True), (True, True))  # default first
CPU_NOTE = "CPU: cuDNN flags do not apply (oneDNN); differences are noise"
# What the figures read: selecting these first keeps the per-cell row selections cheap (a stored
# run has ~160 nullable columns, each costing an array operation per selection).
COLUMNS = (
    *("device", "dtype", "allow_tf32", "layout", "shape", "batch", "scenario", "direction"),
    *("cudnn_benchmark", "cudnn_deterministic", "median_s", "first_call_s", "samples_s", "batch_sequence"),
)


def combo_label(benchmark: bool, deterministic: bool, sep: str = ", ") -> str:
    return f"bench {'on' if benchmark else 'off'}{sep}det {'on' if deterministic else 'off'}"


def _column(direction: str, combo: tuple[bool, bool]) -> str:
    return "\n".join((SHORT[direction], combo_label(*combo, sep="\n")))


def variant_label(row: pd.Series) -> str:
    tf32 = row["device"] == "cuda" and row["dtype"] == "float32" and bool(row["allow_tf32"])
    return f"{row['dtype']}{'+TF32' if tf32 else ''} {row['layout']}"


def plot(frame: pd.DataFrame, out_dir: Path) -> list[Path]:
    """``conv_speedup_*.png``, ``conv_first_call_*.png`` and ``conv_dynamic_*.png``."""
    return [*plot_speedups(frame, out_dir), *plot_first_calls(frame, out_dir), *plot_dynamic(frame, out_dir)]


def plot_speedups(frame: pd.DataFrame, out_dir: Path) -> list[Path]:
    """``conv_speedup_<device>_<variant>.png``: one heatmap per device and variant."""
    return [_speedup(rows, device, variant, out_dir / f"conv_speedup_{slug}.png")
            for device, variant, slug, rows in _static(frame)]  # fmt: skip


def plot_first_calls(frame: pd.DataFrame, out_dir: Path) -> list[Path]:
    """``conv_first_call_<device>_<variant>.png``: one heatmap per device and variant."""
    return [_first_call(rows, device, variant, out_dir / f"conv_first_call_{slug}.png")
            for device, variant, slug, rows in _static(frame)]  # fmt: skip


def plot_dynamic(frame: pd.DataFrame, out_dir: Path) -> list[Path]:
    """``conv_dynamic_<device>.png``: cumulative time over the dynamic batch-size sequence."""
    frame = _prepared(frame)
    dynamic = frame[frame["scenario"] == "dynamic"]
    return [_dynamic(rows, device, out_dir / f"conv_dynamic_{safe_name(device)}.png")
            for device, rows in dynamic.groupby("device", sort=False)]  # fmt: skip


def _prepared(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[[column for column in COLUMNS if column in frame]].copy()
    frame["variant"] = frame.apply(variant_label, axis=1)
    frame["row"] = frame["shape"].astype(str) + " n" + frame["batch"].astype(str)
    return frame


def _static(frame: pd.DataFrame):
    """(device, variant, file-name slug, rows) of the static-shape cases, per device and variant."""
    frame = _prepared(frame)
    static = frame[frame["scenario"] == "static"]
    for (device, variant), rows in static.groupby(["device", "variant"], sort=False):
        yield device, variant, safe_name(f"{device}_{variant.replace(' ', '_').replace('+', '_')}"), rows


def _cells(rows: pd.DataFrame, column: str) -> dict[tuple[str, bool, bool], pd.Series]:
    """Per (direction, benchmark, deterministic): the median of ``column`` per row label (one groupby)."""
    medians = rows.groupby(["direction", "cudnn_benchmark", "cudnn_deterministic", "row"], sort=False)[column].median()
    cells: dict[tuple[str, bool, bool], dict[str, float]] = {}
    for (direction, benchmark, deterministic, row), value in medians.items():
        cells.setdefault((direction, bool(benchmark), bool(deterministic)), {})[row] = value
    return {key: pd.Series(values, dtype=medians.dtype) for key, values in cells.items()}


def _cell(cells: dict[tuple[str, bool, bool], pd.Series], direction: str, combo: tuple[bool, bool]) -> pd.Series:
    return cells.get((direction, *combo), pd.Series(dtype=float))


def _speedup(rows: pd.DataFrame, device: str, variant: str, path: Path) -> Path:
    labels = list(dict.fromkeys(rows["row"]))
    columns, values = [], []
    cells = _cells(rows, "median_s")
    for direction in DIRECTIONS:
        baseline = _cell(cells, direction, COMBOS[0])
        for combo in COMBOS[1:]:
            ratio = baseline / _cell(cells, direction, combo)
            columns.append(_column(direction, combo))
            values.append(ratio.reindex(labels).to_numpy(dtype=float))
    matrix = np.array(values).T
    finite = matrix[np.isfinite(matrix) & (matrix > 0)]
    spread = max(1.05, float(np.max(np.maximum(finite, 1 / finite)))) if finite.size else 2.0
    title = f"Speed-up over benchmark off, deterministic off (median time ratio, >1 = faster)\n{variant} on {device}"
    norm, unit = LogNorm(1 / spread, spread), "speed-up (median time ratio, x; log scale)"
    return _heatmap(matrix, labels, columns, norm, "RdBu", "{:.2f}", title, device, path, unit)


def _first_call(rows: pd.DataFrame, device: str, variant: str, path: Path) -> Path:
    labels = list(dict.fromkeys(rows["row"]))
    columns, values = [], []
    cells = _cells(rows, "first_call_s")
    for direction in DIRECTIONS:
        for combo in COMBOS:
            columns.append(_column(direction, combo))
            values.append(_cell(cells, direction, combo).reindex(labels).to_numpy(dtype=float) * 1e3)
    matrix = np.array(values).T
    finite = matrix[np.isfinite(matrix) & (matrix > 0)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.1, 1.0)
    norm = LogNorm(low, max(high, low * 1.01))
    what = "First call (ms, wall clock after synchronising; holds the autotuning when benchmark is on)"
    title = f"{what}\n{variant} on {device}"
    unit = "first call (ms; log scale)"
    return _heatmap(matrix, labels, columns, norm, "viridis", "{:.3g}", title, device, path, unit)


def _heatmap(matrix, rows, columns, norm, cmap, fmt, title, device, path: Path, unit: str) -> Path:
    fig, ax = plt.subplots(figsize=(2.0 + 1.05 * len(columns), 1.6 + 0.42 * len(rows)))
    masked = np.ma.masked_invalid(matrix)
    image = ax.imshow(masked, norm=norm, cmap=cmap, aspect="auto")
    ax.set_xticks(range(len(columns)), columns, fontsize=7)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    if len(rows) <= 60:
        colours = image.cmap(norm(masked))  # every cell's colour at once, not one call per cell
        dark = 0.299 * colours[..., 0] + 0.587 * colours[..., 1] + 0.114 * colours[..., 2] < 0.5
        for (i, j), value in np.ndenumerate(matrix):
            if np.isfinite(value):
                color = "white" if dark[i, j] else "black"
                label = ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=7, color=color)
                label.set_in_layout(False)  # inside its cell: nothing for tight_layout to measure
    for boundary in range(len(columns) // len(DIRECTIONS), len(columns), len(columns) // len(DIRECTIONS)):
        ax.axvline(boundary - 0.5, color="white", linewidth=2)
    bar = fig.colorbar(image, ax=ax, shrink=0.8)
    bar.set_label(unit, fontsize=7)
    bar.ax.yaxis.set_major_formatter(FormatStrFormatter("%.3g"))  # plain numbers, not 9x10^-1
    wide = norm.vmax / norm.vmin > 10  # over a decade, labelled minor ticks would overlap
    bar.ax.yaxis.set_minor_formatter(NullFormatter() if wide else FormatStrFormatter("%.3g"))
    ax.set_title(title + (f"\n{CPU_NOTE}" if device == "cpu" else ""), fontsize=9)
    path = save_figure(fig, path.parent, path.name, dpi=110)
    plt.close(fig)
    return path


def _dynamic(rows: pd.DataFrame, device: str, path: Path) -> Path:
    groups = list(rows.groupby(["row", "variant"], sort=False))
    fig, axes = plt.subplots(1, len(groups), figsize=(6 * len(groups), 4.5), squeeze=False)
    for ax, ((label, variant), group) in zip(axes[0], groups, strict=True):
        sequence = ""
        for _, case in group.iterrows():
            steps = np.asarray(case["samples_s"], dtype=float)
            combo = (bool(case["cudnn_benchmark"]), bool(case["cudnn_deterministic"]))
            style = "-" if combo[0] else "--"
            total = f"total {steps.sum():.3g} s"
            ax.plot(
                range(1, len(steps) + 1), np.cumsum(steps), style, marker=".", label=f"{combo_label(*combo)}: {total}"
            )
            sequence = str(case.get("batch_sequence", ""))
        ax.set_xlabel(f"training step (batch sizes in order: {sequence})", fontsize=8)
        ax.set_ylabel("cumulative time (s, wall clock, synchronised)")
        ax.set_title(f"{label.rsplit(' n', 1)[0]}, {variant}", fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    suptitle = f"Dynamic batch sizes on {device}: forward + backward per step; benchmark on re-tunes every new size"
    fig.suptitle(suptitle + (f"\n{CPU_NOTE}" if device == "cpu" else ""), fontsize=10)
    path = save_figure(fig, path.parent, path.name, dpi=110)
    plt.close(fig)
    return path
