"""The fleet figure: per GPU model, each machine's time ratios to its peers, one dot per case.

A healthy machine's dots sit around 1; a bad node's cloud sits above (slower) the others'.
Outliers by the fleet rule (``gpubench.analysis.fleet``) are drawn red (slower) or green (faster).
A figure whose dots and rule are those it was drawn from is kept as it is (``files.figure_inputs``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from gpubench.analysis.fleet import Fleet, Standing, time_ratio
from gpubench.files import figure_inputs, safe
from gpubench.files.safe import save_figure, slug

# The code the figure is drawn by: a change to it draws the figure again.
DRAWING_CODE = (__file__, safe.__file__)


def figure_width(machines: int) -> float:
    """Inches: 0.9 per machine for the first 12 (room for the dots' spread), 0.3 per machine after
    (the rotated host names still fit), so a fleet of 100 draws 34 inches, not 92."""
    return max(6.0, 2 + 0.9 * min(machines, 12) + 0.3 * max(machines - 12, 0))


def plot_fleet(fleet: Fleet, out_dir: str | os.PathLike) -> list[Path]:
    """``fleet_<GPU model>.png`` per model; one whose dots are those it was drawn from
    (``files.figure_inputs``) is returned as it is."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    by_model: dict[str, dict[str, list[Standing]]] = {}
    for standing in fleet.standings:
        by_model.setdefault(standing.gpu_name, {}).setdefault(standing.machine, []).append(standing)
    written = []
    for model, by_machine in sorted(by_model.items()):
        machines = sorted(by_machine)
        mine = [(machine, standing) for machine in machines for standing in by_machine[machine]]
        dots = pd.DataFrame(
            {
                "machine": [machine for machine, _ in mine],
                "ratio": [time_ratio(standing) for _, standing in mine],
                "colour": [_colour(standing) for _, standing in mine],
            }
        )
        name = f"fleet_{slug(model)}.png"
        inputs = figure_inputs.inputs_digest(dots, (model, fleet.rule), DRAWING_CODE)
        path = figure_inputs.up_to_date(out, name, inputs)
        written.append(path or _figure(model, machines, dots, fleet.rule, out, name, inputs))
    return written


def _figure(model: str, machines: list[str], dots: pd.DataFrame, rule: dict, out: Path, name: str, inputs) -> Path:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(figure_width(len(machines)), 4.5))
    ax = fig.subplots()
    rng = np.random.default_rng(0)  # horizontal jitter only, the same on every drawing
    sizes = dots.groupby("machine", sort=False).size()
    xs = np.concatenate([x + rng.uniform(-0.25, 0.25, sizes[machine]) for x, machine in enumerate(machines)])
    # One collection for every dot: a hundred machines' scatter calls cost more than their drawing.
    ax.scatter(xs, dots["ratio"].to_numpy(), s=8, c=dots["colour"].tolist(), alpha=0.7, linewidths=0)
    ax.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xticks(range(len(machines)))
    ax.set_xticklabels([m.split(" @ ")[-1] for m in machines], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("time / peers' median (above 1: slower)", fontsize=8)
    ax.set_title(
        f"{model}: each machine against its peers, one dot per case (red: slower outlier, green: faster; "
        f">= {rule['min_peers']:.0f} peers, > {rule['mad_factor']} MAD and >= {rule['min_gap']:.0%})",
        fontsize=8,
    )
    ax.grid(True, axis="y", alpha=0.3)
    return save_figure(fig, out, name, dpi=90, metadata=figure_inputs.stamped(inputs))


def _colour(standing: Standing) -> str:
    return "tab:red" if standing.outlier and standing.slower else "tab:green" if standing.outlier else "tab:blue"
