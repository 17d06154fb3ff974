import math

import numpy as np
import pytest

from gpubench.measure.stats import Measurement, quantile


def test_statistics_match_numpy():
    samples = (0.5, 0.1, 0.4, 0.3, 0.2, 0.9, 0.35)
    m = Measurement(samples, ops_per_sample=4, clock="test")
    assert m.n == 7
    # One definition of the quartiles (linear interpolation, numpy's default), to the last bit.
    assert m.median == np.median(samples)
    assert (m.q1, m.q3) == tuple(np.quantile(samples, [0.25, 0.75]))
    assert m.iqr == np.quantile(samples, 0.75) - np.quantile(samples, 0.25)
    assert (m.min, m.max) == (0.1, 0.9)
    assert m.mean == pytest.approx(np.mean(samples))
    assert m.stddev == pytest.approx(np.std(samples, ddof=1))
    assert m.samples == samples  # raw order kept


def test_single_sample_has_zero_spread():
    m = Measurement((1e-3,))
    assert m.iqr == 0.0 and m.stddev == 0.0


@pytest.mark.parametrize("bad", [(), (1.0, math.nan), (-1.0,), (math.inf,)])
def test_rejects_bad_samples(bad):
    with pytest.raises(ValueError):
        Measurement(bad)


def test_quantile_interpolates():
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert quantile([1.0], 0.75) == 1.0
