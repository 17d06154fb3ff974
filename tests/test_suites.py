"""The suite registry: what each view takes from it, and the generic view of a suite it does not know."""

from __future__ import annotations

import pandas as pd

from gpubench import suites
from gpubench.views.figures.run import plot_run
from gpubench.views.tables import summary


def test_every_registered_suite_resolves_what_it_names():
    for suite in suites.SUITES.values():
        assert callable(suite.case_module().measure) and callable(suite.case_module().configs)
        assert all(callable(plotter) for plotter in suite.plotters())
        assert suite.doctor() is None or callable(suite.doctor())
        assert suite.headline == "median_s" or suite.headline in {column.key for column in suite.columns}


def test_headline_is_the_suites_own_or_the_median():
    assert suites.headline_metric("copy", ["median_s", "gbps", "busbw_gbps"]) == "gbps"
    assert suites.headline_metric("copy", ["median_s", "busbw_gbps"]) == "median_s"  # not copy's figure
    assert suites.headline_metric("conv", ["tflops", "gbps"]) == "tflops"


def test_a_suite_the_registry_does_not_know_gets_the_generic_view(tmp_path):
    assert suites.headline_metric("someone_elses", ["tflops", "gbps"]) == "gbps"
    assert suites.headline_metric("someone_elses", ["median_s"]) == "median_s"
    assert suites.columns("someone_elses") == suites.GENERIC_COLUMNS
    frame = pd.DataFrame(
        {"suite": ["someone_elses"], "case": ["test_sum[200]"], "status": ["ok"], "median_s": [2e-6]}
        | {"iqr_s": [1e-7], "rounds": [20]}
    )
    assert summary(frame).splitlines() == [
        "# someone_elses",
        "#          case  median (us)  IQR (us)   n",
        "  test_sum[200]         2.00      0.10  20",
    ]
    assert plot_run(frame, tmp_path) == []


NEW_SUITE = {
    "__init__.py": '''"""A suite added as one folder: nothing outside it names it."""
from gpubench.suites import Column, Suite

POSITION = 40
SUITES = (
    Suite(
        name="demo",
        title="a demo suite",
        case="gpubench.suites.demo.case",
        columns=(Column("n", "n (elts)"), Column("gbps", "GB/s", "{:.2f}")),
        headline="gbps",
        plot="gpubench.suites.demo.case:plot",
        doctor_rules="gpubench.suites.demo.case:rules",
        verify=(("demo", "gpubench.suites.demo.case:pairs"),),
    ),
)
''',
    "case.py": """from gpubench.machine.findings import Finding


def configs(profile):
    return [4, 8]


def measure(config):
    raise NotImplementedError


def plot(frame, out_dir):
    return []


def rules(frame, run):
    return [Finding("info", "results", f"{run}: demo judged", "nothing to do")]


def pairs():
    return []
""",
}
PROBE = """
import pandas as pd
from gpubench import suites
from gpubench.doctor.results import judge_run
from gpubench.views.tables import summary
names = list(suites.SUITES)
print(names.index("all_to_all") < names.index("demo") < names.index("verify"))
print(suites.verify_checks()["demo"])
frame = pd.DataFrame({"run_id": ["r"], "suite": ["demo"], "case": ["demo[n=4]"], "status": ["ok"],
                      "median_s": [1e-6], "n": [4], "gbps": [3.5], "iqr_s": [0.0], "rounds": [5]})
print(summary(frame).splitlines()[1].split())
print([finding.message for finding in judge_run(frame)])
"""


def test_a_new_suite_is_one_folder(tmp_path):
    """A suite with a table, a plot, doctor rules and a verify check, written only under suites/demo/,
    is listed, tabled, judged and verified: no other file of gpubench names it."""
    import shutil
    import subprocess
    import sys

    from support import REPO

    source = tmp_path / "src"
    shutil.copytree(REPO / "src" / "gpubench", source / "gpubench", ignore=shutil.ignore_patterns("__pycache__"))
    (source / "gpubench" / "suites" / "demo").mkdir()
    for name, text in NEW_SUITE.items():
        (source / "gpubench" / "suites" / "demo" / name).write_text(text)
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env={"PYTHONPATH": str(source)}, check=False
    )
    assert done.returncode == 0, done.stderr
    positioned, verify, headings, findings = done.stdout.splitlines()
    assert positioned == "True"  # POSITION 40: after the collectives (30), before verify (90)
    assert verify == "gpubench.suites.demo.case:pairs"
    assert headings == "['#', 'n', '(elts)', 'GB/s', 'IQR', '(us)', 'n']"  # its columns, then IQR and count
    assert findings == "['run r: demo judged']"
