"""Helpers for the compare/nightly tests: real benchmark runs in subprocesses, and injections."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from support import REPO, cli, run_benchmarks  # noqa: F401 - cli and REPO: for the tests that import them here

# Statistics that scale with the time of one operation; iqr and stddev scale too.
TIME_STATS = ("min", "max", "mean", "stddev", "median", "iqr", "q1", "q3", "ld15iqr", "hd15iqr", "total")


def run_copy_suite(json_path: Path, *args: str, timeout: float = 300) -> Path:
    """The copy suite's quick profile (``args``: e.g. ``-k h2h``), as a user runs it; its JSON."""
    done = run_benchmarks(json_path, *args, timeout=timeout, target=str(REPO / "benchmarks" / "test_copy.py"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json_path


def bench_case(bench: dict[str, Any]) -> str:
    ours = (bench.get("extra_info") or {}).get("gpubench")
    return ours["case"] if ours else bench["name"]


def inject(data: dict[str, Any], case: str, factor: float, run_id: str | None = None) -> dict[str, Any]:
    """A copy of a pytest-benchmark document where ``case`` takes ``factor`` times as long:
    raw samples, time statistics and derived metrics (GB/s down, latency up)."""
    out = copy.deepcopy(data)
    hits = [bench for bench in out["benchmarks"] if bench_case(bench) == case]
    assert len(hits) == 1, f"{case}: {len(hits)} matches"
    stats = hits[0]["stats"]
    stats["data"] = [value * factor for value in stats["data"]]
    for key in TIME_STATS:
        if isinstance(stats.get(key), (int, float)):
            stats[key] *= factor
    stats["ops"] = 1 / stats["mean"]
    ours = (hits[0].get("extra_info") or {}).get("gpubench")
    if ours:
        metrics = ours["metrics"]
        for name in list(metrics):
            if name.endswith("gbps") or name.endswith("tflops"):
                metrics[name] /= factor
            elif name.endswith("_us") or name.endswith("_s"):
                metrics[name] *= factor
    if run_id and "gpubench" in out:
        out["gpubench"]["run_id"] = run_id
    return out


def write_json(data: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(data))
    return path


def most_stable_case(data: dict[str, Any]) -> str:
    """The case whose samples scatter least (IQR / median): where a 30% change is clearest."""
    benches = [bench for bench in data["benchmarks"] if bench["stats"]["median"] > 0]
    best = min(benches, key=lambda bench: bench["stats"]["iqr"] / bench["stats"]["median"])
    return bench_case(best)


def load(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def foreign_run(seed: int, cases: int = 40, level_noise: float = 0.025, run: int = 0) -> dict[str, Any]:
    """A pytest-benchmark document as another project's suite writes it, sampled, not measured:
    ``cases`` functions of 1 us to 10 ms, each timed over thousands of rounds (lognormal scatter
    of 0.5-3% and a tail of interrupted rounds), at a level that moves between runs by a factor of
    sigma ``level_noise`` (two unchanged runs then differ by 1-3%, now and then by more).
    ``seed`` fixes the suite (its cases), ``run`` the sampling of one run of it."""
    import numpy as np

    suite = np.random.default_rng(seed)
    sampling = np.random.default_rng([seed, run + 1])
    benchmarks = []
    for index in range(cases):
        base = 10 ** suite.uniform(-6, -2)
        scatter = suite.uniform(0.005, 0.03)
        rounds = int(suite.integers(2000, 8000))
        level = base * np.exp(sampling.normal(0.0, level_noise))
        data = level * sampling.lognormal(0.0, scatter, rounds)
        tail = sampling.random(rounds) < 0.03
        data[tail] *= sampling.uniform(1.5, 3.0, tail.sum())
        q1, median, q3 = np.quantile(data, [0.25, 0.5, 0.75])
        stats = {
            "min": float(data.min()), "max": float(data.max()), "mean": float(data.mean()),
            "stddev": float(data.std(ddof=1)), "median": float(median), "iqr": float(q3 - q1),
            "q1": float(q1), "q3": float(q3), "rounds": rounds, "iterations": 1, "total": float(data.sum()),
            "ops": float(1 / data.mean()), "data": [float(value) for value in data],
        }  # fmt: skip
        name = f"test_function_{index}"
        benchmarks.append(
            {"group": None, "name": name, "fullname": f"tests/test_perf.py::{name}", "params": None,
             "param": None, "extra_info": {}, "options": {"timer": "perf_counter"}, "stats": stats}
        )  # fmt: skip
    return {
        "machine_info": {"node": "ci-runner", "python_version": "3.12.3", "cpu": {"brand_raw": "some CPU"}},
        "commit_info": {"id": f"commit{run}"},
        "benchmarks": benchmarks,
        "datetime": f"2026-05-0{run + 1}T02:17:00+00:00",
        "version": "5.1.0",
    }
