"""The nightly against damaged side files and without its rerun: it measures, judges, reports and
writes its verdicts; it never claims a confirmation it did not make.

Classes 7 (the live nightly part) and 16 (``--no-confirm``) of issue 17.
"""

from __future__ import annotations

import json
from pathlib import Path

from test_nightly_verdicts import CASE, recorded_nights  # noqa: F401  the fixture: three nights, a slower today

from gpubench.analysis.baseline import night_marks
from gpubench.nightly import job as nightly_module
from gpubench.pipeline import RunRequest


def test_a_bad_verdicts_file_of_another_night_does_not_stop_the_nightly(recorded_nights: Path, capsys) -> None:  # noqa: F811
    bad = recorded_nights / "nightly" / "broken-night" / "verdicts.json"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(bytes(range(128, 256)))
    night = nightly_module.nightly(recorded_nights, RunRequest(suites=("copy",)), threshold=0.05)
    assert night.status == "regression"
    today = recorded_nights / "nightly" / "today"
    assert (today / "report.html").exists() and (today / "verdicts.json").exists()
    assert str(bad) in capsys.readouterr().err


def test_no_confirm_claims_no_confirmation(recorded_nights: Path) -> None:  # noqa: F811
    night = nightly_module.nightly(recorded_nights, RunRequest(suites=("copy",)), threshold=0.05, confirm=False)
    assert night.rerun_id is None and [case.case for case in night.regressions] == [CASE]
    assert not any("confirmed by a rerun" in line for line in night.lines), night.lines
    verdicts = json.loads((recorded_nights / "nightly" / "today" / "verdicts.json").read_text())
    assert verdicts["rerun_id"] is None
    assert [(c["case"], c["confirmed"]) for c in verdicts["cases"] if c["verdict"] == "slower"] == [(CASE, None)]
    assert night_marks(recorded_nights) == {("today", CASE): "regression"}  # still kept out of baselines
