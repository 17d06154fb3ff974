"""The fleet figure: per GPU model, each machine's time ratios to its peers, one dot per case.

A healthy machine's dots sit around 1; a bad node's cloud sits above (slower) the others'.
Outliers by the fleet rule (``gpubench.analysis.fleet``) are drawn red (slower) or green (faster).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from gpubench.analysis.fleet import Fleet, Standing, time_ratio
from gpubench.files.safe import save_figure, slug


def figure_width(machines: int) -> float:
    """Inches: 0.9 per machine for the first 12 (room for the dots' spread), 0.3 per machine after
    (the rotated host names still fit), so a fleet of 100 draws 34 inches, not 92."""
    return max(6.0, 2 + 0.9 * min(machines, 12) + 0.3 * max(machines - 12, 0))


def plot_fleet(fleet: Fleet, out_dir: str | os.PathLike) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    models = sorted({standing.gpu_name for standing in fleet.standings})
    for model in models:
        standings = [s for s in fleet.standings if s.gpu_name == model]
        by_machine: dict[str, list[Standing]] = {}
        for standing in standings:
            by_machine.setdefault(standing.machine, []).append(standing)
        machines = sorted(by_machine)
        fig = Figure(figsize=(figure_width(len(machines)), 4.5))
        ax = fig.subplots()
        rng = np.random.default_rng(0)  # horizontal jitter only, the same on every drawing
        xs, ratios, colours = [], [], []
        for x, machine in enumerate(machines):
            mine = by_machine[machine]
            xs.append(x + rng.uniform(-0.25, 0.25, len(mine)))
            ratios.extend(time_ratio(s) for s in mine)
            colours.extend(map(_colour, mine))
        # One collection for every dot: a hundred machines' scatter calls cost more than their drawing.
        ax.scatter(np.concatenate(xs), np.array(ratios), s=8, c=colours, alpha=0.7, linewidths=0)
        ax.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
        ax.set_xticks(range(len(machines)))
        ax.set_xticklabels([m.split(" @ ")[-1] for m in machines], rotation=45, ha="right", fontsize=7)
        ax.set_ylabel("time / peers' median (above 1: slower)", fontsize=8)
        rule = fleet.rule
        ax.set_title(
            f"{model}: each machine against its peers, one dot per case (red: slower outlier, green: faster; "
            f">= {rule['min_peers']:.0f} peers, > {rule['mad_factor']} MAD and >= {rule['min_gap']:.0%})",
            fontsize=8,
        )
        ax.grid(True, axis="y", alpha=0.3)
        written.append(save_figure(fig, out, f"fleet_{slug(model)}.png", dpi=90))
    return written


def _colour(standing: Standing) -> str:
    return "tab:red" if standing.outlier and standing.slower else "tab:green" if standing.outlier else "tab:blue"
