"""The progress display: short plain output in a log, a live bar on a terminal, pytest's lines with -v."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
import threading
from pathlib import Path

from support import cli

from gpubench.measure import progress_events
from gpubench.run.case_times import previous_times, save_times
from gpubench.views.progress import PlainRenderer, Progress

ROOT = Path(__file__).resolve().parents[1]
TRIMMED = ("--suite", "copy", "allreduce", "--", "-k", "h2h-pageable-4096 or h2h-pageable-65536 or allreduce")


def _before_tables(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    first_table = next(i for i, line in enumerate(lines) if line.startswith("# "))
    return lines[:first_table]


def test_default_output_in_a_log_is_short_and_plain(tmp_path):
    done = cli("run", *TRIMMED[:3], "--results", str(tmp_path / "r"), *TRIMMED[3:])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    head = _before_tables(done.stdout)
    assert 2 <= len(head) <= 30, head
    assert "\x1b" not in done.stdout
    assert not [line for line in done.stdout.splitlines() if "::" in line and ("PASSED" in line or "SKIPPED" in line)]
    assert any(line.startswith("copy: 2/2 cases, 2 measured, 0 skipped, 0 failed") for line in head), head
    assert any(line.startswith("allreduce: ") for line in head), head
    assert "log:" in done.stdout and "next:" in done.stdout and "gpubench compare" not in done.stdout
    # The second run estimates from the first and names the compare command.
    again = cli("run", "--suite", "copy", "--results", str(tmp_path / "r"), "--", "-k", "h2h-pageable-4096")
    assert "(from this machine's last run)" in again.stdout
    assert "gpubench compare " in again.stdout


def test_verbose_gives_pytest_lines_and_quiet_only_tables(tmp_path):
    loud = cli("run", "-v", "--suite", "copy", "--results", str(tmp_path / "r"), "--", "-k", "h2h-pageable-4096")
    assert loud.returncode == 0, loud.stderr[-3000:]
    assert "test_copy.py::test_copy[h2h-pageable-4096] PASSED" in loud.stdout
    quiet = cli("run", "-q", "--suite", "copy", "--results", str(tmp_path / "r"), "--", "-k", "h2h-pageable-4096")
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert quiet.stdout.startswith("# copy"), quiet.stdout[:500]
    assert "next:" not in quiet.stdout


def test_a_bar_appears_and_updates_on_a_terminal(tmp_path):
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "gpubench", "run", "--suite", "copy", "--results", str(tmp_path / "r")]
    process = subprocess.Popen(
        [*command, "--", "-k", "h2h-pageable-4096 or h2h-pageable-65536 or 1048576"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 600)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=60) == 0
    text = b"".join(chunks).decode(errors="replace")
    assert "\x1b[" in text  # redrawn in place
    assert "━" in text  # rich's bar
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    shown = {(int(done), int(total)) for done, total in re.findall(r"━ (\d+)/(\d+) ", plain)}
    (total,) = {total for _, total in shown}
    assert {(0, total), (1, total), (total, total)} <= shown  # drawn at the start, after a case, at the end
    final = re.findall(rf"━ {total}/{total} +(\d+) measured, (\d+) skipped, 0 failed", plain)
    assert final and sum(map(int, final[-1])) == total


def test_plain_lines_and_estimates_with_a_fake_clock():
    now = [0.0]
    out = io.StringIO()
    progress = Progress(PlainRenderer(out), clock=lambda: now[0])
    progress.plan([("a", ["a1", "a2"]), ("b", ["b1", "b2", "b3"])], previous={"b1": 10.0, "b2": 20.0, "b3": 30.0})
    assert progress.remaining(progress.suites["a"]) == (40.0, "the case count")  # history's mean per case
    now[0] = 4.0
    progress.case_done("a", "a1", "measured")
    assert progress.remaining(progress.suites["a"]) == (4.0, "the case count")
    progress.case_done("a", "a2", "skipped", "no GPU")
    assert progress.remaining(progress.suites["b"]) == (60.0, "this machine's last run")
    progress.case_done("b", "b1", "failed", "boom")
    assert progress.remaining(progress.suites["b"]) == (50.0, "this machine's last run")
    progress.case_done("b", "b2", "measured")
    progress.case_done("b", "b3", "measured")
    progress.close()
    assert out.getvalue().splitlines() == [
        "a: 2 cases; about 40 s left (from the case count)",
        "a: 2/2 cases, 1 measured, 1 skipped, 0 failed, 4 s",
        "b: 3 cases; about 1 min 00 s left (from this machine's last run)",
        "  FAILED b1: boom",
        "b: 3/3 cases, 2 measured, 0 skipped, 1 failed, 0 s",
    ]


def test_case_times_merge_and_survive_damage(tmp_path):
    assert previous_times(tmp_path, "no GPU @ host") == {}
    save_times(tmp_path, "no GPU @ host", {"x": 1.5})
    save_times(tmp_path, "no GPU @ host", {"y": 2.0})
    assert previous_times(tmp_path, "no GPU @ host") == {"x": 1.5, "y": 2.0}
    assert previous_times(tmp_path, "other @ host") == {}
    (tmp_path / "progress" / "no_GPU_host.json").write_text("{not json")
    assert previous_times(tmp_path, "no GPU @ host") == {}


def test_the_nightly_log_is_readable(tmp_path):
    done = cli("nightly", "--suite", "copy", "--results", str(tmp_path / "r"), "--", "-k", "h2h-pageable-4096")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "\x1b" not in done.stdout + done.stderr
    head = _before_tables(done.stdout)
    assert head == ["copy: 1 case; time left: not known yet", head[1]] and head[1].startswith("copy: 1/1 case, 1 ")
    assert "nightly first night: report" in done.stdout and "next:" in done.stdout


def test_a_whole_runs_plan_reaches_the_display_however_many_cases(monkeypatch):
    """The quick profile plans over 600 cases: far over one pipe write (PIPE_BUF). The plan must
    arrive whole, or the display counts each suite as one case (as it did before it went by file)."""
    cases = [["copy", f"benchmarks/test_copy.py::test_copy[h2h-pageable-{4096 * n}-{n}]"] for n in range(700)]
    received, done = [], threading.Event()

    def handler(event):
        received.append(event)
        if event.get("event") == "case":
            done.set()

    with progress_events.listen(handler) as env:
        monkeypatch.setenv(progress_events.ENV, env[progress_events.ENV])
        progress_events.emit("collected", cases=cases)
        progress_events.emit("case", nodeid=cases[0][1])
        assert done.wait(10)
        left = sorted(p.name for p in Path(env[progress_events.ENV]).parent.iterdir())
    assert [event["event"] for event in received] == ["collected", "case"]
    assert received[0]["cases"] == cases
    assert left == ["events"]  # the plan's file is removed once read
