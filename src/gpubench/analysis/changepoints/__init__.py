"""Change points in history: for each case on each machine, the runs where its level shifted.

The method is e-divisive (Matteson and James 2014, as Apache Otava/Hunter and MongoDB's
signal-processing-algorithms use it), taken as a method, not as a package: ruptures proposes
candidate splits (``detect.py``), a hand-written permutation test of e-divisive's energy
statistic decides (``energy.py``), each shift is attributed to what changed in the fingerprint
around it (``attribute.py``), and results are cached per machine and case (``cache.py``).
``change_points(frame)`` is the entry point (``cases.py``); docs/compare.md has the method.

ruptures is imported only when a case has to be computed: without it ``change_points`` raises
``ChangePointsUnavailable`` (message ``MISSING_RUPTURES``), which the commands print, carrying on.
"""

from gpubench.analysis.changepoints.attribute import EnvironmentChange
from gpubench.analysis.changepoints.cases import ChangePoint, change_points
from gpubench.analysis.changepoints.detect import MISSING_RUPTURES, ChangePointsUnavailable

__all__ = ["MISSING_RUPTURES", "ChangePoint", "ChangePointsUnavailable", "EnvironmentChange", "change_points"]
