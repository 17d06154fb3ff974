"""How the store and its views scale: build a store of N real runs, time what users run on it.

    python scripts/store_scale.py build /tmp/store-1k --runs 1000
    python scripts/store_scale.py measure /tmp/store-1k --repeat 3 [--src /work/main/src] [--cold]
    python scripts/store_scale.py measure /tmp/store-1k --against /tmp/old/src /tmp/store-1k-old
    python scripts/store_scale.py build /tmp/store-fleet --runs 36500 --machines 100

``build`` takes the committed run with the most cases (results/runs/, the CPU quick profile:
443 cases) and writes N copies of it as nightly runs, one a day, over ``--machines`` hosts:
each case's samples and time statistics are scaled by a per-run factor (log-normal, 2%) and
per-sample noise (1%), rates inversely; from 70% of the way on, the pageable host copies are
15% slower (a change point), and from half way on torch_version changes (an environment
change). Each run gets a nightly ``verdicts.json`` (every case ``same``), as a year of
nightlies leaves. ``measure`` times each operation as a user meets it, in a fresh process
(``gpubench ...`` through ``python -m gpubench.cli``; the nightly's judging step as the nightly
composes it), ``--repeat`` times, and prints the median wall and CPU time and the machine's
load. ``--src`` runs another checkout's code (``main`` for the figures before a change).
``--against SRC STORE`` times a second checkout's code too, on its own copy of the store (the
run files hard-linked with ``cp -al``, so that each code keeps its own caches): the two take
turns, one timing each, and new/old is printed. Timings on a shared machine are noisy: compare
medians measured under similar load, best interleaved.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
TIME_STATS = ("median_s", "iqr_s", "q1_s", "q3_s", "min_s", "max_s", "mean_s", "stddev_s", "latency_us")
RATES = ("gbps", "busbw_gbps", "algbw_gbps", "tflops")
STEP_CASES = "copy[direction=h2h,host_memory=pageable"
SLOW = 60.0
ONE_CASE = "copy[direction=h2h,host_memory=pageable,bytes=1048576]"
MACHINE = "node00"  # a host of every store ``build`` makes, one machine or a hundred

# The nightly's judging step (nightly.nightly between the run and the report), for either API.
JUDGE = """
import sys
from pathlib import Path
from gpubench.analysis import baseline as b
from gpubench.analysis.compare import compare_frames
results, run_id = Path(sys.argv[1]), sys.argv[2]
if hasattr(b, "load_baseline"):
    candidate, base = b.load_baseline(results, run_id, 7)
else:
    from gpubench.store import read_results
    store = read_results(results)
    candidate = store[store["run_id"] == run_id]
    base = b.select_baseline(store, run_id, 7, b.flagged_cases(results))
comparison = compare_frames(base, candidate, 0.05, min_runs=3)
print(comparison.counts())
"""


def template_run() -> pa.Table:
    paths = sorted((REPO / "results" / "runs").glob("*.parquet"))
    tables = [pq.read_table(path) for path in paths]
    return max(tables, key=len)


def template_stamp(template: pa.Table) -> dict | None:
    """The footer stamp ingest gives the template run (``gpubench.store.stamp``), None if it has none."""
    sys.path.insert(0, str(REPO / "src"))
    from gpubench.store.stamp import stamp_of

    return json.loads(stamp_of(template.to_pandas()))


def _stamp_bytes(stamp: dict, run_id: str, stamp_time: np.datetime64, host: str, torch_version: str | None) -> bytes:
    gpu = stamp.get("gpu_name") or "no GPU"
    environment = dict(stamp["environment"])
    if torch_version:
        environment["torch_version"] = torch_version
    started = str(np.datetime64(stamp_time, "us")) + "+00:00"
    changed = {"run_id": run_id, "started_at": started, "hostname": host, "machine": f"{gpu} @ {host}"}
    return json.dumps({**stamp, **changed, "environment": environment}, sort_keys=True).encode()


def build(store: Path, runs: int, machines: int, seed: int, stamped: bool = True) -> None:
    template = template_run()
    footer_template = template_stamp(template) if stamped else None
    rng = np.random.default_rng(seed)
    (store / "runs").mkdir(parents=True, exist_ok=True)
    # One run a night, the last one last night: a store as it stands today.
    today = np.datetime64(time.strftime("%Y-%m-%d"), "D")
    start = (today - np.timedelta64(-(-runs // machines), "D")).astype("datetime64[us]") + np.timedelta64(2, "h")
    cases = template.column("case").to_pylist()
    step = np.array([case.startswith(STEP_CASES) for case in cases])
    started = time.perf_counter()
    for number in range(runs):
        night, machine = divmod(number, machines)
        stamp = start + np.timedelta64(night * 86_400 + machine * 60, "s")
        run_id = f"{str(stamp)[:19].replace('-', '').replace(':', '')}Z-{number:06x}"
        factor = np.exp(rng.normal(0.0, 0.02, len(template)))
        if number >= 0.7 * runs:
            factor = factor * np.where(step, 1.15, 1.0)
        table = _jittered(template, factor, rng)
        table = _set(table, "run_id", pa.array([run_id] * len(table)))
        when = pa.array(np.full(len(table), stamp)).cast(pa.timestamp("us", tz="UTC"))
        table = _set(table, "started_at", when)
        host = f"node{machine:02d}"
        table = _set(table, "hostname", pa.array([host] * len(table)))
        torch_version = "2.14.0+cpu" if number >= runs // 2 else None
        if torch_version:
            table = _set(table, "torch_version", pa.array([torch_version] * len(table)))
        if footer_template is not None:  # as gpubench's ingest writes it: the index reads the footer only
            footer = _stamp_bytes(footer_template, run_id, stamp, host, torch_version)
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"gpubench.run": footer})
        pq.write_table(table, store / "runs" / f"{run_id}.parquet")
        verdicts = store / "nightly" / run_id
        verdicts.mkdir(parents=True, exist_ok=True)
        suites = table["suite"].to_pylist()
        rows = [{"suite": s, "case": c, "verdict": "same"} for s, c in zip(suites, cases, strict=True)]
        (verdicts / "verdicts.json").write_text(json.dumps({"run_id": run_id, "cases": rows}))
        if number % 500 == 499:
            print(f"  {number + 1} runs written ({time.perf_counter() - started:.0f} s)", flush=True)
    print(f"built {runs} runs x {len(template)} cases over {machines} machine(s) in {store}")


def _jittered(table: pa.Table, factor: np.ndarray, rng: np.random.Generator) -> pa.Table:
    for name in TIME_STATS + RATES:
        if name in table.column_names:
            scale = factor if name in TIME_STATS else 1 / factor
            column = table.column(name).combine_chunks()
            table = _set(table, name, pc.multiply(column.cast(pa.float64()), pa.array(scale)))
    samples = table.column("samples_s").combine_chunks()
    lengths = pc.fill_null(pc.list_value_length(samples), 0).to_numpy()
    values = samples.values.to_numpy(zero_copy_only=False)
    noise = np.repeat(factor, lengths)[: len(values)] * np.exp(rng.normal(0.0, 0.01, len(values)))
    jittered = pa.ListArray.from_arrays(samples.offsets, pa.array(values * noise), mask=samples.is_null())
    return _set(table, "samples_s", jittered)


def _set(table: pa.Table, name: str, column: pa.Array) -> pa.Table:
    index = table.column_names.index(name)
    return table.set_column(index, pa.field(name, column.type), column)


COLD_INDEX = "import sys; from gpubench.store import run_index; run_index(sys.argv[1])"
IMPORT_ONLY = "import sys; from gpubench.store import run_index"
CACHES = ("index", "cache")  # what a store rebuilds from its run files: removed for a cold timing


def drop_caches(store: Path) -> None:
    for name in CACHES:
        shutil.rmtree(store / name, ignore_errors=True)


def cold_index(store: Path, env: dict[str, str], runs: int) -> None:
    """The first read of the store: the runs index built from the run files (their footers, when stamped)."""
    imports, _ = _timed([sys.executable, "-c", IMPORT_ONLY], env)
    drop_caches(store)
    wall, cpu = _timed([sys.executable, "-c", COLD_INDEX, str(store)], env, "cold index")
    per_file = (wall - imports) / runs * 1000
    print(
        f"  first read, runs index from {runs} run files: {wall:.2f} s wall, {cpu:.2f} s CPU "
        f"(imports {imports:.2f} s): {per_file:.2f} ms per run file",
        flush=True,
    )


def operations(store: Path, scratch: Path, document: Path) -> dict[str, list[str]]:
    """What users run on ``store``, by name: each a command for a fresh process."""
    runs = sorted(path.stem for path in (store / "runs").glob("*.parquet"))
    candidate, baselines = runs[-1], runs[-8:-1]
    gpubench = [sys.executable, "-m", "gpubench.cli"]
    results = ["--results", str(store)]
    one_machine = [*gpubench, "history", "--case", ONE_CASE, "--machine", MACHINE, *results, "--out"]
    return {
        "start the CLI (gpubench --help)": [*gpubench, "--help"],
        "ingest one run": [*gpubench, "ingest", str(document), *results],
        "compare two run ids": [*gpubench, "compare", baselines[-1], candidate, *results],
        "compare against 7 baselines": [*gpubench, "compare", *baselines, candidate, *results],
        "the nightly's judging step": [sys.executable, "-c", JUDGE, str(store), candidate],
        "history of one case": [*gpubench, "history", "--case", ONE_CASE, *results, "--out", str(scratch / "h1")],
        "history of one case on one machine": [*one_machine, str(scratch / "h1m")],
        # The same, its figure drawn each time (its folder emptied first), as on the first ask after a new run.
        "history of one case on one machine, drawn": [*one_machine, str(scratch / "h1m-drawn")],
        "history of every case": [*gpubench, "history", *results, "--out", str(scratch / "hall")],
        "plot the latest run": [*gpubench, "plot", *results, "--out", str(scratch / "plot")],
        "fleet (every machine's latest)": [*gpubench, "fleet", *results, "--out", str(scratch / "fleet")],
    }


def measure(
    store: Path,
    repeat: int,
    src: Path,
    only: list[str] | None = None,
    cold: bool = False,
    against: tuple[Path, Path] | None = None,
) -> None:
    """Time each operation ``repeat`` times; with ``against`` (another source and its own store
    of the same run files) the two codes take turns, one timing each, and the ratio is printed."""
    codes = {"": (src, store)} if against is None else {"new": (src, store), "old": against}
    scratch = Path(tempfile.mkdtemp(prefix="store-scale-"))
    document = _ingest_document(scratch)
    envs = {code: dict(os.environ, PYTHONPATH=str(source), MPLBACKEND="Agg") for code, (source, _) in codes.items()}
    plans = {code: operations(where, scratch / (code or "new"), document) for code, (_, where) in codes.items()}
    runs = len(list((store / "runs").glob("*.parquet")))
    print(f"store {store}: {runs} runs; code from {src}; {'cold' if cold else 'warm'}; load {os.getloadavg()}")
    if against is not None:
        print(f"  interleaved with the code from {against[0]} on {against[1]}")
    for code, (_, where) in codes.items():
        cold_index(where, envs[code], runs)
        wall, cpu = _timed(plans[code]["compare two run ids"], envs[code])  # builds the caches once
        print(f"  first read (builds the caches the code has): {wall:.2f} s wall, {cpu:.2f} s CPU")
    first = next(iter(codes))
    for name in plans[first]:
        if only and not any(part in name for part in only):
            continue
        walls: dict[str, list[float]] = {code: [] for code in codes}
        cpus: dict[str, list[float]] = {code: [] for code in codes}
        for _ in range(repeat):
            for code, (_, where) in codes.items():
                command = plans[code][name]
                if cold:  # every cache rebuilt from the run files, as on a fresh reader or a copied store
                    drop_caches(where)
                if name.endswith(", drawn"):  # no figure to find up to date
                    shutil.rmtree(command[-1], ignore_errors=True)
                wall, cpu = _timed(command, envs[code], name)
                walls[code].append(wall)
                cpus[code].append(cpu)
                if name == "ingest one run":
                    _remove_ingested(where, document)
            if max(walls[first][-1:] or [0]) > SLOW:  # one timing of a minute or more says enough
                break
        for code in codes:
            spread = ", ".join(f"{value:.2f}" for value in walls[code])
            label = f"{name} ({code})" if code else name
            print(
                f"  {label:<34} median {statistics.median(walls[code]):7.2f} s wall ({spread}), "
                f"{statistics.median(cpus[code]):7.2f} s CPU; load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        if against is not None:
            print(f"  {name}: new/old {statistics.median(walls['new']) / statistics.median(walls['old']):.2f}")
    print(f"load after: {os.getloadavg()}")
    shutil.rmtree(scratch)


def _timed(command: list[str], env: dict[str, str], name: str = "") -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``command``; CPU time says more on a loaded machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{name or command}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _ingest_document(scratch: Path) -> Path:
    """The template run's JSON, under a new run id (removed from the store after each timing)."""
    source = REPO / "results" / "json" / f"{template_run().column('run_id')[0]}.json"
    document = json.loads(source.read_text())
    document["gpubench"]["run_id"] = "29991231T000000Z-scale0"
    path = scratch / "ingest.json"
    path.write_text(json.dumps(document))
    return path


def _remove_ingested(store: Path, document: Path) -> None:
    run_id = json.loads(document.read_text())["gpubench"]["run_id"]
    (store / "runs" / f"{run_id}.parquet").unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build", help="build a store of N jittered real runs")
    make.add_argument("store", type=Path)
    make.add_argument("--runs", type=int, default=1000)
    make.add_argument("--machines", type=int, default=1)
    make.add_argument("--seed", type=int, default=1)
    make.add_argument("--unstamped", action="store_true", help="run files without the footer stamp (older gpubench)")
    timing = commands.add_parser("measure", help="time what users run on a store")
    timing.add_argument("store", type=Path)
    timing.add_argument("--repeat", type=int, default=3)
    timing.add_argument("--src", type=Path, default=REPO / "src", help="the gpubench source to time")
    timing.add_argument("--only", nargs="+", help="only operations whose name contains one of these")
    timing.add_argument("--cold", action="store_true", help="remove the caches (index/, cache/) before each timing")
    timing.add_argument(
        "--against", nargs=2, type=Path, metavar=("SRC", "STORE"), help="interleave with this code on its own store"
    )
    args = parser.parse_args()
    if args.command == "build":
        if args.store.exists() and any(args.store.iterdir()):
            raise SystemExit(f"{args.store} is not empty; give a new folder")
        build(args.store, args.runs, args.machines, args.seed, stamped=not args.unstamped)
    else:
        against = (args.against[0].resolve(), args.against[1]) if args.against else None
        measure(args.store, args.repeat, args.src.resolve(), args.only, args.cold, against)


if __name__ == "__main__":
    main()
