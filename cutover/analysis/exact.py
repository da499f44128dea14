"""Exact one-sided tests for small counts: the binomial tail and Fisher's exact test.

Written here rather than imported from scipy.stats because importing scipy.stats costs
seconds on a small machine (see docs/analysis.md, "Why not scipy"), and `cutover analyze`
is a command people run by hand. tests/analysis/test_exact.py checks both functions
against scipy.stats on thousands of generated tables.

Both sum probability terms in log space from the observed count towards the far tail,
stopping once a term no longer changes the sum; when the observed count lies on the
near side of the mean they sum the (shorter, convergent) complement instead.
"""

from __future__ import annotations

from math import exp, lgamma, log, log1p

_NEGLIGIBLE = 1e-17  # relative size of a term that can no longer change a double sum


def _log_binom_pmf(x: int, n: int, p: float) -> float:
    return lgamma(n + 1) - lgamma(x + 1) - lgamma(n - x + 1) + x * log(p) + (n - x) * log1p(-p)


def _sum_terms(log_first: float, ratio, start: int, stop: int, step: int) -> float:
    """sum of exp(log t_x) for x = start, start+step, ... up to stop (inclusive), where
    t_{x+step} = t_x * ratio(x); stops early once the terms have become negligible."""
    term = exp(log_first)
    total = term
    x = start
    while x != stop:
        term *= ratio(x)
        x += step
        total += term
        if term <= total * _NEGLIGIBLE:
            break
    return total


def binomial_upper_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): how surprising k or more failures in n trials
    would be if the true failure rate were p."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    odds = p / (1.0 - p)
    if k >= n * p:  # the far tail starts at k: sum upwards from k
        return min(1.0, _sum_terms(_log_binom_pmf(k, n, p), lambda x: (n - x) / (x + 1) * odds, k, n, 1))
    # k below the mean: 1 - P(X <= k - 1), summed downwards from k - 1
    lower = _sum_terms(_log_binom_pmf(k - 1, n, p), lambda x: x / (n - x + 1) / odds, k - 1, 0, -1)
    return max(0.0, 1.0 - lower)


def _log_hypergeom_pmf(x: int, total: int, marked: int, drawn: int) -> float:
    def log_choose(a: int, b: int) -> float:
        return lgamma(a + 1) - lgamma(b + 1) - lgamma(a - b + 1)

    return log_choose(marked, x) + log_choose(total - marked, drawn - x) - log_choose(total, drawn)


def fisher_greater(k1: int, n1: int, k2: int, n2: int) -> float:
    """One-sided Fisher exact test, H1: the first group's rate is higher than the second's.

    k1 failures in n1 trials against k2 in n2. The p-value is P(X >= k1) for X the
    failures that would land in the first group if the k1 + k2 failures were spread at
    random over all n1 + n2 trials (hypergeometric), which is what scipy.stats.fisher_exact
    computes with alternative="greater".
    """
    total, marked, drawn = n1 + n2, k1 + k2, n1
    lo, hi = max(0, drawn - (total - marked)), min(drawn, marked)
    if k1 <= lo:
        return 1.0
    if k1 > hi:
        return 0.0

    def up(x: int) -> float:
        return (marked - x) * (drawn - x) / ((x + 1) * (total - marked - drawn + x + 1))

    def down(x: int) -> float:
        return x * (total - marked - drawn + x) / ((marked - x + 1) * (drawn - x + 1))

    mean = drawn * marked / total
    if k1 >= mean:
        return min(1.0, _sum_terms(_log_hypergeom_pmf(k1, total, marked, drawn), up, k1, hi, 1))
    lower = _sum_terms(_log_hypergeom_pmf(k1 - 1, total, marked, drawn), down, k1 - 1, lo, -1)
    return max(0.0, 1.0 - lower)
