"""What reacts to the rollback alarm: by default the real guard function (docs/functions.md, Guard).

A responder is built from a ``ResponderContext``: the world, the alarms, the run's
timeline (``at``) and its delivery stream, and where it records an event. A test may
swap in another responder (tests/rehearsal/test_naive_brake.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .eventbridge import Responder, scheduled_event
from .lambda_service import Result, invoke_async
from .record import EventKind, GuardTally

if TYPE_CHECKING:
    from .seams import AlarmEvaluator
    from .world import World

IDLE_TICKS_PER_RUN = 60  # composite not in ALARM: the real guard runs on one tick an hour


@dataclass(frozen=True)
class ResponderContext:
    world: World
    alarms: AlarmEvaluator
    at: Callable[[float, Callable[[float], None]], None]  # run action(t) at second t of the run
    delivery_rng: Any
    event: Callable[[float, EventKind, str], None]


ResponderFactory = Callable[[ResponderContext], Responder]


class GuardResponder:
    """The real guard function (docs/functions.md, Guard), invoked asynchronously by the
    EventBridge rule on the composite's state changes and by its rate(1 minute) schedule.
    It has reserved concurrency 1: an invocation while one runs is throttled, and Lambda
    retries a throttled asynchronous event a few seconds later. The SNS alarm action
    reaches only the on-call (a notification, counted by the run)."""

    def __init__(self, context: ResponderContext) -> None:
        self.c = context
        self.fn = context.world.guard
        self.runs = 0
        self.outcomes: Counter = Counter()
        self.quiet_ticks = 0
        self.idle_ticks = 0

    def event(self, t: float, event: dict[str, Any]) -> None:
        self._invoke(t, event)

    def schedule(self, t: float) -> None:
        """A tick of rate(1 minute). While the composite is not in ALARM a run can only
        read it and return (GUARD-IDLE, no call but DescribeAlarms): the rehearsal then
        invokes the real function once an hour, not every minute, to stay within its time
        budget (docs/rehearsal.md, Fidelity). In ALARM every tick runs it."""
        alarms = self.c.alarms
        if alarms.state(alarms.composite_name) != "ALARM" and self.quiet_ticks < IDLE_TICKS_PER_RUN - 1:
            self.quiet_ticks += 1
            self.idle_ticks += 1
            return
        self.quiet_ticks = 0
        self._invoke(t, scheduled_event(t))

    def notification(self, t: float, message: dict[str, Any]) -> None:
        return None

    def tally(self) -> GuardTally:
        return GuardTally(self.runs, self.idle_ticks, dict(sorted(self.outcomes.items())))

    def _invoke(self, t: float, event: dict[str, Any]) -> None:
        if self.fn is None:
            return
        c = self.c
        invoke_async(c.world.lambda_, self.fn, event, t, "guard", c.at, c.delivery_rng, self._ran)

    def _ran(self, t: float, result: Result) -> None:
        self.runs += 1
        outcome = result.payload.get("outcome") if isinstance(result.payload, dict) else None
        self.outcomes[str(outcome or result.function_error)] += 1
        if result.function_error:
            payload = result.payload or {}
            self.c.event(t, EventKind.GUARD_ERROR,
                         f"{payload.get('errorType', '')}: {payload.get('errorMessage', '')}"[:200])
