"""AWS's side of each tick, in the order AWS would act: before the minute's traffic,
CodeDeploy shifts the router's alias and AppConfig deployments finish growing or
baking; after it, CloudWatch evaluates every alarm at the minute's end, and what watches
the rollback alarm reacts as AWS documents it (an AppConfig monitor, when attached;
CodeDeploy, only while its deployment runs; the composite's transitions, delivered by
EventBridge and SNS).

Each behaviour lives in the stand-in that owns it (appconfig.py, lambda_service.py,
cloudwatch.py, eventbridge.py); this only calls them in order and records what they did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import seams
from .cloudwatch import AlarmHistory
from .lambda_service import CodeDeployment
from .record import CodeDeploymentState, EventKind

if TYPE_CHECKING:
    from .eventbridge import AlarmDelivery
    from .ramp import Journal
    from .release import ShiftPlan
    from .world import World

PRUNE_EVERY_MINUTES = 60
KEEP_METRICS_S = 86_400 + 3_600  # no alarm looks back more than a day


class Aws:
    def __init__(self, world: World, alarms: Any, store: Any, journal: Journal, delivery: AlarmDelivery,
                 on_alarm: Callable[[float, str], None]) -> None:
        self.world, self.alarms, self.store, self.journal = world, alarms, store, journal
        self.delivery = delivery
        self.on_alarm = on_alarm  # the rollback alarm entered ALARM at t, from old
        self.history = AlarmHistory()
        self.code: CodeDeployment | None = None

    # -- before the minute's traffic -------------------------------------------------------
    def before_traffic(self, minute: int) -> None:
        self._shift(minute)
        for t, kind, label in self.world.appconfig.milestones(minute):
            self.journal.event(t, EventKind(kind), label)

    def start_code_deployment(self, environment: dict[str, str], plan: ShiftPlan, minute: int) -> None:
        self.code = CodeDeployment.start(self.world.router, environment, plan.name, plan.steps, minute)
        self.journal.event(minute * 60.0, EventKind.CODEDEPLOY_STARTED, f"router version 2 with {plan.name}")
        self._shift(minute)

    def _shift(self, minute: int) -> None:
        if self.code is not None and self.code.shift(minute):
            self.journal.event(minute * 60.0, EventKind.CODEDEPLOY_DONE, "the alias serves version 2")

    # -- after it --------------------------------------------------------------------------
    def after_traffic(self, minute: int) -> None:
        end = (minute + 1) * 60
        self.alarms.evaluate(end)
        if minute % PRUNE_EVERY_MINUTES == PRUNE_EVERY_MINUTES - 1:
            self.store.prune(end - KEEP_METRICS_S)
        self._watch(minute + 1)

    def _watch(self, minute: int) -> None:
        t = minute * 60.0
        alarms = self.alarms
        self.history.observe(minute, ((name, alarms.state(name)) for name in seams.alarm_roles(alarms)))
        rollback = seams.rollback_name(alarms)
        old, state, changed = self.history.transition(rollback, minute)
        self.world.monitor.evaluated(t, state, changed)
        self._codedeploy_watch(minute)
        if changed:
            if state == "ALARM":
                self.on_alarm(t, old)
            self.delivery.transition(t, rollback, old, state)

    def _codedeploy_watch(self, minute: int) -> None:
        code = self.code
        if code is None or code.done:
            return
        watched = seams.codedeploy_alarms(self.alarms, "router")
        firing = sorted(name for name in watched if self.alarms.state(name) == "ALARM")
        if code.watch(firing):
            self.journal.event(minute * 60.0, EventKind.CODEDEPLOY_ROLLED_BACK,
                               f"CodeDeploy stopped the deployment on {', '.join(firing)}; "
                               f"the alias is back on version 1")

    def code_deployment(self) -> CodeDeploymentState:
        return CodeDeploymentState.NONE if self.code is None else CodeDeploymentState(self.code.state)
