"""gpubench site without a browser: pages, statuses, escaping, the feed, decimation, rebuilds.

The store is the committed runs plus a synthetic fleet with one injected step (site_support);
the site is built once per module (about 20 s: change points of 250 histories), then rebuilt.
"""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pandas as pd
import pytest
from site_support import GPU, HOSTILE_CASE, HOSTILE_HOST, NIGHTS, NOW, STEP_MACHINE, run_id, site_store, stepped_cases

from gpubench import cli, store
from gpubench.views.site import paths
from gpubench.views.site.build import MANIFEST, build_site
from gpubench.views.site.decimate import MAX_POINTS, RECENT, decimate
from gpubench.views.site.markup import data_script


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("site")
    results = site_store(folder / "results")
    build_site(results, folder / "site", now=NOW)
    return results, folder / "site"


def test_every_page_kind_is_written(built):
    results, site = built
    for name in ("index.html", "fleet.html", "verify.html", "feed.xml", "assets/plotly.min.js", "assets/site.js"):
        assert (site / name).is_file(), name
    runs = sorted(path.stem for path in (results / "runs").glob("*.parquet"))
    assert sorted(path.stem for path in (site / "runs").glob("*.html")) == runs
    assert (site / paths.machine_page(STEP_MACHINE)).is_file()
    for case in stepped_cases(results):
        assert (site / paths.case_page(STEP_MACHINE, "copy", case)).is_file()
    committed = next((site / "runs").glob("20261127T012346Z-338b7e.html")).read_text()
    assert "raw JSON" in committed and "copy_bandwidth.png" in committed  # links to the store, figures copied
    assert (site / "runs" / "20261127T012346Z-338b7e" / "copy_bandwidth.png").is_file()


def test_assets_are_linked_not_inlined(built):
    _, site = built
    plotly = (site / "assets" / "plotly.min.js").stat().st_size
    for path in site.rglob("*.html"):
        page = path.read_text()
        assert len(page) < plotly / 4, path  # no page carries the library
        assert "http://" not in page.replace('xmlns="http://www.w3.org', "") and "https://" not in page, path
        scripts = re.findall(r'<script src="([^"]+)"', page)
        assert all(src.endswith(("assets/plotly.min.js", "assets/site.js")) for src in scripts), path
        assert (
            (path.parent / scripts[0]).resolve() == (site / "assets" / "plotly.min.js").resolve() if scripts else True
        )


def test_overview_statuses(built):
    _, site = built
    page = (site / "index.html").read_text()
    row = _grid_row(page, "gpu-node01")
    assert 'data-status="regression"' in row and 'data-status="not run"' in row  # copy regressed; conv never ran
    assert 'class="badge stale"' not in row
    assert 'class="badge stale"' in _grid_row(page, ">vm<")  # the committed runs are days older than NOW
    assert _grid_row(page, "gpu-node02").count('data-status="pass"') == 1
    assert page.count('class="regressed"') == len(stepped_cases(built[0]))


def test_hostile_names_are_escaped(built):
    _, site = built
    machine = f"{GPU} @ {HOSTILE_HOST}"
    case_page = (site / paths.case_page(machine, "copy", HOSTILE_CASE)).read_text()
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in case_page
    assert "\\u003cscript\\u003ewindow" in case_page  # inside the page's JSON block
    for path in site.rglob("*.html"):
        page = path.read_text()
        assert "<script>window" not in page and "<b>node04" not in page, path


def test_data_script_cannot_be_closed_by_a_value():
    block = data_script("x", {"name": "</script><script>alert(1)</script>", "and": "&"})
    assert block.count("</script>") == 1 and block.endswith("</script>")
    assert json.loads(block.split(">", 1)[1].rsplit("<", 1)[0])["name"].startswith("</script>")


def test_feed_is_atom_with_regressions_and_change_points(built):
    results, site = built
    root = ElementTree.parse(site / "feed.xml").getroot()
    atom = "{http://www.w3.org/2005/Atom}"
    titles = [entry.findtext(f"{atom}title") for entry in root.findall(f"{atom}entry")]
    stepped = stepped_cases(results)
    assert sum(title.startswith("regression: ") for title in titles) == len(stepped)
    assert sum(title.startswith("change point: ") for title in titles) >= len(stepped)
    summaries = " ".join(entry.findtext(f"{atom}summary") for entry in root.findall(f"{atom}entry"))
    assert "torch_version 2.13.0+cu128 -&gt; 2.14.0+cu128" not in summaries  # parsed: plain text
    assert "torch_version 2.13.0+cu128 -> 2.14.0+cu128" in summaries


def test_decimate_keeps_recent_and_marked_runs():
    points = [
        {"run_id": f"r{i:04d}", "t": f"t{i}", "value": float(i % 7), "low": i - 1.0, "high": i + 1.0, "commit": "c"}
        for i in range(1000)
    ]
    shown = decimate(points, keep={"r0100", "r0101"})
    assert len(shown) <= MAX_POINTS
    assert shown[-RECENT:] == points[-RECENT:]  # the newest runs as they are
    assert {"r0100", "r0101"} <= {p["run_id"] for p in shown if "runs" not in p}
    buckets = [p for p in shown if "runs" in p]
    assert sum(p["runs"] for p in buckets) + (len(shown) - len(buckets)) == 1000  # every run is in the chart
    first = buckets[0]
    inside = points[: first["runs"]]
    assert first["low"] == min(p["low"] for p in inside) and first["high"] == max(p["high"] for p in inside)
    assert decimate(points[:50]) == points[:50]


def test_a_rebuild_rewrites_only_what_changed(built, tmp_path):
    results, site = built
    copy_results, copy_site = tmp_path / "results", tmp_path / "site"
    shutil.copytree(results, copy_results)
    shutil.copytree(site, copy_site)
    again = build_site(copy_results, copy_site, now=NOW)
    assert again.written == [] and again.removed == []
    newest = pd.read_parquet(copy_results / "runs" / f"{run_id(NIGHTS - 1, 1)}.parquet")  # gpu-node02's last
    new_id = run_id(NIGHTS, 1)
    newest["run_id"] = new_id
    newest["started_at"] = newest["started_at"] + pd.Timedelta(days=1)
    store.write_run(newest, copy_results)
    later = build_site(copy_results, copy_site, now=NOW + pd.Timedelta(days=1))
    machine = f"{GPU} @ gpu-node02"
    assert paths.run_page(new_id) in later.written and "index.html" in later.written
    assert paths.machine_page(machine) in later.written
    assert all(not path.startswith("runs/") or path == paths.run_page(new_id) for path in later.written)
    own = paths.case_page(machine, "copy", "x").rsplit("/", 1)[0]
    assert any(path.startswith(own) for path in later.written)  # its histories have one more run
    other = paths.case_page("no GPU @ vm", "copy", "x").rsplit("/", 1)[0]  # another GPU model: not its peer
    assert not any(path.startswith(other) for path in later.written)
    assert paths.machine_page("no GPU @ vm") not in later.written
    manifest = json.loads((copy_site / MANIFEST).read_text())
    assert paths.run_page(new_id) in manifest["pages"]


def test_cli_builds_and_refuses_a_missing_store(built, tmp_path, capsys):
    assert cli.main(["site", "--results", str(tmp_path / "nothing"), "--out", str(tmp_path / "s")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("gpubench: error: ") and not (tmp_path / "s").exists()
    results = tmp_path / "one"
    (results / "runs").mkdir(parents=True)
    shutil.copy(built[0] / "runs" / "20261127T002306Z-9a356c.parquet", results / "runs")
    assert cli.main(["site", "--results", str(results), "--out", str(tmp_path / "s")]) == 0
    assert "pages" in capsys.readouterr().out and (tmp_path / "s" / "index.html").is_file()


def _grid_row(page: str, needle: str) -> str:
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page.split('<table class="grid">', 1)[1].split("</table>", 1)[0])
    found = [row for row in rows if needle in row]
    assert len(found) == 1, needle
    return found[0]


def test_nightly_rebuilds_the_site(tmp_path):
    """`gpubench nightly --site DIR`: after the night (one copy case, on the host), the site is there."""
    from support import cli as run_cli

    done = run_cli("nightly", "--suite", "copy", "--results", tmp_path / "results", "--site", tmp_path / "site",
                   "--", "-k", "test_copy[h2h-pageable-4096]")  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "site " in done.stdout and (tmp_path / "site" / "index.html").is_file()
    (run_id,) = [path.name for path in (tmp_path / "results" / "nightly").iterdir()]
    page = (tmp_path / "site" / paths.run_page(run_id)).read_text()
    assert "nightly report" in page and "nightly status: first night" in page
