"""The site in a real browser: Debian's chromium, driven by Playwright, from file:// with no network.

Built once from the committed runs plus a synthetic fleet with one injected step (site_support).
Checks: the overview shows every machine and its status; charts are drawn; clicking the regressed
case leads to its page with the change point and its attribution; no request leaves file://; the
console shows no error; hostile names render as text. Screenshots go to the test's tmp dir. It
takes about 20 s (building the site: change points of 250 histories, then chromium).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from site_support import HOSTILE_CASE, HOSTILE_HOST, NOW, STEP_MACHINE, site_store

from gpubench.views.site import paths
from gpubench.views.site.build import build_site

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need playwright (the test extra)")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    results = site_store(folder / "results")
    build_site(results, folder / "site", now=NOW)
    return folder / "site"


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A page that records every request not to file:// (and aborts it) and every console error."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.outside, page.errors = [], []

    def route(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            page.outside.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


def test_overview_shows_every_machine_and_status(site, page, tmp_path):
    page.goto((site / "index.html").as_uri())
    rows = page.locator("table.grid tbody tr")
    machines = {"gpu-node01", "gpu-node02", "gpu-node03", HOSTILE_HOST, "vm"}
    assert rows.count() == len(machines)
    hosts = {rows.nth(i).locator(".host").inner_text() for i in range(rows.count())}
    assert hosts == machines  # the hostile host name is shown as text, not as markup
    statuses = page.locator("table.grid [data-status]").evaluate_all("nodes => nodes.map(n => n.dataset.status)")
    assert len(statuses) == len(machines) * 3  # allreduce, conv, copy
    step_row = rows.filter(has_text="gpu-node01")
    assert step_row.locator('[data-status="regression"]').count() == 1
    assert rows.filter(has_text="vm").locator(".badge.stale").count() == 1  # committed runs: days old
    assert page.locator("#regressions tbody tr").count() == 5
    assert "torch_version 2.13.0+cu128 -> 2.14.0+cu128" in page.locator("#changepoints").inner_text()
    timing = page.evaluate("() => performance.timing.loadEventEnd - performance.timing.navigationStart")
    assert timing > 0  # the load event fired (its time is measured by scripts/site_scale.py, not judged here)
    page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
    assert not page.outside and not page.errors, (page.outside, page.errors)


def test_clicking_the_regressed_case_shows_its_change_point(site, page, tmp_path):
    page.goto((site / "index.html").as_uri())
    page.locator("#regressions a.regressed").first.click()
    page.wait_for_load_state("load")
    assert "/cases/" in page.url
    page.wait_for_selector("#chart .main-svg")
    assert page.locator("#chart .scatterlayer .trace").count() >= 3  # band, median, regression nights
    annotations = page.locator("#chart .annotation-text").evaluate_all("nodes => nodes.map(n => n.textContent)")
    assert any("torch_version 2.13.0+cu128 -> 2.14.0+cu128" in text for text in annotations), annotations
    attribution = page.locator("#changepoints .attribution").all_inner_texts()
    assert len(attribution) == 1 and "torch_version 2.13.0+cu128 -> 2.14.0+cu128" in attribution[0]
    assert page.locator("#nights tbody tr.regression").count() == 5
    point = page.locator("#chart .scatterlayer .trace").nth(1).locator(".points path").last.bounding_box()
    page.mouse.move(point["x"] + point["width"] / 2, point["y"] + point["height"] / 2)  # hover the latest run
    page.wait_for_selector("#chart .hoverlayer .hovertext")
    hover = page.locator("#chart .hoverlayer .hovertext").first.evaluate("node => node.textContent")
    assert "run 20261130T020000Z-site00" in hover and "commit c0130abcdef" in hover and "median" in hover, hover
    drawn = page.locator("#chart .scatterlayer .trace").count()
    page.check("#peers-toggle")  # peers on demand: three more machines of the GPU model
    page.wait_for_function(f"document.querySelectorAll('#chart .scatterlayer .trace').length >= {drawn + 3}")
    page.screenshot(path=str(tmp_path / "case.png"), full_page=True)
    assert not page.outside and not page.errors, (page.outside, page.errors)


def test_hostile_names_render_as_text(site, page):
    machine = f"NVIDIA H100 80GB HBM3 @ {HOSTILE_HOST}"
    page.goto((site / paths.case_page(machine, "copy", HOSTILE_CASE)).as_uri())
    page.wait_for_selector("#chart .main-svg")
    assert page.evaluate("() => window.__pwned === undefined")
    assert page.locator("h1").inner_text() == f"{HOSTILE_CASE} on {machine}"
    assert page.locator("h1 b, h1 script, .host b").count() == 0
    page.goto((site / paths.machine_page(machine)).as_uri())
    assert page.evaluate("() => window.__pwned === undefined")
    assert page.get_by_text(HOSTILE_CASE, exact=True).count() == 1
    assert not page.outside and not page.errors, (page.outside, page.errors)


def test_every_page_kind_loads_without_errors(site, page):
    pages = ["fleet.html", "verify.html", paths.machine_page(STEP_MACHINE)]
    pages.append(next(path.relative_to(site).as_posix() for path in sorted((site / "runs").glob("*.html"))))
    for path in pages:
        page.goto((site / path).as_uri())
        page.wait_for_load_state("load")
    page.goto((site / "fleet.html").as_uri())
    page.wait_for_selector("[data-strip] .main-svg")  # the fleet's strip chart is drawn
    assert not page.outside and not page.errors, (page.outside, page.errors)
