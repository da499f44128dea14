"""Wald's sequential probability ratio test for an error rate (pure, no I/O).

A version is judged read by read: each read adds ``log(p1/p0)`` to the log-likelihood
ratio when it fails and ``log((1-p1)/(1-p0))`` (negative) when it succeeds. The test
stops as soon as the ratio leaves the band ``[log(beta/(1-alpha)), log((1-beta)/alpha)]``:
above it the error rate is ``p1`` or worse (FAIL, wrong with probability at most
``alpha`` when the rate is ``p0``), below it the rate is ``p0`` or better (PASS, wrong
with probability at most ``beta`` when the rate is ``p1``). Both boundaries are straight
lines in (reads, errors); a healthy version that never fails passes after
``reads_to_pass()`` reads, and a version failing 10% of its reads against a 2% limit
fails after a few dozen.

The deploy probe (functions/deploy_probe) uses it with ``p1`` = the spec's error-rate
limit and ``p0`` = a quarter of it; the generator loads this file to refuse a probe too
small to ever pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil, log

PASS = "PASS"
FAIL = "FAIL"
# A healthy version's error rate, as a share of the limit (p0 = p1 / HEALTHY_SHARE).
HEALTHY_SHARE = 4.0


@dataclass(frozen=True)
class ErrorRateTest:
    p0: float  # acceptable error rate (share, 0-1)
    p1: float  # the limit: at or above it the version fails
    alpha: float  # chance of failing a version at p0
    beta: float  # chance of passing a version at p1

    def __post_init__(self) -> None:
        if not (0 < self.p0 < self.p1 < 1):
            raise ValueError(f"need 0 < p0 < p1 < 1: p0={self.p0} p1={self.p1}")
        if not (0 < self.alpha < 0.5 and 0 < self.beta < 0.5):
            raise ValueError(f"need 0 < alpha, beta < 0.5: alpha={self.alpha} beta={self.beta}")

    @classmethod
    def against_limit(cls, limit_pct: float, confidence: float) -> ErrorRateTest:
        """The limit (%) as p1, a quarter of it as p0, both error chances 1 - confidence."""
        p1 = limit_pct / 100
        risk = 1 - confidence
        return cls(p0=p1 / HEALTHY_SHARE, p1=p1, alpha=risk, beta=risk)

    @property
    def fail_step(self) -> float:
        return log(self.p1 / self.p0)

    @property
    def pass_step(self) -> float:
        return log((1 - self.p1) / (1 - self.p0))

    @property
    def upper(self) -> float:
        return log((1 - self.beta) / self.alpha)

    @property
    def lower(self) -> float:
        return log(self.beta / (1 - self.alpha))

    def ratio(self, reads: int, errors: int) -> float:
        return errors * self.fail_step + (reads - errors) * self.pass_step

    def decide(self, reads: int, errors: int) -> str | None:
        """PASS, FAIL, or None while the evidence is not enough either way."""
        llr = self.ratio(reads, errors)
        if llr >= self.upper:
            return FAIL
        if llr <= self.lower:
            return PASS
        return None

    def reads_to_pass(self) -> int:
        """Reads a version that never fails needs before it passes."""
        return ceil(self.lower / self.pass_step - 1e-9)
