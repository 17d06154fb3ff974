"""How `gpubench site` scales: full build, rebuild after one new run, page sizes, load in chromium.

    python scripts/store_scale.py build /tmp/store-1k --runs 1000     # 1,000 runs x 443 cases
    python scripts/site_scale.py /tmp/store-1k [--out /tmp/site-1k]

Each step runs in a fresh process (``python -m gpubench.cli site``, CLI start included) and is
timed by wall clock and CPU (the development VM is shared: CPU time is what the build costs, wall
time what it took under that load, both printed with the load average). Steps:

1. the store's own caches (runs index, figures cache, change points), as any reader builds them
   once: a ``gpubench history --case`` of one case, then ``load`` of the site's data;
2. a full build into an empty folder;
3. a rebuild with nothing new (pages written: should be none but the overview's ages);
4. one new run (a copy of the newest run file, a day later, stored with ``store.write_run``), then
   a rebuild: its time and the pages it rewrote;
5. sizes: the overview without the shared assets, the largest case, run and machine pages;
6. headless chromium (Debian's, through Playwright): the overview's load event from ``file://``
   (``performance.timing.loadEventEnd - navigationStart``), median of ``--loads`` fresh loads, and
   the same for the largest case page.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"

ADD_RUN = """
import sys
import pandas as pd
from gpubench import store
from gpubench.store.read import list_runs
results = sys.argv[1]
runs = list_runs(results)
newest = runs.iloc[-1]
frame = pd.read_parquet(f"{results}/runs/{newest['run_id']}.parquet")
started = frame["started_at"].iloc[0] + pd.Timedelta(days=1)
run_id = started.strftime("%Y%m%dT%H%M%SZ") + "-5c41e0"
frame["run_id"], frame["started_at"] = run_id, started
store.write_run(frame, results)
print(run_id)
"""

WARM = """
import sys
from gpubench.views.site.data import load
load(sys.argv[1])
"""


def timed(command: list[str]) -> tuple[float, float, str]:
    """(wall s, CPU s of the child, its stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO / "src")))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout.strip()


def load_times(url: str, loads: int) -> float:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for _ in range(loads):
            context = browser.new_context()
            page = context.new_page()
            page.goto(url, wait_until="load")
            times.append(page.evaluate("() => performance.timing.loadEventEnd - performance.timing.navigationStart"))
            context.close()
        browser.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--out", type=Path, help="the site (default: <store>-site; emptied first)")
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    out = args.out or args.store.with_name(args.store.name + "-site")
    if out.exists():
        subprocess.run(["rm", "-rf", str(out)], check=True)
    site = [sys.executable, "-m", "gpubench.cli", "site", "--results", str(args.store), "--out", str(out)]
    rows = []
    print(f"store {args.store}; load average before: {os.getloadavg()}", flush=True)
    wall, cpu, _ = timed([sys.executable, "-c", WARM, str(args.store)])
    rows.append(("the store's caches and the site's data (load)", wall, cpu, ""))
    for name in ("full build", "rebuild, nothing new"):
        wall, cpu, said = timed(site)
        rows.append((name, wall, cpu, said.split(": ", 1)[-1]))
    _, _, run_id = timed([sys.executable, "-c", ADD_RUN, str(args.store)])
    wall, cpu, said = timed(site)
    rows.append((f"rebuild after one new run ({run_id}), its change points computed by the site", wall, cpu,
                 said.split(": ", 1)[-1]))  # fmt: skip
    # As `nightly --site` meets it: the night has already refreshed the caches and its change points.
    _, _, run_id = timed([sys.executable, "-c", ADD_RUN, str(args.store)])
    wall, cpu, _ = timed([sys.executable, "-c", WARM, str(args.store)])
    rows.append((f"  the night's own reading of the new run {run_id} (caches, change points)", wall, cpu, ""))
    wall, cpu, said = timed(site)
    rows.append(("rebuild after one new run, as `nightly --site` meets it", wall, cpu, said.split(": ", 1)[-1]))
    print(f"load average after: {os.getloadavg()}")
    print("| step | wall (s) | CPU (s) | pages |\n|---|---|---|---|")
    for name, wall, cpu, said in rows:
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {said} |")
    largest = {kind: max((out / kind).rglob("*.html"), key=lambda p: p.stat().st_size) for kind in
               ("cases", "runs", "machines")}  # fmt: skip
    print("\n| page | KB |\n|---|---|")
    print(f"| overview (index.html, without assets/) | {(out / 'index.html').stat().st_size / 1024:.1f} |")
    for kind, path in largest.items():
        print(f"| largest {kind[:-1]} page ({path.name[:40]}) | {path.stat().st_size / 1024:.1f} |")
    assets = sum(p.stat().st_size for p in (out / "assets").iterdir())
    print(f"| assets/ (shared, once) | {assets / 1024:.0f} |")
    if Path(CHROMIUM).exists():
        overview = load_times((out / "index.html").as_uri(), args.loads)
        case = load_times(largest["cases"].as_uri(), args.loads)
        print(f"\nchromium load event from file:// (median of {args.loads}): overview {overview:.0f} ms, "
              f"largest case page {case:.0f} ms")  # fmt: skip
    print(json.dumps({"site": str(out)}))


if __name__ == "__main__":
    main()
