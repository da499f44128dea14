"""cutover/analysis/exact.py against scipy.stats (the test oracle; the CLI never imports scipy)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cutover.analysis.exact import binomial_upper_tail, fisher_greater


def close(ours: float, theirs: float) -> bool:
    return math.isclose(ours, theirs, rel_tol=1e-9, abs_tol=1e-300) or (ours < 1e-280 and theirs < 1e-280)


@settings(max_examples=600, deadline=None)
@given(n=st.integers(0, 20000), data=st.data(), p=st.floats(1e-4, 0.5))
def test_binomial_upper_tail_matches_scipy(n, data, p):
    k = data.draw(st.integers(0, n + 1))
    expected = float(stats.binom.sf(k - 1, n, p))
    got = binomial_upper_tail(k, n, p)
    assert close(got, expected) or abs(got - expected) < 1e-12, (k, n, p, got, expected)


@settings(max_examples=600, deadline=None)
@given(n1=st.integers(1, 5000), n2=st.integers(1, 50000), data=st.data())
def test_fisher_greater_matches_scipy(n1, n2, data):
    k1 = data.draw(st.integers(0, n1))
    k2 = data.draw(st.integers(0, n2))
    expected = float(stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative="greater").pvalue)
    got = fisher_greater(k1, n1, k2, n2)
    assert close(got, expected) or abs(got - expected) < 1e-12, (k1, n1, k2, n2, got, expected)


@pytest.mark.parametrize("k,n,p,expected", [
    (1, 1, 0.02, 0.02),  # one failure out of one request: significant at 95%
    (6, 120, 0.02, float(stats.binom.sf(5, 120, 0.02))),
    (0, 10, 0.02, 1.0),
    (11, 10, 0.02, 0.0),
    (240_000, 10_000_000, 0.02, float(stats.binom.sf(239_999, 10_000_000, 0.02))),  # a day at ~115 req/s
])  # fmt: skip
def test_binomial_known_values(k, n, p, expected):
    assert binomial_upper_tail(k, n, p) == pytest.approx(expected, rel=1e-9)


def test_large_counts_stay_exact():
    """A day of traffic on both routes: still the exact figure, not an approximation."""
    table = (2_000, 80_000, 150_000, 8_000_000)
    expected = stats.fisher_exact([[2_000, 78_000], [150_000, 7_850_000]], alternative="greater").pvalue
    assert fisher_greater(*table) == pytest.approx(expected, rel=1e-9)
