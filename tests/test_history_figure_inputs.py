"""History figures are drawn again only when what they show changed (``files.figure_inputs``)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PIL import Image
from store_runs import REPO, copy_run

from gpubench import store
from gpubench.analysis.history import HISTORY_COLUMNS, case_history
from gpubench.files import figure_inputs
from gpubench.files.safe import UnsafePathError
from gpubench.views.figures import history as figures

CASE = "copy[direction=h2h,host_memory=pageable,bytes=4096]"


@pytest.fixture
def history_and_runs(tmp_path):
    for day in range(1, 7):
        store.write_run(copy_run(f"n{day}", f"2026-11-{day:02d}T02:00:00", seed=day), tmp_path / "store")
    frame = store.read_results(tmp_path / "store", status="ok", columns=HISTORY_COLUMNS)
    return case_history(frame, CASE), store.list_runs(tmp_path / "store")


@pytest.fixture
def drawn(monkeypatch) -> list[str]:
    """The figures drawn (not found up to date), by file name."""
    names: list[str] = []
    real = figures._figure

    def spy(rows, machine, suite, out, name, *rest):
        names.append(name)
        return real(rows, machine, suite, out, name, *rest)

    monkeypatch.setattr(figures, "_figure", spy)
    return names


def test_a_figure_of_the_same_inputs_is_returned_as_it_is(tmp_path, history_and_runs, drawn):
    history, runs = history_and_runs
    [path] = figures.plot_history(history, tmp_path / "png", environment=runs)
    assert drawn == [path.name] and figure_inputs.drawn_from(path)
    before = os.stat(path)
    assert figures.plot_history(history, tmp_path / "png", environment=runs) == [path]
    assert drawn == [path.name]  # not drawn again
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_other_rows_marks_or_code_draw_it_again(tmp_path, history_and_runs, drawn, monkeypatch):
    history, runs = history_and_runs
    out = tmp_path / "png"
    figures.plot_history(history, out, environment=runs)
    changed = history.copy()
    changed.loc[changed.index[-1], "value"] *= 0.5  # one run's figure
    figures.plot_history(changed, out, environment=runs)
    figures.plot_history(changed, out, environment=runs, highlight_run="n3")
    points = [{"run_id": "n4", "started_at": "2026-11-04T02:00:00+00:00", "ratio": 1.2, "case": CASE}]
    figures.plot_history(changed, out, environment=runs, highlight_run="n3", change_points=points)
    assert len(drawn) == 4
    code = tmp_path / "drawing.py"
    code.write_text("v1")
    monkeypatch.setattr(figures, "DRAWING_CODE", (*figures.DRAWING_CODE, str(code)))
    figures.plot_history(history, out, environment=runs)
    figures.plot_history(history, out, environment=runs)
    code.write_text("v2")  # the drawing code changed
    figures.plot_history(history, out, environment=runs)
    assert len(drawn) == 6
    code.unlink()  # sources that cannot be read: every figure is drawn
    figures.plot_history(history, out, environment=runs)
    figures.plot_history(history, out, environment=runs)
    assert len(drawn) == 8


def test_a_figure_replaced_by_hand_or_a_link_is_not_taken_for_ours(tmp_path, history_and_runs, drawn):
    history, runs = history_and_runs
    out = tmp_path / "png"
    [path] = figures.plot_history(history, out, environment=runs)
    drawn_figure = tmp_path / "kept.png"
    kept = path.read_bytes()
    drawn_figure.write_bytes(kept)
    Image.new("RGB", (4, 4)).save(path)  # a PNG without the digest
    figures.plot_history(history, out, environment=runs)
    path.write_bytes(b"\x89PNG\r\n\x1a\n not a png")
    figures.plot_history(history, out, environment=runs)
    assert len(drawn) == 3 and figure_inputs.drawn_from(path)
    path.unlink()
    path.symlink_to(drawn_figure)  # a planted link to a figure that would be up to date
    with pytest.raises(UnsafePathError):
        figures.plot_history(history, out, environment=runs)
    assert drawn_figure.read_bytes() == kept and path.is_symlink()  # nothing written through it


def test_history_asked_again_of_an_unchanged_store_imports_no_matplotlib(tmp_path, history_and_runs):
    results, out = tmp_path / "store", tmp_path / "png"
    arguments = ["history", "--case", CASE, "--machine", "vm", "--results", str(results), "--out", str(out)]
    code = f"import sys\nfrom gpubench.cli import main\nmain({arguments!r})\n"
    code += "print('matplotlib' in sys.modules, file=sys.stderr)"
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"}
    imported = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env)
        assert done.returncode == 0, done.stderr
        imported.append(done.stderr.strip().splitlines()[-1])
    assert imported == ["True", "False"]
    assert [path.name for path in out.iterdir()] == ["history_no_GPU_vm_copy.png"]
