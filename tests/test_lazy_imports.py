"""Commands that only read the store never import torch: not to build the parser, not to run.
Building the parser (what every command, and ``gpubench --help``, pays first) imports none of the
heavy libraries: not pandas, pyarrow, numpy, matplotlib or scipy either.

A fresh interpreter builds the CLI's parser, then runs ingest, compare, history, plot, doctor on
recorded readings and a store, and the help of every command, and says whether torch was
imported. The store holds two small copy runs written by the real document writer.
"""

from __future__ import annotations

import json
from pathlib import Path

from support import python

from gpubench.measure.result import CaseResult
from gpubench.measure.stats import Measurement
from gpubench.run.document import benchmark_entry, dumps, run_block, run_document

DATA = Path(__file__).parent / "data" / "doctor"

PROBE = """
import contextlib, io, json, sys
from gpubench.cli import build_parser, main
from gpubench.commands import COMMANDS

HEAVY = ("torch", "pandas", "pyarrow", "numpy", "matplotlib", "scipy")
build_parser()
seen = {"parser": [name for name in HEAVY if name in sys.modules]}
commands = json.loads(sys.argv[1])
for name, argv in commands.items():
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exit:
            code = exit.code
    seen[name] = {"exit": code, "torch": "torch" in sys.modules}
print(json.dumps(seen))
"""


def copy_run(path: Path, run_id: str, seconds: float) -> Path:
    result = CaseResult(
        "copy",
        {"direction": "h2h", "host_memory": "pageable", "bytes": 4096},
        Measurement(tuple(seconds * (1 + 0.01 * i) for i in range(12)), clock="host-perf_counter"),
        metrics={"gbps": 4096 / seconds / 1e9, "latency_us": seconds * 1e6},
    )
    entry = benchmark_entry(
        result, name="test_copy[h2h]", fullname="benchmarks/test_copy.py::test_copy[h2h]", timer="t"
    )
    block = run_block(run_id, "2026-11-20T10:00:00+00:00", "quick", 1, [])
    path.write_text(dumps(run_document([entry], block, {"hostname": "here"})))
    return path


def test_store_commands_do_not_import_torch(tmp_path):
    store, out = tmp_path / "store", tmp_path / "out"
    first = copy_run(tmp_path / "first.json", "20261120T100000Z-first", 2e-6)
    second = copy_run(tmp_path / "second.json", "20261121T100000Z-second", 2e-6)
    readings = str(DATA / "cpu_only.json")
    commands = {
        "ingest": ["ingest", str(first), "--results", str(store)],
        "ingest again": ["ingest", str(second), "--results", str(store)],
        "compare": ["compare", "20261120T100000Z-first", "20261121T100000Z-second", "--results", str(store)],
        "history": ["history", "--results", str(store), "--out", str(out / "history")],
        "plot": ["plot", "--results", str(store), "--out", str(out / "plot")],
        "doctor": ["doctor", "--readings", readings, "--results", str(store), "--json"],
        **{f"{name} --help": [name, "--help"] for name in ("run", "nightly", "env", "allreduce", "doctor")},
    }
    done = python(PROBE, json.dumps(commands), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout)
    assert seen.pop("parser") == [], "building the parser imported a heavy library"
    assert {name: outcome["exit"] for name, outcome in seen.items()} == {
        **{name: 0 for name in commands},
        "doctor": 1,  # the recorded CPU-only machine has an error finding: no GPU
    }
    assert [name for name, outcome in seen.items() if outcome["torch"]] == []
