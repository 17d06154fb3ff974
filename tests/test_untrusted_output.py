"""What gpubench prints from data it does not control: markdown stays text, JSON stays strict, figures draw.

Output built from data: markdown and figure text escaped, strict JSON, thresholds.
"""

from __future__ import annotations

import json
import math
import re

import pytest
from untrusted_support import bench, document, one_error_line, run_cli, write_json

from gpubench.analysis.rules import parse_threshold
from gpubench.files import strict_json
from gpubench.views import markdown_text
from gpubench.views.report import Report

INJECTED_CASE = "test_x\n# INJECTED HEADING\n| x | y |"
HOSTILE_HOST = "node<img src=x onerror=alert(1)>\n## host heading"


def _strict_loads(text: str):
    def refuse(constant: str):
        raise AssertionError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def _pipes(line: str) -> int:
    """Cell borders in a markdown table line: pipes not escaped."""
    return len(re.findall(r"(?<!\\)\|", line))


def _pair(tmp_path, **kwargs):
    base = write_json(document(bench(INJECTED_CASE, 1e-3, **kwargs), run_id="base"), tmp_path / "base.json")
    cand = document(bench(INJECTED_CASE, 1.2e-3, **kwargs), run_id="cand", hostname=HOSTILE_HOST)
    return base, write_json(cand, tmp_path / "cand.json")


def test_compare_markdown_keeps_data_as_text(tmp_path):
    base, cand = _pair(tmp_path)
    status, out, err = run_cli("compare", str(base), str(cand), "--format", "markdown")
    assert status in (0, 1), err
    lines = out.splitlines()
    assert not any(line.lstrip().startswith("#") for line in lines), out  # no heading injected
    assert "<img" not in out and "&lt;img" in out  # raw HTML escaped in the header lines
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 3  # heading, rule, one case: the newline did not split the row
    assert len({_pipes(line) for line in table}) == 1, table  # every row has as many cells as the heading


def test_report_markdown_keeps_data_as_text(tmp_path):
    report = Report(f"nightly on {HOSTILE_HOST}")
    report.heading(f"History on {HOSTILE_HOST}")
    report.paragraph(f"Run on {HOSTILE_HOST}")
    report.bullets([f"slower: {INJECTED_CASE}"])
    report.table(["case", "verdict"], [[INJECTED_CASE, "slower"]])
    report.pre("```\n# not a heading\n```")
    text = report.to_markdown(tmp_path)
    outside_code = text.split("````")[0]
    headings = [line for line in outside_code.splitlines() if line.startswith("#")]
    assert len(headings) == 2, headings  # the title and the one heading; nothing injected
    assert "<img" not in text
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert len(table) == 3 and _pipes(table[0]) == _pipes(table[2]) == 3, table
    assert "\n````\n```\n# not a heading\n```\n````" in text  # a fence the data cannot close


def test_markdown_helpers():
    assert markdown_text.cell("a|b\nc") == "a\\|b c"
    assert markdown_text.inline("<b>&") == "&lt;b&gt;&amp;"
    assert markdown_text.code_block("x").startswith("```\n")


def test_compare_json_is_strict_without_samples(tmp_path):
    """No raw samples: the detectable change is infinite; JSON says null, not Infinity."""
    base, cand = _pair(tmp_path, samples=[])
    status, out, err = run_cli("compare", str(base), str(cand), "--format", "json")
    assert status in (0, 1), err
    data = _strict_loads(out)
    assert data["cases"][0]["detectable"] is None


def test_strict_json_of_numpy_and_non_finite_values():
    import numpy as np

    text = strict_json.dumps({"a": np.float64("inf"), "b": [np.int64(3), math.nan], "c": np.array([1.5])})
    assert _strict_loads(text) == {"a": None, "b": [3, None], "c": [1.5]}


def test_history_draws_cases_whose_names_look_like_maths(tmp_path):
    results = tmp_path / "results"
    names = ["test_$a^^b$", "test_$\\frac$", "test_$$", "price_$5_and_$6"]
    for index, when in enumerate(("2024-05-01T12:00:00+00:00", "2024-05-02T12:00:00+00:00")):
        data = document(*[bench(name, 1e-3 * (index + 1)) for name in names], run_id=f"run-{index}", when=when)
        data["machine_info"]["node"] = "host_$x^^$"
        assert run_cli("ingest", str(write_json(data, tmp_path / "d.json")), "--results", str(results))[0] == 0
    status, out, err = run_cli("history", "--results", str(results))
    assert status == 0, err
    assert out.strip().splitlines()[-1].endswith(".png")


@pytest.mark.parametrize(("text", "value"), [("5%", 0.05), ("0.05", 0.05), (0.05, 0.05), ("0.9", 0.9), ("150%", 1.5)])
def test_threshold_accepted(text, value):
    assert parse_threshold(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["1", "5", "10", "1.0", "fast", "-5%", "0", "nan%", "inf", "0%", "2000%"])
def test_threshold_refused(text):
    with pytest.raises(ValueError) as refused:
        parse_threshold(text)
    if text in ("1", "5", "10", "1.0"):
        assert f"{text}%" in str(refused.value)  # the % form suggested


def test_threshold_one_is_refused_on_the_command_line(tmp_path):
    base, cand = _pair(tmp_path)
    status, _, err = run_cli("compare", str(base), str(cand), "--threshold", "1")
    assert status == 2 and one_error_line(err) and "1%" in err, err


def test_figures_keep_formatter_maths_and_drop_data_maths(tmp_path):
    from matplotlib.figure import Figure

    from gpubench.files.safe import save_figure

    fig = Figure()
    ax = fig.subplots()
    ax.loglog([1, 10, 100], [1, 10, 100])
    ax.set_title("case $x$")
    save_figure(fig, tmp_path, "log.png")
    assert not ax.title.get_parse_math()  # from data: plain text
    ticks = [tick.label1 for tick in ax.yaxis.get_major_ticks()]
    assert ticks and all(label.get_parse_math() for label in ticks)  # 10^k from the log formatter
