"""The store's rule, as a property: any pytest-benchmark-like document is either ingested so that every
reader then works on it, or refused in one line naming the file, with the store unchanged.

Documents of random shapes and types are generated (valid ones and every kind of junk, in every
field); each is ingested into a store that already holds a run, then read by every reader: the
store reader, compare (all formats, JSON strict), history (summary and figure), plot, doctor's
results judge and the nightly's baseline selection and judging. Bounded: ``EXAMPLES`` documents.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, event, given, settings
from untrusted_support import bench, document, run_cli, snapshot, write_json

from gpubench import store
from gpubench.analysis.baseline import select_baseline
from gpubench.analysis.compare import compare_frames
from gpubench.analysis.history import case_history
from gpubench.doctor.results import judge_run
from gpubench.views import tables
from gpubench.views.compare import render
from gpubench.views.figures.history import plot_history
from gpubench.views.figures.run import plot_run
from gpubench.views.history import summary

EXAMPLES = int(os.environ.get("GPUBENCH_PROPERTY_EXAMPLES", "40"))

# --- strategies --------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**66), max_value=2**66),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet="ab$/.\n|<#", max_size=4),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=5,
)
names = st.one_of(
    st.sampled_from(["test_a", "test_b[1-x]", "test_$x^^$", "a/../../b", "x\n# heading", "<b>|</b>", "test_a"]),
    st.text(alphabet="ab_$/.\n|<>#[]= \\", min_size=1, max_size=8),
)
good_times = st.floats(min_value=1e-9, max_value=10.0)
# issue 17: rates and metrics of every kind (the rule of the store holds for them too)
metric_values = st.one_of(
    st.floats(min_value=1e-3, max_value=1e4),
    st.floats(),  # NaN, infinities, 1e308, negatives, zero
    st.sampled_from([0, -1, 1e308, 10**400, "fast", True, [1, 2], {"a": 1}, None]),
    st.integers(min_value=-(2**70), max_value=2**70),
)
metrics = st.dictionaries(st.sampled_from(["gbps", "busbw_gbps", "tflops", "latency_us", "hostname"]), metric_values,
                          max_size=3)  # fmt: skip
# Host names: texts a node may have, and what careless writers put there.
hostnames = st.one_of(
    st.sampled_from(["node 1", "node_1", "节点", "ノード", "host\n\x1b[31mgpubench: error: FAKE", "n\ud800", ""]),
    st.text(max_size=6),
)
host_values = st.one_of(hostnames, st.integers(), st.floats(), st.booleans(), st.none(), st.lists(st.integers()))


def mostly(valid: st.SearchStrategy, junk: st.SearchStrategy = json_values) -> st.SearchStrategy:
    """``valid`` 15 times in 16, else ``junk``: most documents get far enough to be read back."""
    return st.integers(min_value=0, max_value=15).flatmap(lambda pick: junk if pick == 15 else valid)


times = st.one_of(good_times, good_times, st.floats(), st.integers(min_value=-3, max_value=3), json_values)
param_names = st.sampled_from(["n", "mode", "bytes", "direction", "run_id", "case", "gpu_count", "hostname", "p"])
params = mostly(st.one_of(st.dictionaries(param_names, json_values, max_size=3), st.none()))


@st.composite
def benchmarks(draw) -> object:
    median = draw(mostly(good_times, times))
    centre = median if isinstance(median, float) and math.isfinite(median) and median > 0 else 1e-3
    spread = draw(st.lists(st.floats(min_value=0.5, max_value=2.0), max_size=6))
    item = bench(
        draw(names),
        centre,
        samples=[centre * factor for factor in spread] + ([centre] if spread else []),
        params=draw(params),
        group=draw(st.one_of(st.none(), st.sampled_from(["g1", "g/../2", "copy"]), names)),
        fullname=draw(st.one_of(st.none(), names)),
    )
    stats = item["stats"]
    stats["median"] = median
    if draw(mostly(st.just(False), st.just(True))):  # spoil a few statistics
        for key in draw(st.lists(st.sampled_from(["min", "q1", "q3", "iqr", "rounds", "iterations", "data"]))):
            stats[key] = draw(st.one_of(times, st.lists(times, max_size=3)))
    choice = draw(st.integers(min_value=0, max_value=31))
    if choice == 0:
        item["extra_info"] = draw(json_values)
    elif choice in (1, 2):
        item["extra_info"] = {"gpubench": draw(case_blocks())}
    elif choice == 3:
        item["extra_info"] = draw(st.dictionaries(param_names, scalars, max_size=3))
    elif choice == 4:
        item["options"] = draw(json_values)
    elif choice == 5:
        item["stats"] = draw(json_values)
    elif choice == 6:
        return draw(json_values)  # not an object at all
    return item


@st.composite
def case_blocks(draw) -> object:
    block = {
        "suite": draw(st.one_of(st.sampled_from(["copy", "conv", "allreduce", "mine"]), names)),
        "case": draw(names),
        "params": draw(mostly(st.dictionaries(param_names, json_values, max_size=3))),
        "metrics": draw(
            st.one_of(st.dictionaries(st.sampled_from(["gbps", "busbw_gbps", "tflops"]), scalars), metrics)
        ),
        "info": draw(st.one_of(st.none(), st.dictionaries(param_names, scalars, max_size=2))),
        "ops_per_sample": draw(st.one_of(st.integers(min_value=-1, max_value=4), scalars)),
        "clock": draw(st.one_of(st.just("cuda-event"), scalars)),
    }
    if draw(mostly(st.just(False), st.just(True))):
        block.pop(draw(st.sampled_from(sorted(block))))
    return block


stamps = mostly(
    st.one_of(
        st.just("2024-06-01T00:00:00+00:00"),
        st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)).map(datetime.isoformat),
    ),
    st.one_of(
        st.datetimes().map(datetime.isoformat),
        st.sampled_from(["9999-12-31T00:00:00", "0001-01-01", "yesterday", "", "now", "today", "tomorrow 3pm"]),
        st.sampled_from(["2026-11-27T00:30:00.123456789Z", "2026-11-27T00:30:00+05:30", "2026-11-27 00:30Z"]),
        json_values,
    ),
)


@st.composite
def documents(draw) -> object:
    data = document(
        *draw(st.lists(benchmarks(), max_size=4)), when=draw(stamps), hostname=draw(st.one_of(names, hostnames))
    )
    if draw(st.booleans()):  # gpubench's own environment block, its host of any type
        data["machine_info"]["gpubench"] = {"hostname": draw(host_values), "gpu_name": draw(host_values)}
    if draw(st.booleans()):
        data["gpubench"] = {
            "run_id": draw(mostly(st.one_of(st.none(), st.just("generated-run")), st.one_of(names, json_values))),
            "started_at": draw(stamps),
            "profile": draw(mostly(st.just("quick"), scalars)),
            "skipped": draw(
                mostly(
                    st.lists(
                        st.fixed_dictionaries(
                            {"suite": names, "case": names, "params": params, "reason": st.one_of(names, scalars)}
                        ),
                        max_size=2,
                    ),
                )
            ),
        }
    if draw(mostly(st.just(False), st.just(True))):
        data[draw(st.sampled_from(["machine_info", "commit_info", "gpubench", "datetime"]))] = draw(json_values)
    return data


# --- cache damage: what a crash, a disk or a hand can leave in the caches ------------------------


def _files(results: Path, pattern: str) -> list[Path]:
    return sorted(results.glob(pattern))


def _scramble(paths: list[Path], keep: int) -> None:
    for path in paths:
        path.write_bytes(path.read_bytes()[:keep] + b"\x00garbage")


def _link_out(results: Path, folder: Path, name: str) -> None:
    target = folder / f"outside-{name.replace('/', '_')}"
    target.mkdir(exist_ok=True)
    shutil.rmtree(results / name, ignore_errors=True)
    (results / name).parent.mkdir(parents=True, exist_ok=True)
    (results / name).symlink_to(target, target_is_directory=True)


CACHE_DAMAGE = {
    "none": lambda results, folder: None,
    "index-truncated": lambda results, folder: _scramble(_files(results, "index/runs.parquet"), 40),
    "segments-truncated": lambda results, folder: _scramble(_files(results, "index/figures/*.parquet"), 100),
    "changepoints-garbage": lambda results, folder: _scramble(_files(results, "cache/changepoints/*.json"), 5),
    "changepoints-foreign": lambda results, folder: [
        path.write_text('{"version": 2, "machine": "x", "cases": {"copy::x": 5}}')
        for path in _files(results, "cache/changepoints/*.json")
    ],
    "marks-wrong-shape": lambda results, folder: [
        path.write_text('{"version": 1, "nights": {"n": 3, "m": [1]}}') for path in _files(results, "cache/*.json")
    ],
    "index-a-link": lambda results, folder: _link_out(results, folder, "index"),
    "cache-a-link": lambda results, folder: _link_out(results, folder, "cache"),
}


# --- the store every example starts from: one run, its params typed one way -------------------

_BASE: dict[str, Path] = {}


def base_store() -> Path:
    if "path" not in _BASE:
        folder = Path(tempfile.mkdtemp(prefix="gpubench-property-"))
        base = document(
            bench("test_a", 1e-3, params={"n": 1, "mode": "x", "size": 2.5}),
            bench("test_b[1-x]", 2e-3, params={"n": 2, "mode": "y", "p": [1]}),
            run_id="base-run",
            hostname="test_a",
        )
        assert (
            run_cli("ingest", str(write_json(base, folder / "base.json")), "--results", str(folder / "store"))[0] == 0
        )
        assert run_cli("history", "--results", str(folder / "store"), "--out", str(folder / "png"))[0] == 0  # caches
        _BASE["path"] = folder / "store"
    return _BASE["path"]


def _strict(text: str) -> object:
    def refuse(constant: str) -> None:
        raise AssertionError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example]
)
@given(data=documents(), damage=st.sampled_from(sorted(CACHE_DAMAGE)))
def test_any_document_is_stored_readable_by_every_reader_or_refused_in_one_line(data, damage):
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        results = folder / "store"
        shutil.copytree(base_store(), results)
        path = folder / "doc.json"
        path.write_text(json.dumps(data))  # Python's JSON: NaN and Infinity included, as careless writers do
        before = snapshot(results)
        status, out, err = run_cli("ingest", str(path), "--results", str(results))
        event("refused" if status else "ingested")
        if status != 0:
            assert status == 2, err
            assert err.startswith("gpubench: error: ") and err.count("\n") == 1, err
            assert str(path) in err or "doc.json" in err, err
            assert snapshot(results) == before
            return
        assert err == "", err
        new = set(store.list_runs(results)["run_id"]) - {"base-run"}
        assert len(new) == 1, out
        run_id = new.pop()
        every_reader_works(results, run_id, folder)
        CACHE_DAMAGE[damage](results, folder)  # caches are disposable: any damage, and every reader still reads
        event(f"cache damage: {damage}")
        status, _, err = run_cli("history", "--results", str(results), "--out", str(folder / "png"), "--format", "json")
        assert status == 0 or (status == 2 and "no measured case" in err), err
        status, _, err = run_cli("fleet", "--min-peers", "1", "--results", str(results), "--out", str(folder / "png"))
        assert status in (0, 1) or (status == 2 and "no measured case" in err), err


def every_reader_works(results: Path, run_id: str, folder: Path) -> None:
    status, _, err = run_cli("store", "check", "--results", str(results))
    assert status == 0, err
    frame = store.read_results(results)
    run = store.read_results(results, run_id)
    assert set(frame["run_id"]) == {"base-run", run_id}
    judge_run(run)  # doctor --results
    tables.summary(run)  # what run and nightly print
    plot_run(run, folder / "plots")  # plot
    history = case_history(frame)  # history
    summary(history)
    if not history.empty:
        plot_history(history[history["run_id"] == run_id], folder / "history")
    base = store.read_results(results, "base-run")
    for baseline, candidate in ((base, run), (run, base), (run, run)):
        comparison = compare_frames(baseline, candidate)  # compare
        for fmt in ("table", "markdown"):
            render(comparison, fmt)
        _strict(render(comparison, "json"))
    if (run["status"] == "ok").any():  # the nightly's judging: baseline selection, then compare
        baseline = select_baseline(frame, run_id, before_only=False)
        if not baseline.empty:
            compare_frames(baseline, run, min_runs=1)
