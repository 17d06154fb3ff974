"""A store for the site's tests: the committed real runs plus a synthetic fleet with one injected step.

``site_store(folder)`` copies ``results/`` (runs, raw JSON, figures) and adds four machines of one
GPU model, a run a night ending the day before ``NOW``: on ``STEP_HOST`` the pageable host copies
get ``STEP`` x slower from night ``STEP_NIGHT`` on, when torch_version changes too, and every night
from then on has a nightly ``verdicts.json`` marking them slower and confirmed (an open
regression); ``HOSTILE_HOST``'s runs carry a hostile case name and a hostile host name.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
from store_runs import REPO, copy_run

from gpubench import store

NOW = pd.Timestamp("2026-12-01T12:00:00Z")
GPU = "NVIDIA H100 80GB HBM3"
NIGHTS = 14
STEP_NIGHT = 9
STEP = 1.3
STEP_HOST = "gpu-node01"
HOSTILE_HOST = "gpu-<b>node04</b>"
HOSTILE_CASE = "copy[<script>window.__pwned=1</script>]"
HOSTS = (STEP_HOST, "gpu-node02", "gpu-node03", HOSTILE_HOST)
STEPPED = "copy[direction=h2h,host_memory=pageable"
STEP_MACHINE = f"{GPU} @ {STEP_HOST}"


def run_id(night: int, number: int) -> str:
    day = NOW.normalize() - pd.Timedelta(days=NIGHTS - night)
    return f"{day.strftime('%Y%m%d')}T02{number:02d}00Z-site{number:02d}"


def site_store(folder: Path) -> Path:
    """The store, at ``folder`` (created); returns it."""
    for part in ("runs", "json", "plots"):
        shutil.copytree(REPO / "results" / part, folder / part)
    for night in range(NIGHTS):
        for number, host in enumerate(HOSTS):
            stepped = host == STEP_HOST and night >= STEP_NIGHT
            torch = "2.14.0+cu128" if stepped else "2.13.0+cu128"
            when = NOW.normalize() - pd.Timedelta(days=NIGHTS - night) + pd.Timedelta(hours=2, minutes=number)
            frame = copy_run(
                run_id(night, number),
                when.strftime("%Y-%m-%dT%H:%M:%S"),
                hostname=host,
                gpu_name=GPU,
                seed=100 * night + number,
                noise=0.01,
                torch_version=torch,
                git_commit=f"c{night:03d}{number}abcdef",
            )
            if stepped:
                step = frame["case"].astype(str).str.startswith(STEPPED).to_numpy()
                for column in ("median_s", "q1_s", "q3_s", "iqr_s", "min_s", "max_s", "mean_s"):
                    frame.loc[step, column] = frame.loc[step, column].astype(float) * STEP
                frame.loc[step, "gbps"] = frame.loc[step, "gbps"].astype(float) / STEP
                frame["samples_s"] = [
                    None if samples is None else [v * (STEP if s else 1.0) for v in samples]
                    for samples, s in zip(frame["samples_s"], step, strict=True)
                ]
                _verdicts(folder, frame, step)
            if host == HOSTILE_HOST:
                first = frame.index[frame["status"] == "ok"][0]
                frame.loc[first, "case"] = HOSTILE_CASE
            store.write_run(frame, folder)
    return folder


def _verdicts(folder: Path, frame: pd.DataFrame, step) -> None:
    """The nightly's verdicts of a stepped night: the stepped measured cases slower, confirmed."""
    run = str(frame["run_id"].iloc[0])
    measured = frame["status"].to_numpy() == "ok"
    cases = [
        {
            "suite": "copy",
            "case": str(case),
            "verdict": "slower" if slow else "same",
            "confirmed": True if slow else None,
        }
        for case, slow, ok in zip(frame["case"], step, measured, strict=True)
        if ok
    ]
    target = folder / "nightly" / run
    target.mkdir(parents=True, exist_ok=True)
    document = {"run_id": run, "confirmation_of": None, "machine": STEP_MACHINE, "status": "regression", "cases": cases}
    (target / "verdicts.json").write_text(json.dumps(document))


def stepped_cases(folder: Path) -> list[str]:
    """The measured cases of the stepped machine that got slower."""
    frame = pd.read_parquet(folder / "runs" / f"{run_id(NIGHTS - 1, 0)}.parquet")
    ok = frame[(frame["status"] == "ok") & frame["case"].astype(str).str.startswith(STEPPED)]
    return sorted(ok["case"].astype(str))
