"""EventBridge and the composite alarm's action, as the guard meets them (docs/functions.md, Guard).

* The guard's rule ``rate(1 minute)``: one scheduled event a minute, at a seeded phase,
  within seconds of its slot.
* The composite's state changes: an EventBridge "CloudWatch Alarm State Change" event on
  every change, and the alarm action (SNS) on entering ALARM only, each delivered some
  seconds later, or lost when a scenario's ``lost_notification`` fault is active.

AWS documents none of the delays: they are "some seconds", drawn from one seeded stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .decision import iso

EVENTBRIDGE_DELAY_S = (2.0, 30.0)  # alarm state change -> the guard's invocation
SNS_DELAY_S = (1.0, 15.0)  # alarm action -> a subscriber
SCHEDULE_JITTER_S = 10.0  # rate(1 minute) fires within seconds of its slot

Later = Callable[[float, Callable[[float], None]], None]  # at(t, action): run action(t) at t


class Responder(Protocol):
    """What reacts to the rollback alarm: the guard (responder.py) or a test's stand-in."""

    def event(self, t: float, event: dict[str, Any]) -> None: ...

    def schedule(self, t: float) -> None: ...

    def notification(self, t: float, message: dict[str, Any]) -> None: ...


class Schedule:
    """The guard's EventBridge rule rate(1 minute)."""

    def __init__(self, phase_s: float, rng: Any, later: Later, fire: Callable[[float], None]) -> None:
        self.phase_s, self.rng, self.later, self.fire = phase_s, rng, later, fire

    def start(self, minute: int) -> None:
        t = minute * 60.0 + self.phase_s + self.rng.uniform(0.0, SCHEDULE_JITTER_S)

        def due(at: float) -> None:
            self.fire(at)
            self.start(minute + 1)

        self.later(t, due)


@dataclass
class AlarmDelivery:
    """The composite's EventBridge events and SNS alarm action, delivered to a responder."""

    rng: Any
    later: Later
    lost: Callable[[str], bool]  # is a delivery on "eventbridge" | "sns" lost now?
    lost_note: Callable[[float, str], None]  # what the run records of a lost delivery
    responder: Responder | None = None
    notifications: list[dict[str, Any]] = field(default_factory=list)  # alarm actions sent

    def transition(self, t: float, name: str, old: str, new: str) -> None:
        """The composite ``name`` went from ``old`` to ``new`` at ``t``."""
        responder = self.responder
        if self.lost("eventbridge"):
            self.lost_note(t, f"EventBridge: {name} {old} -> {new}")
        else:
            event = eventbridge_event(name, old, new, t)
            self.later(t + self.rng.uniform(*EVENTBRIDGE_DELAY_S), lambda due: responder.event(due, event))
        if new != "ALARM":
            return
        if self.lost("sns"):
            self.lost_note(t, f"SNS: {name} ALARM")
            return
        message = sns_alarm_message(name, old, t)
        self.notifications.append({"second": t, "by": "alarm action", "subject": f'ALARM: "{name}"'})
        self.later(t + self.rng.uniform(*SNS_DELAY_S), lambda due: responder.notification(due, message))


def eventbridge_event(name: str, old: str, new: str, t: float) -> dict[str, Any]:
    """The "CloudWatch Alarm State Change" event (EventBridge, source aws.cloudwatch)."""
    return {"version": "0", "id": f"rehearsal-{int(t)}", "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch", "account": "123456789012", "time": iso(t / 60),
            "region": "us-east-1", "resources": [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"],
            "detail": {"alarmName": name, "state": {"value": new, "reason": "rehearsal",
                                                    "timestamp": iso(t / 60)},
                       "previousState": {"value": old}}}


def scheduled_event(t: float) -> dict[str, Any]:
    return {"version": "0", "id": f"rehearsal-schedule-{int(t)}", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": iso(t / 60), "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/rehearsal-guard-schedule"], "detail": {}}


def sns_alarm_message(name: str, old: str, t: float) -> dict[str, Any]:
    return {"AlarmName": name, "NewStateValue": "ALARM", "OldStateValue": old,
            "NewStateReason": "rehearsal: a member alarm is in ALARM",
            "StateChangeTime": iso(t / 60).replace("Z", ".000+0000")}
