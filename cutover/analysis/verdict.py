"""Verdicts, the seed's actions, one guardrail's check, and the whole analysis."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from cutover.analysis.guardrails import Guardrails

ANALYSIS_FORMAT = "cutover.analysis/1"


class Verdict(str, Enum):
    PROMOTE = "PROMOTE"
    HOLD = "HOLD"
    ROLLBACK = "ROLLBACK"

    @property
    def severity(self) -> int:
        return ("PROMOTE", "HOLD", "ROLLBACK").index(self.value)

    @property
    def exit_code(self) -> int:
        """`cutover analyze --gate`: 0 promote, 3 hold, 4 rollback (2 is bad input)."""
        return {"PROMOTE": 0, "HOLD": 3, "ROLLBACK": 4}[self.value]


class SeedAction(str, Enum):
    """The "Action" column of the seed's go/no-go table, plus what it leaves implicit."""

    GO = "go"  # within the go threshold
    ROLLBACK_AUTO = "rollback auto"  # error rate > 2%
    INVESTIGATE = "investigate"  # p95 > +30%, shadow diffs > 1% (and the absolute ceiling)
    CHECK_CONFIG = "check config"  # canary share < 0.5x or > 2x its target
    WAIT = "wait"  # neither go nor no-go yet: too few samples, between go and no-go, rollout in flight
    NOT_APPLICABLE = "not applicable"  # nothing to judge at this step (e.g. canary checks at 0%)


@dataclass(frozen=True)
class Check:
    """One guardrail of one read path: its verdict and the figures behind it."""

    path: str
    name: str
    verdict: Verdict
    seed_action: SeedAction
    figure: float | None  # in `unit`; None when there is nothing to measure
    unit: str
    threshold: str
    samples: int
    reason: str
    evidence: Mapping[str, float | int | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name,
            "verdict": self.verdict.value,
            "seed_action": self.seed_action.value,
            "figure": _num(self.figure),
            "unit": self.unit,
            "threshold": self.threshold,
            "samples": self.samples,
            "reason": self.reason,
            "evidence": {k: _num(v) for k, v in sorted(self.evidence.items())},
        }


@dataclass(frozen=True)
class PathVerdict:
    path: str
    step_percent: float
    verdict: Verdict


@dataclass(frozen=True)
class Analysis:
    release: str
    environment: str
    guardrails: Guardrails
    paths: tuple[PathVerdict, ...]
    checks: tuple[Check, ...]

    @property
    def verdict(self) -> Verdict:
        return max((c.verdict for c in self.checks), key=lambda v: v.severity, default=Verdict.HOLD)

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    @property
    def deciding(self) -> tuple[Check, ...]:
        """The checks that set the overall verdict (all of them when it is PROMOTE)."""
        return tuple(c for c in self.checks if c.verdict == self.verdict)

    @property
    def seed_actions(self) -> tuple[SeedAction, ...]:
        seen: dict[SeedAction, None] = {}
        for check in self.deciding:
            if check.seed_action is not SeedAction.NOT_APPLICABLE:
                seen.setdefault(check.seed_action, None)
        return tuple(seen)

    @property
    def reason(self) -> str:
        if self.verdict is Verdict.PROMOTE:
            judged = sum(c.seed_action is SeedAction.GO for c in self.checks)
            return f"every guardrail within go ({judged} checks judged, the rest not applicable at this step)"
        deciding = self.deciding
        if all(c.reason.startswith("no data") for c in deciding):
            # Not "too few samples": waiting would not bring data looked for in the wrong place.
            paths = ", ".join(dict.fromkeys(c.path for c in deciding))
            return f"no data at all for {paths}: {deciding[0].reason.removeprefix('no data: ')}"
        first = deciding[0]
        text = f"{first.path} {first.name}: {first.reason}"
        if all(c.reason.startswith("too few samples") for c in deciding):
            text = f"too few samples yet (data is there, not enough of it): {text}"
        others = ", ".join(f"{c.path} {c.name}" for c in deciding[1:])
        return text + (f" (also: {others})" if others else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "format": ANALYSIS_FORMAT,
            "release": self.release,
            "environment": self.environment,
            "verdict": self.verdict.value,
            "exit_code": self.exit_code,
            "seed_actions": [a.value for a in self.seed_actions],
            "reason": self.reason,
            "guardrails": self.guardrails.to_json(),
            "paths": [
                {"path": p.path, "step_percent": _num(p.step_percent), "verdict": p.verdict.value}
                for p in self.paths
            ],
            "checks": [c.to_json() for c in self.checks],
        }


def _num(value: float | None) -> float | int | None:
    """Six significant digits: stable JSON without float noise (0.30000000000000004)."""
    if value is None or isinstance(value, int):
        return value
    if value in (float("inf"), float("-inf")):
        return None
    rounded = float(f"{value:.6g}")
    return int(rounded) if rounded.is_integer() and abs(rounded) < 1e15 else rounded
