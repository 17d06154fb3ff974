"""The store's standing probe: build a store, corrupt it in the ways issue 17 found, run every reader.

    python scripts/store_probe.py [--keep DIR] [--only SCENARIO ...] [--timeout 10]

An 8-run store (2 machines x 4 runs of three copy cases, one nightly verdicts file) is built
once; each scenario copies it, corrupts the copy (caches truncated or foreign, folder links at
``index/``, ``index/figures/``, ``cache/``, ``quarantine/``, a run file edited in place with its
size and modification time kept, a read-only store, bad verdicts files, hand-made run files
with nanosecond timestamps, an infinite schema version, categorical or integer columns...) and
runs every reader on it: ``store check`` (and ``--quarantine``), ``history`` (and a
``--case '****X'`` wildcard), ``compare``, ``fleet``, ``doctor --results`` and ``plot``.

A problem is: a traceback; an error that is not one ``gpubench: error:`` line; a reader past
``--timeout`` seconds (killed); a reader of a scenario whose damage is only to caches that
fails (caches are disposable); or any file created, changed or removed outside the store (every
folder beside it, the working directory and ``$HOME`` are listed before and after each command:
no strace). Exit status 1 when any problem was found, else 0; each problem is one line.

Readers run in processes forked from this one after gpubench, pandas, pyarrow and matplotlib
are imported, so that a hundred commands cost what one import does.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

MACHINES = ("n1", "n2")
RUN_IDS = tuple(f"run-{number}" for number in range(1, 9))
A, B = RUN_IDS[0], RUN_IDS[4]  # two runs of machine n1: compare reads them


# --- the store -----------------------------------------------------------------------------


def _bench(nbytes: int, median: float) -> dict:
    params = {"direction": "h2h", "host_memory": "pinned", "bytes": nbytes}
    samples = [median * factor for factor in (0.98, 0.99, 1.0, 1.0, 1.01, 1.02)]
    return {
        "group": "copy",
        "name": f"test_copy[h2h-{nbytes}]",
        "fullname": f"benchmarks/test_copy.py::test_copy[h2h-{nbytes}]",
        "params": params,
        "extra_info": {
            "gpubench": {
                "suite": "copy",
                "case": f"copy[direction=h2h,host_memory=pinned,bytes={nbytes}]",
                "params": params,
                "metrics": {"gbps": nbytes / median / 1e9},
                "info": {},
                "ops_per_sample": 1,
                "clock": "host-perf_counter",
            }
        },
        "options": {"timer": "perf_counter"},
        "stats": {
            "min": min(samples), "max": max(samples), "mean": median, "stddev": median * 0.01,
            "rounds": len(samples), "median": median, "iqr": median * 0.02, "q1": median * 0.99,
            "q3": median * 1.01, "iterations": 1, "data": samples,
        },
    }  # fmt: skip


def _document(run_id: str, host: str, day: int, slower: float) -> dict:
    when = f"2026-11-{day:02d}T00:30:00+00:00"
    return {
        "machine_info": {"node": host, "python_version": "3.11.0", "cpu": {"brand_raw": "a CPU"}},
        "commit_info": {"id": "abc123"},
        "benchmarks": [_bench(size, size / 4e9 * slower) for size in (4096, 65536, 1 << 20)],
        "datetime": when,
        "gpubench": {"run_id": run_id, "started_at": when, "profile": "quick", "skipped": []},
    }


def build(store: Path, documents: Path) -> None:
    """The base store: 8 runs ingested through the CLI, a nightly verdicts file, the caches warm."""
    from gpubench.cli import main

    documents.mkdir(parents=True, exist_ok=True)
    for number, run_id in enumerate(RUN_IDS):
        host = MACHINES[number % len(MACHINES)]
        path = documents / f"{run_id}.json"
        path.write_text(json.dumps(_document(run_id, host, number + 1, 1.3 if host == "n2" else 1.0)))
        with contextlib.redirect_stdout(io.StringIO()):
            if main(["ingest", str(path), "--results", str(store)]) != 0:
                raise SystemExit(f"store_probe: could not ingest {path}")
    night = store / "nightly" / B
    night.mkdir(parents=True)
    verdicts = {"run_id": B, "rerun_id": None, "cases": [{"case": "copy[x]", "verdict": "same", "confirmed": None}]}
    (night / "verdicts.json").write_text(json.dumps(verdicts))
    with contextlib.redirect_stdout(io.StringIO()):
        main(["history", "--results", str(store)])  # index, figures segments, change-point and marks caches


# --- corruptions: each takes (store, outside) ------------------------------------------------


def _link(store: Path, outside: Path, name: str) -> None:
    target = outside / name.replace("/", "_")
    target.mkdir(parents=True, exist_ok=True)
    path = store / name
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target, target_is_directory=True)


def _segments(store: Path) -> list[Path]:
    return sorted((store / "index" / "figures").glob("*.parquet"))


def _rewrite_segment_without_files(store: Path, outside: Path) -> None:
    import pyarrow.parquet as pq

    for path in _segments(store):
        table = pq.read_table(path)
        meta = {key: value for key, value in (table.schema.metadata or {}).items() if b"files" not in key}
        pq.write_table(table.replace_schema_metadata(meta), path)


def _corrupt_caches(store: Path, outside: Path) -> None:
    for number, path in enumerate(_segments(store)):
        path.write_bytes(os.urandom(200) if number % 2 else path.read_bytes()[:100])
    (store / "index" / "runs.parquet").write_bytes(b"PAR1" + os.urandom(64))
    for path in (store / "cache" / "changepoints").glob("*.json"):
        document = json.loads(path.read_text())
        for entry in document.get("cases", {}).values():
            for point in entry.get("change_points") or []:
                point.pop("environment_changes", None)
            entry["change_points"] = [{"run_id": 1}]
        path.write_text(json.dumps(document))
    (store / "cache" / "night_marks.json").write_text(json.dumps({"version": 1, "nights": {B: 7}}))


def _foreign_caches(store: Path, outside: Path) -> None:
    for path in (store / "cache" / "changepoints").glob("*.json"):
        path.write_text("[1, 2, 3]")
    (store / "cache" / "night_marks.json").write_text('{"version": 1, "nights": [1]}')
    (store / "index" / "figures" / "aaaa.parquet").write_bytes(b"")


def _edit_in_place(store: Path, outside: Path) -> None:
    """A run file whose bytes change with its size and modification time kept (silent corruption)."""
    path = store / "runs" / f"{RUN_IDS[-1]}.parquet"  # the latest of its machine: fleet reads it
    before = path.stat()
    path.write_bytes(os.urandom(before.st_size))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def _bad_verdicts(store: Path, outside: Path) -> None:
    for number, content in enumerate((os.urandom(64), "[" * 100_000 + "]" * 100_000, "[1, 2]")):
        night = store / "nightly" / f"bad-{number}"
        night.mkdir(parents=True)
        (night / "verdicts.json").write_bytes(content if isinstance(content, bytes) else content.encode())


def _hand_made(store: Path, outside: Path) -> None:
    """Run files no ingest wrote: nanosecond start times, schema version inf, an integer run id,
    categorical columns, integer samples."""
    import pandas as pd

    source = pd.read_parquet(store / "runs" / f"{RUN_IDS[2]}.parquet")
    variants = {
        "hand-ns": lambda f: f.assign(started_at=pd.Timestamp("2026-11-27T00:30:00.123456789Z").as_unit("ns")),
        "hand-inf": lambda f: f.assign(schema_version=float("inf")),
        "hand-cat": lambda f: f.astype({"status": "category", "suite": "category", "case": "category"}),
        "hand-int": lambda f: f.assign(samples_s=[[1, 2, 3]] * len(f)),
    }
    for run_id, change in variants.items():
        change(source.assign(run_id=run_id)).to_parquet(store / "runs" / f"{run_id}.parquet", index=False)
    frame = source.assign(run_id=12345)
    frame.to_parquet(store / "runs" / "12345.parquet", index=False)


def _newer(store: Path, outside: Path) -> None:
    import pandas as pd

    frame = pd.read_parquet(store / "runs" / f"{RUN_IDS[2]}.parquet")
    frame.assign(run_id="from-the-future", schema_version=99).to_parquet(
        store / "runs" / "from-the-future.parquet", index=False
    )


def _bad_run_files(store: Path, outside: Path) -> None:
    (store / "runs" / "garbage.parquet").write_bytes(b"PAR1 not really")
    (store / "runs" / "folder.parquet").mkdir()


def _quarantine_link(store: Path, outside: Path) -> None:
    _bad_run_files(store, outside)
    _link(store, outside, "quarantine")


def _quarantine_file(store: Path, outside: Path) -> None:
    (store / "runs" / "garbage.parquet").write_bytes(b"PAR1 not really")
    (store / "quarantine").write_text("a plain file")


def _index_file(store: Path, outside: Path) -> None:
    shutil.rmtree(store / "index")
    (store / "index").write_text("a plain file")


def _cache_file_links(store: Path, outside: Path) -> None:
    (outside / "runs.parquet").write_bytes((store / "index" / "runs.parquet").read_bytes())
    (store / "index" / "runs.parquet").unlink()
    (store / "index" / "runs.parquet").symlink_to(outside / "runs.parquet")
    _link(store, outside, "cache/changepoints")


def _devices(store: Path, outside: Path) -> None:
    """A FIFO and /dev/zero where caches are: never read into memory, never blocked on."""
    (store / "index" / "runs.parquet").unlink()
    os.mkfifo(store / "index" / "runs.parquet")
    (store / "cache" / "night_marks.json").unlink()
    (store / "cache" / "night_marks.json").symlink_to("/dev/zero")


def _read_only(store: Path, outside: Path) -> None:
    _freeze(store, True)


def _freeze(store: Path, on: bool) -> None:
    """Read-only: chmod for users, the immutable attribute for root (which ignores modes)."""
    if os.geteuid() != 0:
        for path in [store, *store.rglob("*")]:
            if path.is_dir() and not path.is_symlink():
                mode = path.stat().st_mode
                path.chmod(mode & ~0o222 if on else mode | 0o200)
        return
    for path in [store, *(p for p in store.rglob("*") if p.is_dir() and not p.is_symlink())]:
        subprocess.run(["chattr", "+i" if on else "-i", str(path)], check=False, capture_output=True)


SCENARIOS: dict[str, tuple[Callable[[Path, Path], None] | None, bool | set[str]]] = {
    # name: (corruption, readers must succeed (the damage is to caches only), or the commands that may fail)
    "clean": (None, True),
    "index-link": (lambda s, o: _link(s, o, "index"), True),
    "figures-link": (lambda s, o: _link(s, o, "index/figures"), True),
    "cache-link": (lambda s, o: _link(s, o, "cache"), True),
    "cache-file-links": (_cache_file_links, True),
    "index-plain-file": (_index_file, True),
    "caches-corrupt": (_corrupt_caches, True),
    "caches-foreign": (_foreign_caches, True),
    "segments-without-files": (_rewrite_segment_without_files, True),
    "cache-devices": (_devices, True),
    "bad-verdicts": (_bad_verdicts, True),
    "read-only": (_read_only, {"plot"}),  # history and fleet draw nothing and say so; plot says --out
    "edited-in-place": (_edit_in_place, False),
    "hand-made-files": (_hand_made, False),
    "bad-run-files": (_bad_run_files, False),
    "quarantine-link": (_quarantine_link, False),
    "quarantine-file": (_quarantine_file, False),
    "newer-schema": (_newer, False),
}


def readers(store: Path, readings: Path) -> list[list[str]]:
    where = ["--results", str(store)]
    return [
        ["store", "check", *where],
        ["history", *where],
        ["history", "--case", "****X", *where],
        ["compare", A, B, *where],
        ["fleet", "--min-peers", "1", *where],
        ["doctor", "--readings", str(readings), *where],
        ["plot", *where],
        ["store", "check", "--quarantine", *where],
    ]


# --- running one reader, watched ----------------------------------------------------------------


def listing(folders: list[Path]) -> dict[str, tuple]:
    """Every entry under ``folders`` (links not followed) with its type, size and modification time."""
    found = {}
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            for name in dirs + files:
                path = os.path.join(root, name)
                info = os.lstat(path)
                found[path] = (stat.S_IFMT(info.st_mode), info.st_size, info.st_mtime_ns)
    return found


def run_forked(argv: list[str], cwd: Path, home: Path, timeout: float) -> tuple[int | None, str, float]:
    """(exit status or None when killed for its time, stderr, seconds) of ``gpubench ARGV`` in a fork."""
    err_path = cwd.parent / "stderr.txt"
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 3
        try:
            os.setsid()
            os.chdir(cwd)
            os.environ["HOME"] = str(home)
            with open(os.devnull, "w") as null, open(err_path, "w") as err:
                os.dup2(null.fileno(), 1)
                os.dup2(err.fileno(), 2)
                sys.stdout, sys.stderr = os.fdopen(1, "w", closefd=False), os.fdopen(2, "w", closefd=False)
                from gpubench.cli import main

                code = main(argv)
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 2
        except BaseException:
            traceback.print_exc()
            code = 3
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os._exit(code if isinstance(code, int) else 3)
    status = None
    while time.monotonic() - started < timeout:
        done, wait_status = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(wait_status)
            break
        time.sleep(0.02)
    if status is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    seconds = time.monotonic() - started
    return status, err_path.read_text(errors="replace") if err_path.exists() else "", seconds


def probe(name: str, base: Path, work: Path, timeout: float) -> tuple[list[str], float]:
    corruption, must_succeed = SCENARIOS[name]
    scenario = work / name
    store, outside, cwd, home = (scenario / part for part in ("store", "outside", "cwd", "home"))
    shutil.copytree(base, store, symlinks=True)
    for folder in (outside, cwd, home):
        folder.mkdir(parents=True)
    readings = outside / "readings.json"
    readings.write_text(json.dumps({"format": 1, "source": "probe", "torch": {"version": "2"}, "gpus": []}))
    if corruption is not None:
        _forked(corruption, store, outside)
    problems, slowest = [], 0.0
    try:
        for argv in readers(store, readings):
            before = listing([outside, cwd, home])
            status, err, seconds = run_forked(argv, cwd, home, timeout)
            slowest = max(slowest, seconds)
            if os.environ.get("STORE_PROBE_VERBOSE"):
                print(f"{name}: {argv[0]} {argv[1]}: exit {status}, {seconds:.2f} s", file=sys.stderr)
            after = listing([outside, cwd, home])
            what = f"{name}: gpubench {' '.join(argv[:-2])}"
            if status is None:
                problems.append(f"{what}: still running after {timeout:.0f} s (killed)")
            elif "Traceback" in err or status not in (0, 1, 2):
                last = [line for line in err.splitlines() if line.strip()][-1:] or [""]
                problems.append(f"{what}: traceback (exit {status}): {last[0][:200]}")
            elif status == 2 and not (err.count("gpubench: error:") == 1 and err.rstrip("\n").splitlines()[-1]
                                      .startswith("gpubench: error:")):  # fmt: skip
                problems.append(f"{what}: exit 2 without one error line: {err[:200]!r}")
            elif status == 2 and _must_succeed(must_succeed, argv) and "no measured case matches" not in err:
                problems.append(f"{what}: exit 2 over a damaged cache: {err.strip()[:200]}")
            changed = sorted(set(before.items()) ^ set(after.items()))
            if changed:
                paths = sorted({path for path, _ in changed})
                problems.append(f"{what}: wrote outside the store: {', '.join(paths[:3])}")
    finally:
        if name == "read-only":
            _freeze(store, False)
    return problems, slowest


def _must_succeed(rule: bool | set[str], argv: list[str]) -> bool:
    return rule if isinstance(rule, bool) else argv[0] not in rule


def _forked(function: Callable[..., None], *args: Path) -> None:
    """Run ``function`` in a child (the parent never starts pyarrow's threads before forking)."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            function(*args)
        except BaseException:
            traceback.print_exc()
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"store_probe: {getattr(function, '__name__', function)} failed")


def _in_workers(names: list[str], base: Path, work: Path, timeout: float, jobs: int) -> tuple[list[str], float]:
    """The scenarios shared among ``jobs`` forked workers (each scenario has folders of its own)."""
    children = []
    for worker in range(min(jobs, len(names))):
        out = work / f"worker-{worker}.json"
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                found, slowest = [], 0.0
                for name in names[worker::jobs]:
                    problems, seconds = probe(name, base, work, timeout)
                    found += problems
                    slowest = max(slowest, seconds)
                out.write_text(json.dumps({"problems": found, "slowest": slowest}))
            except BaseException:
                traceback.print_exc()
                code = 1
            os._exit(code)
        children.append((pid, out))
    problems, slowest = [], 0.0
    for pid, out in children:
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) or not out.exists():
            problems.append(f"a probe worker failed (exit {os.waitstatus_to_exitcode(status)})")
            continue
        result = json.loads(out.read_text())
        problems += result["problems"]
        slowest = max(slowest, result["slowest"])
    return problems, slowest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(SCENARIOS), help="these scenarios only")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a reader may take (default: 10)")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    parser.add_argument("--jobs", type=int, default=2, help="scenarios probed at once (default: 2)")
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot
    import pandas  # noqa: F401
    import pyarrow.dataset
    import pyarrow.parquet  # noqa: F401

    import gpubench.cli  # noqa: F401

    for module in (
        "scipy.stats",
        "ruptures",
        "gpubench.analysis.compare",
        "gpubench.analysis.fleet",
        "gpubench.analysis.changepoints.cases",
        "gpubench.views.figures.run",
        "gpubench.views.figures.history",
        "gpubench.views.figures.fleet",
        "gpubench.suites.copy.plot",
        "gpubench.doctor",
        "gpubench.store",
    ):
        with contextlib.suppress(ImportError):
            importlib.import_module(module)

    work = args.keep or Path(tempfile.mkdtemp(prefix="gpubench-probe-"))
    started = time.monotonic()
    try:
        base = work / "base" / "store"
        _forked(build, base, work / "base" / "documents")
        names = list(args.only or SCENARIOS)
        problems, slowest = _in_workers(names, base, work, args.timeout, max(1, args.jobs))
        for line in problems:
            print(f"problem: {line}")
        scenarios = len(args.only or SCENARIOS)
        print(
            f"store_probe: {scenarios} scenario(s), {len(problems)} problem(s); slowest reader {slowest:.1f} s; "
            f"{time.monotonic() - started:.1f} s in all"
        )
        return 1 if problems else 0
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
