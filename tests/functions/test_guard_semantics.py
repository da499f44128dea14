"""The guard's property over simulated time, with the real handler and real boto3.

The handler's AppConfig, CloudWatch and SNS calls reach loopback stand-ins
(cutover/rehearsal/appconfig_api.py over the rehearsal's AppConfig model,
cutover/rehearsal/cloudwatch_api.py, cutover/rehearsal/sns_api.py) that answer on a virtual clock: the
alarm state is a script, deployments progress with the clock, nothing sleeps and no
assertion depends on wall-clock time.

The property: once the composite rollback alarm is in ALARM, every user is
off the canary within the guard's interval (the one-minute schedule), the time AppConfig
takes to finish an all-at-once deployment without bake, and one agent poll interval, and
stays off. The world models, as docs/aws-rules.md says AWS behaves:

* a flag deployment moves every client at once, then bakes (the spec's final bake);
  StopDeployment rolls a DEPLOYING or (AllowRevert) BAKING deployment back and reverts a
  COMPLETE one; one deployment at a time (ConflictException);
* each router environment's agent polls every 45 s and serves its last poll;
* the composite's state changes reach the guard as EventBridge events a few seconds
  later, and the schedule runs it every minute;
* optionally an AppConfig environment monitor (the old design; cutover attaches none), which
  checks the alarm once a minute during a deployment and its bake and rolls back "to the
  previous version". What it does with a deployment started while its alarm is already
  in ALARM is undocumented, so it has two readings: ``at-once`` (rolled back as it
  starts) and ``on-transition`` (only an alarm that goes to ALARM during the deployment
  rolls it back).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from cutover_runtime import live
from cutover_runtime.telemetry import Identity
from guard import handler

from cutover.rehearsal.clock import VirtualClock
from cutover.rehearsal.fakes import (
    AppConfig,
    ControlPlane,
    ControlPlaneServer,
    Deployment,
    DescribeAlarmsApi,
    PublishApi,
    Strategy,
)

from .conftest import events

ALARM = "rel-production-rollback"
TOPIC = "arn:aws:sns:us-east-1:123456789012:rel-production-alarms"
FLAG = "prisma-adapter"
SCHEDULE_S = 60  # rate(1 minute)
POLL_S = 45  # delivery.appconfig.poll_interval_s
EVENT_DELAY_S = 5  # alarm state change -> EventBridge -> the guard's async invoke
BAKE_S = 600  # delivery.appconfig.final_bake_minutes: 10
GUARD_DEPLOY_S = 5  # AppConfig finishing an all-at-once, no-bake deployment
MONITOR_S = 60  # how often the (old design's) monitor reads its alarm
AGENTS = 12  # router execution environments, polls spread over the interval
BOUND_S = SCHEDULE_S + GUARD_DEPLOY_S + POLL_S
RAMP = Strategy("ramp", 0.0, BAKE_S, "LINEAR", 100.0)
GUARD = Strategy("guard", GUARD_DEPLOY_S, 0.0, "LINEAR", 100.0)


def flags(percent: float) -> dict[str, Any]:
    return {"version": "1",
            "flags": {FLAG: {"name": "canary"}, "prisma-shadow": {"name": "shadow"}},
            "values": {FLAG: {"enabled": percent > 0, "percent": percent, "salt": "s", "stickyKey": "userId",
                              "step": percent},
                       "prisma-shadow": {"enabled": True, "sampleRate": 0.1, "timeoutMs": 500}}}


class World:
    """One environment's flags, the rollback alarm, the guard's triggers and the users."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, guard: bool = True, monitor: bool = False,
                 reading: str = "on-transition", edge_brake: bool = False, schedule_phase: int = 17) -> None:
        self.clock = VirtualClock()
        self.appconfig = AppConfig("app", "env", "prof")
        self.appconfig.strategies.update({RAMP.id: RAMP, GUARD.id: GUARD})
        self.monitor = monitor  # an AppConfig environment monitor on the rollback alarm
        self.reading = reading  # what AWS does with a deployment started under ALARM (undocumented)
        self.guard_on = guard
        self.edge_brake = edge_brake
        self.schedule_phase = schedule_phase
        self.state = "OK"
        self.state_since = 0.0
        self.script: dict[int, str] = {}
        self.drop_events = 0  # alarm events lost or throttled before they reach the guard
        self.pending: list[tuple[float, str]] = []  # (due, state) of alarm events in flight
        self.outcomes: list[tuple[float, str]] = []
        self.failed_runs: list[float] = []
        self.plane = ControlPlane(self.appconfig, self.clock, self._started)
        self.api = ControlPlaneServer(self.plane)
        self.cloudwatch = DescribeAlarmsApi(lambda: {ALARM: ("CompositeAlarm", self.state)}, self.clock)
        self.sns = PublishApi(self.clock)
        ids = self.appconfig.ids
        env = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_ENDPOINT_URL_APPCONFIG": self.api.url, "AWS_ENDPOINT_URL_CLOUDWATCH": self.cloudwatch.url,
               "AWS_ENDPOINT_URL_SNS": self.sns.url, "CUTOVER_RELEASE": "rel",
               "CUTOVER_GUARD_APPLICATION_ID": ids["application"], "CUTOVER_GUARD_ENVIRONMENT_ID": ids["environment"],
               "CUTOVER_GUARD_PROFILE_ID": ids["profile"], "CUTOVER_GUARD_STRATEGY_ID": GUARD.id,
               "CUTOVER_GUARD_KMS_KEY_ARN": "", "CUTOVER_GUARD_CANARY_FLAGS": FLAG,
               "CUTOVER_GUARD_ALARM_NAME": ALARM, "CUTOVER_GUARD_TOPIC_ARN": TOPIC}
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        self.env = env

    def close(self) -> None:
        for server in (self.api, self.cloudwatch, self.sns):
            server.close()

    # -- AppConfig and its (optional) monitor ---------------------------------------
    def host(self, percent: float) -> int:
        return self.appconfig.host(flags(percent), f"{percent}%")

    def ramp_to(self, version: int, description: str = "terraform apply") -> Deployment:
        deployment = self.appconfig.deploy(version, self.clock.now, RAMP, description)
        self._started(deployment)
        return deployment

    def _started(self, deployment: Deployment) -> None:
        """A deployment started while the monitor's alarm is in ALARM, under the at-once
        reading of the undocumented case: rolled back as it starts."""
        if self.monitor and self.reading == "at-once" and self.state in ("ALARM", "INSUFFICIENT_DATA"):
            self.appconfig.roll_back(deployment, self.clock.now)

    def _monitor_check(self) -> None:
        d = self.appconfig.current(self.clock.now)
        if d is None or not d.in_progress(self.clock.now) or self.state not in ("ALARM", "INSUFFICIENT_DATA"):
            return
        if self.reading == "at-once" or self.state_since >= d.started:
            self.appconfig.roll_back(d, self.clock.now)

    # -- the guard's triggers --------------------------------------------------------
    def invoke(self, event: dict[str, Any]) -> None:
        try:
            result = handler.lambda_handler(event, None)
        except Exception:  # noqa: BLE001 - a failed run; Lambda would retry it later
            self.failed_runs.append(self.clock.now)
            return
        self.outcomes.append((self.clock.now, result["outcome"]))

    def _old_brake(self) -> None:
        """The design the guard replaced, ported from the deleted functions/brake: on the
        ALARM transition only, skip while a deployment is in progress (the monitor was
        "in charge"), else deploy the canary-off document at once without bake."""
        t = self.clock.now
        summaries = self.plane.list_deployments(self.appconfig.ids["application"],
                                                self.appconfig.ids["environment"])["Items"]
        if live.in_progress(summaries) is not None:
            return
        version = live.live_version(summaries)
        off = live.canary_off(self.appconfig.versions[version], [FLAG]) if version else None
        if off is None:
            return
        new = self.appconfig.host(off[0], "brake")
        self._started(self.appconfig.deploy(new, t, GUARD, "cutover brake: canary off"))

    def run(self, until: int) -> None:
        """Advance second by second to `until`: the alarm script, the monitor, alarm
        events (delayed, possibly dropped) and the schedule."""
        start = int(self.clock.now)
        for second in range(start, until):
            self.clock.set(float(second))
            if second in self.script and self.script[second] != self.state:
                self.state, self.state_since = self.script[second], float(second)
                if self.drop_events:
                    self.drop_events -= 1
                else:
                    self.pending.append((second + EVENT_DELAY_S, self.state))
            if self.monitor and second % MONITOR_S == 30:
                self._monitor_check()
            for due, state in [p for p in self.pending if p[0] == second]:
                self.pending.remove((due, state))
                if self.guard_on:
                    self.invoke({"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
                                 "detail": {"alarmName": ALARM, "state": {"value": state}}})
                if self.edge_brake and state == "ALARM":
                    self._old_brake()
            if self.guard_on and second % SCHEDULE_S == self.schedule_phase:
                self.invoke({"source": "aws.events", "detail-type": "Scheduled Event"})
        self.clock.set(float(until))

    # -- what users get ----------------------------------------------------------------
    def served_percent(self, t: float) -> float:
        """The highest canary percent any router environment serves at `t` (its agent's
        last poll)."""
        worst = 0.0
        for k in range(AGENTS):
            offset = k * POLL_S / AGENTS
            last_poll = offset + ((t - offset) // POLL_S) * POLL_S
            version = self.appconfig.version_for(f"agent-{k}", last_poll)
            if version:
                worst = max(worst, live.canary_percent(self.appconfig.versions[version], FLAG))
        return worst

    def last_canary_second(self, since: int, until: int) -> int | None:
        """The last second in [since, until) at which some user could still get the canary."""
        on = [t for t in range(since, until) if self.served_percent(t) > 0]
        return on[-1] if on else None


@pytest.fixture
def world(monkeypatch):
    made: list[World] = []

    def make(**kwargs: Any) -> World:
        made.append(World(monkeypatch, **kwargs))
        return made[-1]

    yield make
    for w in made:
        w.close()


def ramped(w: World) -> tuple[int, int]:
    """1% deployed and baked from t=0; the 1 -> 5 ramp starts at t=3600 and bakes until 4200."""
    one, five = w.host(1), w.host(5)
    w.ramp_to(one)
    w.run(3600)
    w.ramp_to(five)
    return one, five


FAULT_DURING_BAKE = 3600 + 300
FAULT_AFTER_BAKE = 3600 + BAKE_S + 1800


def assert_off_within_bound(w: World, fault: int, horizon: int) -> None:
    last = w.last_canary_second(fault, horizon)
    assert last is not None and last - fault < BOUND_S, (last, fault)
    assert w.served_percent(horizon) == 0


@pytest.mark.parametrize("phase", [0, 17, 59])
def test_a_fault_during_the_bake_ends_with_the_canary_off_within_the_bound(world, capsys, phase):
    # GIVEN the 1 -> 5 deployment baking, no monitor, the guard on its schedule
    w = world(schedule_phase=phase)
    ramped(w)
    # WHEN the rollback alarm fires during the bake and stays in ALARM for two hours
    w.script[FAULT_DURING_BAKE] = "ALARM"
    horizon = FAULT_DURING_BAKE + 7200
    w.run(horizon)
    # THEN the guard stops the ramp (not back to 1%: to 0) and every user is off the
    # canary within schedule + deployment + one poll, for the rest of the alarm
    assert_off_within_bound(w, FAULT_DURING_BAKE, horizon)
    lines = [e for e in events(capsys.readouterr().out, "GUARD-APPLIED")]
    assert len(lines) == 1 and lines[0]["stopped"] == 2
    assert [n.subject.split("guard ")[1] for n in w.sns.messages] == ["stopped flag deployment 2", "canary off"]
    acted = [o for _, o in w.outcomes].index("GUARD-APPLIED")
    assert {o for _, o in w.outcomes[acted + 1:]} == {"GUARD-HOLDING"}


@pytest.mark.parametrize("fault", [FAULT_AFTER_BAKE, FAULT_AFTER_BAKE + 3 * 3600])
def test_a_fault_after_the_bake_ends_with_the_canary_off_within_the_bound(world, capsys, fault):
    w = world()
    ramped(w)
    w.script[fault] = "ALARM"
    horizon = fault + 3600
    w.run(horizon)
    assert_off_within_bound(w, fault, horizon)
    assert len(events(capsys.readouterr().out, "GUARD-APPLIED")) == 1 and len(w.sns.messages) == 1


def test_a_fault_during_a_code_deployment_turns_the_canary_off_and_it_stays_off(world):
    # GIVEN 5% served; CodeDeploy ships a bad candidate version: the alarm fires, CodeDeploy
    # rolls the alias back and ten minutes later the alarm returns to OK
    w = world()
    ramped(w)
    fault = FAULT_AFTER_BAKE
    w.script.update({fault: "ALARM", fault + 600: "OK"})
    horizon = fault + 4 * 3600
    w.run(horizon)
    # THEN the canary is off within the bound and the guard never turns it back on: ramping
    # again is a reviewed change (`percent` in the spec), not the guard's
    assert_off_within_bound(w, fault, horizon)
    assert next(o for _, o in w.outcomes if o != "GUARD-IDLE") == "GUARD-APPLIED"


def test_a_missed_alarm_event_costs_at_most_one_schedule_interval(world):
    delivered, missed = world(), world()
    for w in (delivered, missed):
        ramped(w)
        w.script[FAULT_AFTER_BAKE] = "ALARM"
    missed.drop_events = 1  # EventBridge's invoke lost, or throttled beyond its retries
    horizon = FAULT_AFTER_BAKE + 1800
    delivered.run(horizon)
    missed.run(horizon)
    on_time = delivered.last_canary_second(FAULT_AFTER_BAKE, horizon)
    late = missed.last_canary_second(FAULT_AFTER_BAKE, horizon)
    assert late - on_time <= SCHEDULE_S
    assert_off_within_bound(missed, FAULT_AFTER_BAKE, horizon)


def test_a_throttled_run_costs_at_most_one_schedule_interval(world):
    w = world(schedule_phase=0)
    ramped(w)
    fault = FAULT_AFTER_BAKE - FAULT_AFTER_BAKE % 60 + 1  # just after a scheduled run
    w.script[fault] = "ALARM"
    w.run(fault + EVENT_DELAY_S)
    # the event's run finds CloudWatch throttling every attempt boto3 makes
    w.cloudwatch.fail_next.extend([("Throttling", 400)] * 3)
    horizon = fault + 1800
    w.run(horizon)
    assert w.failed_runs == [fault + EVENT_DELAY_S]
    assert_off_within_bound(w, fault, horizon)


def test_a_throttled_notification_never_undoes_the_action(world, capsys):
    w = world()
    ramped(w)
    w.sns.fail_next.append(("Throttled", 400))
    w.script[FAULT_AFTER_BAKE] = "ALARM"
    horizon = FAULT_AFTER_BAKE + 1800
    w.run(horizon)
    assert_off_within_bound(w, FAULT_AFTER_BAKE, horizon)
    [line] = events(capsys.readouterr().out, "GUARD-APPLIED")
    assert line["unnotified"] == ["GUARD-APPLIED"]


def overlapping(w: World, inner: Callable[[], None], method: str) -> dict[str, Any]:
    """Run one guard while `inner` (a second run) happens just before its `method` call."""
    clients = {s: boto3.client(s) for s in ("appconfig", "cloudwatch", "sns")}
    fired = []

    def between(**_: Any) -> None:
        if not fired:
            fired.append(True)
            inner()

    clients["appconfig"].meta.events.register(f"before-call.appconfig.{method}", between)
    outer = handler.Guard(Identity("rel", "", "Cutover"), handler.Settings(dict(w.env)), clients["appconfig"],
                          clients["cloudwatch"], clients["sns"])
    result = outer.run("schedule")
    assert fired
    return result


def second_run(w: World, results: list[dict[str, Any]], later_s: float = 0) -> Callable[[], None]:
    def run() -> None:
        results.append(handler.lambda_handler({"detail-type": "Scheduled Event"}, None))
        w.clock.advance(later_s)

    return run


def test_two_runs_at_once_deploy_the_canary_off_once(world, capsys):
    # GIVEN 5% served and the alarm in ALARM
    w = world(guard=False)
    ramped(w)
    w.state = "ALARM"
    w.run(FAULT_AFTER_BAKE)
    # WHEN a second run completes (and its deployment finishes) between the first run's
    # reads and its StartDeployment
    inner: list[dict[str, Any]] = []
    outer = overlapping(w, second_run(w, inner, later_s=2 * GUARD_DEPLOY_S), "StartDeployment")
    # THEN one canary-off deployment, one notification; the other run says it lost the race
    assert (inner[0]["outcome"], outer["outcome"], outer["reason"]) == (
        "GUARD-APPLIED", "GUARD-RACED", "deployment-started-meanwhile")
    assert [d.description.startswith(live.GUARD_MARK) for d in w.appconfig.deployments] == [False, False, True]
    assert len(w.sns.messages) == 1 and w.served_percent(w.clock.now + POLL_S) == 0


def test_two_runs_at_once_stop_a_ramp_once(world):
    # GIVEN the 1 -> 5 ramp baking under ALARM
    w = world(guard=False)
    ramped(w)
    w.state = "ALARM"
    w.run(FAULT_DURING_BAKE)
    # WHEN a second run stops it and deploys the canary off between the first's reads and
    # its StopDeployment
    inner: list[dict[str, Any]] = []
    outer = overlapping(w, second_run(w, inner), "StopDeployment")
    # THEN the first run's stop is refused (nothing left to stop) and nothing is undone
    assert (inner[0]["outcome"], inner[0]["stopped"]) == ("GUARD-APPLIED", 2)
    assert (outer["outcome"], outer["reason"]) == ("GUARD-RACED", "deployment-ended-meanwhile")
    assert [w.plane.state(d) for d in w.appconfig.deployments] == ["COMPLETE", "ROLLED_BACK", "DEPLOYING"]
    w.run(int(w.clock.now) + POLL_S + GUARD_DEPLOY_S)
    assert w.served_percent(w.clock.now) == 0
    assert [w.plane.state(d) for d in w.appconfig.deployments][-1] == "COMPLETE"


READINGS = ["at-once", "on-transition"]


@pytest.mark.parametrize("reading", READINGS)
@pytest.mark.parametrize("fault", [FAULT_DURING_BAKE, FAULT_AFTER_BAKE])
def test_the_guard_without_a_monitor_holds_under_either_reading(world, reading, fault):
    # no monitor is attached, so the undocumented case cannot arise; the reading is a
    # property of the world that the design must not depend on
    w = world(monitor=False, reading=reading)
    ramped(w)
    w.script[fault] = "ALARM"
    w.run(fault + 3600)
    assert_off_within_bound(w, fault, fault + 3600)


@pytest.mark.parametrize("reading", READINGS)
def test_the_old_design_leaves_users_on_the_canary_after_a_fault_during_the_bake(world, reading):
    # GIVEN a monitor and the edge-triggered brake: the one ALARM event comes while the
    # ramp bakes, so the brake skips; the monitor then rolls back to the previous step (1%)
    w = world(guard=False, monitor=True, reading=reading, edge_brake=True)
    ramped(w)
    w.script[FAULT_DURING_BAKE] = "ALARM"
    w.run(FAULT_DURING_BAKE + 7200)
    # THEN users are still on the canary two hours later, under both readings
    assert w.served_percent(w.clock.now) == 1


@pytest.mark.parametrize(("reading", "held"), [("at-once", False), ("on-transition", True)])
def test_the_old_design_after_the_bake_depends_on_the_undocumented_reading(world, reading, held):
    w = world(guard=False, monitor=True, reading=reading, edge_brake=True)
    ramped(w)
    w.script[FAULT_AFTER_BAKE] = "ALARM"
    w.run(FAULT_AFTER_BAKE + 3600)
    assert (w.served_percent(w.clock.now) == 0) is held


@pytest.mark.parametrize(("reading", "held"), [("at-once", False), ("on-transition", True)])
def test_a_monitor_would_undo_even_the_guard_under_the_at_once_reading(world, reading, held):
    # why cutover removes the monitor instead of keeping it beside the guard: under the at-once
    # reading every canary-off deployment is rolled back to the canary as it starts
    w = world(monitor=True, reading=reading)
    ramped(w)
    w.script[FAULT_AFTER_BAKE] = "ALARM"
    w.run(FAULT_AFTER_BAKE + 1800)
    assert (w.served_percent(w.clock.now) == 0) is held


def test_the_guard_deploys_nothing_while_the_alarm_is_not_in_alarm(world, capsys):
    # a new composite starts in INSUFFICIENT_DATA: the first flag deployment is left alone
    w = world()
    w.state = "INSUFFICIENT_DATA"
    one = w.host(1)
    w.ramp_to(one)
    w.run(3600)
    assert [d.number for d in w.appconfig.deployments] == [1] and w.plane.state(w.appconfig.deployments[0]) == \
        "COMPLETE"
    assert {o for _, o in w.outcomes} == {"GUARD-IDLE"} and len(w.outcomes) == 60
    assert capsys.readouterr().out == ""
