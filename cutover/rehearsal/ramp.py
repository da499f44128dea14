"""The operator's side of a release: the ramp through the spec's steps, each step's
go/no-go decision when its hold ends (PROMOTE, HOLD, ROLLBACK), the decision to roll
back (the go/no-go analysis', or the rollback alarm's), and the runbook after it.

The ramp knows nothing of AWS: what an apply or a rollback does is ``ReleaseActions``'
(engine.py gives the real ones, a test its fakes); what it saw goes to a ``Journal``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .record import Decision, EventKind, Outcome, RunOutcome, StepRecord, Verdict

if TYPE_CHECKING:
    from .appconfig import Deployment
    from .decision import StepAnalysis
    from .scenario import Ramp as RampSettings

Later = Callable[[float, Callable[[float], None]], None]


@dataclass
class Step:
    """A step while it runs (its record: ``record()``)."""

    percent: float
    started: int
    deployment: Deployment | None = None
    ended: int | None = None
    holds: int = 0
    tail: bool = False  # the run after a rollback decision, its own row
    requests: int = 0
    canary_requests: int = 0
    users: set[int] = field(default_factory=set)

    def record(self) -> StepRecord:
        return StepRecord(self.percent, self.started, self.ended, self.holds, self.tail, self.requests,
                          self.canary_requests, len(self.users))


class ReleaseActions(Protocol):
    def start_step(self, percent: float, minute: int, label: str) -> Deployment | None:
        """A step starts: the faults tied to it are known; an apply of the spec at it."""

    def operator_rollback(self, t: float) -> None:
        """`cutover rollback`: the canary off, at once."""

    def reconcile(self, t: float) -> bool:
        """The spec back at 0% and applied; False if AppConfig refused (a deployment runs)."""


class Journal(Protocol):
    def event(self, t: float, kind: EventKind, detail: str) -> None: ...

    def note(self, minute: int, kind: str, detail: str) -> None:
        """Shown live only (the progress view), not part of the run record."""


Analyse = Callable[[Step, int], "StepAnalysis"]


def pct(percent: float) -> str:
    return f"{percent:g}"


class Ramp:
    def __init__(self, plan: list[float], settings: RampSettings, actions: ReleaseActions, journal: Journal,
                 later: Later, analyse: Analyse) -> None:
        self.plan, self.settings = plan, settings
        self.actions, self.journal, self.later, self.analyse = actions, journal, later, analyse
        self.steps: list[Step] = []
        self.decisions: list[Decision] = []
        self.outcome: RunOutcome | None = None
        self.decision_due: int | None = None
        self.finish_at: int | None = None
        self.rollback_decided: float | None = None  # seconds: the decision to turn the canary off

    @property
    def step(self) -> Step:
        return self.steps[-1]

    def begin(self) -> None:
        self._start_step(0, 0)

    def due(self, minute: int) -> bool:
        return self.outcome is None and self.decision_due is not None and minute >= self.decision_due

    def over(self, minute: int) -> bool:
        return self.finish_at is not None and minute >= self.finish_at

    def tick(self, minute: int) -> bool:
        """The go/no-go decision if the step's hold ends now; True if one was made."""
        if not self.due(minute):
            return False
        self._decide(minute)
        return True

    def alarm(self, t: float, old: str) -> None:
        """The rollback alarm entered ALARM: a canary step is rolled back (not the shadow)."""
        if self.steps and self.step.percent > 0 and self.outcome is None:
            self.decide_rollback(t, f"the rollback alarm went from {old} to ALARM")

    def finish(self, result: Outcome, minute: int, reasons: list[str]) -> None:
        if self.outcome is not None:
            return
        step = self.steps[-1] if self.steps else None
        self.outcome = RunOutcome(result, step.percent if step else None, minute, tuple(reasons))
        self.decision_due = None
        if step is not None and step.ended is None:
            step.ended = minute
        self.finish_at = minute

    def _start_step(self, index: int, minute: int) -> None:
        percent = self.plan[index]
        step = Step(percent, minute)
        self.steps.append(step)
        step.deployment = self.actions.start_step(percent, minute, f"step {pct(percent)}")
        hold = self.settings.hold(percent)
        self.decision_due = minute + hold
        self.journal.event(minute * 60.0, EventKind.RAMP,
                           f"step {pct(percent)}%: hold {hold} min, then the go/no-go analysis")

    def _decide(self, minute: int) -> None:
        step = self.step
        if step.tail:
            self.decision_due = None
            return
        analysis = self.analyse(step, minute)
        verdict = Verdict(analysis.verdict)
        index = len(self.steps) - 1
        last = index + 1 >= len(self.plan)
        action = {Verdict.PROMOTE: "complete the release" if last else f"promote to {pct(self.plan[index + 1])}%",
                  Verdict.HOLD: "hold", Verdict.ROLLBACK: "roll back"}[verdict]
        self.decisions.append(Decision(minute, step.percent, verdict, action, tuple(analysis.checks)))
        self.journal.note(minute, "decision", f"step {pct(step.percent)}%: {verdict} -> {action}")
        if verdict is Verdict.PROMOTE:
            step.ended = minute
            if last:
                self.finish(Outcome.PROMOTED, minute, [(f"every step passed its go/no-go analysis; "
                                                        f"the ramp took {minute} simulated minutes")])
            else:
                self._start_step(index + 1, minute)
        elif verdict is Verdict.HOLD:
            self._hold(step, minute, analysis.checks)
        else:
            self.actions.operator_rollback(minute * 60.0)
            self.decide_rollback(minute * 60.0, "the go/no-go analysis: " + "; ".join(
                c["reason"] for c in analysis.checks if c["verdict"] == "ROLLBACK"))

    def _hold(self, step: Step, minute: int, checks: list[dict]) -> None:
        step.holds += 1
        if step.holds > self.settings.max_holds:
            step.ended = minute
            self.finish(Outcome.HELD, minute, [f"step {pct(step.percent)}%: HOLD {step.holds} times: "
                                               + "; ".join(c["reason"] for c in checks if c["verdict"] == "HOLD")])
        else:
            self.decision_due = minute + self.settings.hold(step.percent)

    def decide_rollback(self, t: float, why: str) -> None:
        """The decision to turn the canary off (the alarm, or the go/no-go analysis). The
        step ends here; what follows is the tail, its own row; the run goes on for the
        scenario's tail to see when the candidate stops serving."""
        if self.rollback_decided is not None or self.outcome is not None:
            return
        self.rollback_decided = t
        minute = int(t // 60)
        step = self.step
        step.ended = minute
        self.steps.append(Step(step.percent, minute, tail=True))
        self.decision_due = None
        self.journal.event(t, EventKind.ROLLBACK_DECISION, why)
        self.outcome = RunOutcome(Outcome.ROLLED_BACK, step.percent, minute, (why,))
        self.finish_at = minute + self.settings.tail_minutes
        reconcile = self.settings.reconcile_after_minutes
        if reconcile is not None:
            self.later(t + reconcile * 60.0, self._reconcile)

    def _reconcile(self, t: float) -> None:
        """The runbook after a rollback: the spec's percent back to 0, then an apply (a
        deployment in progress, the guard's, makes it wait a minute and retry)."""
        if not self.actions.reconcile(t):
            self.later(t + 60.0, self._reconcile)
