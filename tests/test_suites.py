"""The suite registry: what each view takes from it, and the generic view of a suite it does not know."""

from __future__ import annotations

import pandas as pd

from gpubench import suites
from gpubench.views.figures import plot_run
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
