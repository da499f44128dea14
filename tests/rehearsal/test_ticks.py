"""The rehearsal's tick loop, one decision at a time: each test builds a tiny world of
fake collaborators, advances a few ticks and checks one decision. Pure Python: no
PostgreSQL, no handler zips, no real guard."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import pytest

from cutover.rehearsal.appconfig import AppConfig, Strategy
from cutover.rehearsal.aws import Aws
from cutover.rehearsal.cloudwatch import AlarmHistory
from cutover.rehearsal.decision import StepAnalysis
from cutover.rehearsal.engine import Recorder, Rehearsal
from cutover.rehearsal.eventbridge import AlarmDelivery, Schedule
from cutover.rehearsal.lambda_service import CodeDeployment, Function, Result
from cutover.rehearsal.ramp import Ramp
from cutover.rehearsal.record import EventKind, Outcome, Verdict
from cutover.rehearsal.responder import IDLE_TICKS_PER_RUN, GuardResponder, ResponderContext
from cutover.rehearsal.scenario import Ramp as RampSettings
from cutover.rehearsal.timeline import Timeline
from cutover.rehearsal.traffic import Tally

COMPOSITE = "rel-rollback"
MEMBER = "rel-router-errors"


# -- fakes ------------------------------------------------------------------------------
class Alarms:
    """A composite and one member, in the states a test scripts per evaluation minute."""

    def __init__(self, script: dict[int, str] | None = None) -> None:
        self.alarms = {"router_errors": SimpleNamespace(name=MEMBER, role="rollback", judges="router")}
        self.composite_name = COMPOSITE
        self.document = {"alarms": {"router_errors": {"name": MEMBER, "judges": "router"}},
                         "rollback": {"members": ["router_errors"]}}
        self.script = script or {}
        self.states = {MEMBER: "OK", COMPOSITE: "OK"}

    def evaluate(self, end_s: int) -> None:
        state = self.script.get(end_s // 60 - 1)
        if state is not None:
            self.states = {MEMBER: state, COMPOSITE: state}

    def state(self, name: str) -> str:
        return self.states.get(name, "INSUFFICIENT_DATA")


class Journal:
    def __init__(self) -> None:
        self.events: list[tuple[float, EventKind, str]] = []
        self.notes: list[str] = []

    def event(self, t: float, kind: EventKind, detail: str) -> None:
        self.events.append((t, kind, detail))

    def note(self, minute: int, kind: str, detail: str) -> None:
        self.notes.append(detail)

    def kinds(self) -> list[EventKind]:
        return [kind for _, kind, _ in self.events]


class Actions:
    """ReleaseActions that only remember what they were asked."""

    def __init__(self, reconcile_conflicts: int = 0) -> None:
        self.calls: list[tuple[str, float]] = []
        self.conflicts = reconcile_conflicts

    def start_step(self, percent: float, minute: int, label: str) -> None:
        self.calls.append(("apply", percent))

    def operator_rollback(self, t: float) -> None:
        self.calls.append(("operator_rollback", t))

    def reconcile(self, t: float) -> bool:
        self.calls.append(("reconcile", t))
        self.conflicts -= 1
        return self.conflicts < 0


def verdicts(*sequence: Verdict) -> Any:
    """An analysis that answers these verdicts in turn, one check each."""
    answers = iter(sequence)

    def analyse(step: Any, minute: int) -> StepAnalysis:
        verdict = next(answers)
        return StepAnalysis(verdict, [{"verdict": verdict.value, "reason": f"{verdict.value} at {minute}"}], {})

    return analyse


def ramp_with(*answers: Verdict, plan: tuple[float, ...] = (1.0, 5.0), **settings: Any) -> tuple[Ramp, Actions,
                                                                                                   Journal, Timeline]:
    actions, journal, timeline = Actions(), Journal(), Timeline(lambda t: None)
    ramp = Ramp(list(plan), RampSettings(hold_minutes=10, shadow_minutes=0, **settings), actions, journal,
                timeline.at, verdicts(*answers))
    ramp.begin()
    return ramp, actions, journal, timeline


def run_ticks(ramp: Ramp, timeline: Timeline, minutes: range) -> None:
    for minute in minutes:
        timeline.until(minute * 60.0)
        ramp.tick(minute)


class Guard:
    """The guard function's stand-in: invoked while the composite is in ALARM, it turns
    the canary off (as the real one deploys the canary-off flags)."""

    def __init__(self, alarms: Alarms, busy_until: float = -1.0) -> None:
        self.alarms, self.busy_until = alarms, busy_until
        self.invocations: list[tuple[float, str]] = []
        self.canary_on = True

    def run(self, fn: Any, event: dict[str, Any], t: float, kind: str) -> Result:
        if t < self.busy_until:
            return Result({"errorType": "TooManyRequestsException"}, "Throttled", 0.0, "1", False, throttled=True)
        self.invocations.append((t, event["detail-type"]))
        if self.alarms.state(COMPOSITE) == "ALARM":
            self.canary_on = False
            return Result({"outcome": "GUARD-CANARY-OFF"}, None, 0.1, "1", False)
        return Result({"outcome": "GUARD-IDLE"}, None, 0.1, "1", False)


def guard_world(alarms: Alarms, **guard: Any) -> tuple[GuardResponder, Guard, Timeline, Journal]:
    fake = Guard(alarms, **guard)
    world = SimpleNamespace(guard=object(), lambda_=fake)
    timeline, journal = Timeline(lambda t: None), Journal()
    responder = GuardResponder(ResponderContext(world, alarms, timeline.at, random.Random(1), journal.event))
    return responder, fake, timeline, journal


# -- the operator: ramp, hold, rollback ------------------------------------------------
def test_a_hold_verdict_keeps_the_step_and_decides_again_one_hold_later():
    ramp, actions, _journal, timeline = ramp_with(Verdict.HOLD)
    run_ticks(ramp, timeline, range(11))
    assert [s.percent for s in ramp.steps] == [1.0]
    assert ramp.step.holds == 1 and ramp.step.ended is None
    assert ramp.decision_due == 20
    assert actions.calls == [("apply", 1.0)]  # no new apply
    assert [d.verdict for d in ramp.decisions] == [Verdict.HOLD]


def test_a_promote_verdict_applies_the_next_step():
    ramp, actions, _, timeline = ramp_with(Verdict.PROMOTE)
    run_ticks(ramp, timeline, range(11))
    assert [(s.percent, s.started, s.ended) for s in ramp.steps] == [(1.0, 0, 10), (5.0, 10, None)]
    assert actions.calls == [("apply", 1.0), ("apply", 5.0)]
    assert ramp.outcome is None


def test_promoting_the_last_step_completes_the_release():
    ramp, _, _, timeline = ramp_with(Verdict.PROMOTE, Verdict.PROMOTE)
    run_ticks(ramp, timeline, range(21))
    assert ramp.outcome is not None and ramp.outcome.result is Outcome.PROMOTED and ramp.outcome.minute == 20
    assert ramp.over(20)


def test_more_holds_than_allowed_end_the_run_held():
    ramp, _, _, timeline = ramp_with(Verdict.HOLD, Verdict.HOLD, max_holds=1)
    run_ticks(ramp, timeline, range(21))
    assert ramp.outcome.result is Outcome.HELD and ramp.outcome.step == 1.0
    assert "HOLD 2 times" in ramp.outcome.reasons[0]


def test_a_rollback_verdict_runs_cutover_rollback_then_decides_and_starts_the_tail():
    ramp, actions, journal, timeline = ramp_with(Verdict.ROLLBACK, tail_minutes=15)
    run_ticks(ramp, timeline, range(11))
    assert actions.calls == [("apply", 1.0), ("operator_rollback", 600.0)]
    assert ramp.rollback_decided == 600.0
    assert [(s.percent, s.tail) for s in ramp.steps] == [(1.0, False), (1.0, True)]
    assert ramp.outcome.result is Outcome.ROLLED_BACK and ramp.finish_at == 25
    assert journal.kinds()[-1] is EventKind.ROLLBACK_DECISION


def test_the_rollback_alarm_rolls_back_a_canary_step_but_not_the_shadow_phase():
    shadow, _, _, _ = ramp_with(plan=(0.0, 1.0))
    shadow.alarm(90.0, "OK")
    assert shadow.rollback_decided is None
    canary, _, _, _ = ramp_with()
    canary.alarm(90.0, "OK")
    assert canary.rollback_decided == 90.0
    assert canary.outcome.reasons == ("the rollback alarm went from OK to ALARM",)


def test_the_runbook_reconcile_retries_a_minute_later_while_a_deployment_runs():
    actions, journal, timeline = Actions(reconcile_conflicts=1), Journal(), Timeline(lambda t: None)
    ramp = Ramp([1.0], RampSettings(hold_minutes=10, shadow_minutes=0, reconcile_after_minutes=2), actions,
                journal, timeline.at, verdicts())
    ramp.begin()
    ramp.alarm(90.0, "OK")
    timeline.until(10 * 60.0)
    assert [c for c in actions.calls if c[0] == "reconcile"] == [("reconcile", 210.0), ("reconcile", 270.0)]


# -- AWS: the guard's schedule, the alarm's deliveries, CodeDeploy ----------------------
def test_an_alarm_at_tick_t_makes_the_guards_next_scheduled_run_stop_the_canary():
    alarms = Alarms()
    responder, guard, timeline, _ = guard_world(alarms)
    responder.quiet_ticks = 0
    schedule = Schedule(20.0, random.Random(2), timeline.at, responder.schedule)
    schedule.start(0)
    timeline.until(5 * 60.0)
    assert guard.invocations == [] and guard.canary_on  # OK: the idle ticks are not run
    alarms.states = {MEMBER: "ALARM", COMPOSITE: "ALARM"}  # the evaluation at the end of minute 4
    timeline.until(6 * 60.0)
    assert len(guard.invocations) == 1
    at, kind = guard.invocations[0]
    assert 5 * 60.0 <= at < 6 * 60.0 and kind == "Scheduled Event"
    assert not guard.canary_on


def test_with_the_composite_ok_the_guard_runs_once_an_hour():
    responder, guard, timeline, _ = guard_world(Alarms())
    Schedule(0.0, random.Random(3), timeline.at, responder.schedule).start(0)
    timeline.until(2 * IDLE_TICKS_PER_RUN * 60.0)
    assert len(guard.invocations) == 2
    assert responder.idle_ticks == 2 * IDLE_TICKS_PER_RUN - 2


def test_a_throttled_guard_invocation_is_retried_seconds_later():
    alarms = Alarms()
    alarms.states[COMPOSITE] = "ALARM"
    responder, guard, timeline, _ = guard_world(alarms, busy_until=60.5)
    responder.event(60.0, {"detail-type": "CloudWatch Alarm State Change"})
    assert guard.invocations == []
    timeline.until(70.0)
    assert len(guard.invocations) == 1 and 61.0 <= guard.invocations[0][0] <= 65.0
    assert responder.runs == 1 and responder.outcomes == {"GUARD-CANARY-OFF": 1}


def aws_world(alarms: Alarms, lost: str = "") -> tuple[Aws, Journal, list[tuple[float, str]], Timeline,
                                                        SimpleNamespace]:
    journal, timeline, decided = Journal(), Timeline(lambda t: None), []
    router = Function("router", "live", "router", 3.0, 10)
    router.versions["1"] = SimpleNamespace(zip_path=None, handler_module="router.handler", init="router",
                                           environment={})
    router.routing = {"1": 1.0}
    world = SimpleNamespace(appconfig=AppConfig("app", "env", "profile"), router=router,
                            monitor=SimpleNamespace(evaluated=lambda t, state, changed: None))
    responder = SimpleNamespace(seen=[], event=lambda t, e: responder.seen.append((t, "event")),
                                notification=lambda t, m: responder.seen.append((t, "sns")))
    delivery = AlarmDelivery(random.Random(4), timeline.at, lambda channel: channel in lost,
                             lambda t, detail: journal.event(t, EventKind.NOTIFICATION_LOST, detail), responder)
    store = SimpleNamespace(prune=lambda before: None)
    aws = Aws(world, alarms, store, journal, delivery, lambda t, old: decided.append((t, old)))
    return aws, journal, decided, timeline, responder


def test_the_composite_entering_alarm_decides_the_rollback_and_is_delivered_seconds_later():
    aws, _journal, decided, timeline, responder = aws_world(Alarms({0: "OK", 3: "ALARM"}))
    for minute in range(5):
        aws.after_traffic(minute)
    assert decided == [(240.0, "OK")]
    timeline.until(400.0)
    kinds = [kind for _, kind in responder.seen]
    assert kinds.count("sns") == 1 and kinds.count("event") == 2  # INSUFFICIENT_DATA -> OK, OK -> ALARM
    assert all(t > 240.0 for t, kind in responder.seen if kind == "sns")


def test_a_lost_eventbridge_delivery_is_recorded_and_never_arrives():
    aws, journal, _, timeline, responder = aws_world(Alarms({0: "ALARM"}), lost="eventbridge")
    aws.after_traffic(0)
    timeline.until(600.0)
    assert [kind for _, kind in responder.seen] == ["sns"]
    assert journal.kinds() == [EventKind.NOTIFICATION_LOST]


def test_codedeploy_stops_on_its_alarm_only_while_its_deployment_runs():
    aws, journal, _, _, _ = aws_world(Alarms({4: "ALARM"}))
    aws.start_code_deployment({"X": "1"}, SimpleNamespace(name="Linear50Every2", steps=((0.0, 0.5), (2.0, 1.0))),
                               3)
    assert aws.world.router.routing == {"1": 0.5, "2": 0.5}
    aws.after_traffic(3)
    aws.after_traffic(4)  # its member alarm fires at the end of minute 4
    assert aws.world.router.routing == {"1": 1.0}
    assert aws.code_deployment().value == "rolled_back"
    assert journal.kinds() == [EventKind.CODEDEPLOY_STARTED, EventKind.CODEDEPLOY_ROLLED_BACK]


def test_a_finished_code_deployment_ignores_later_alarms():
    router = Function("router", "live", "router", 3.0, 10)
    router.versions["1"] = SimpleNamespace(zip_path=None, handler_module="h", init="i", environment={})
    code = CodeDeployment.start(router, {}, "AllAtOnce", ((0.0, 1.0),), 0)
    assert code.shift(0) is True and router.routing == {"2": 1.0}
    assert code.watch([MEMBER]) is False and code.state == "succeeded"


def test_appconfig_reports_the_end_of_a_deployments_growth_and_of_its_bake():
    appconfig = AppConfig("app", "env", "profile")
    version = appconfig.host({"values": {}})
    appconfig.deploy(version, 60.0, Strategy("s", 120.0, 300.0, "LINEAR", 50.0), "step 1")
    assert appconfig.milestones(2) == []
    assert appconfig.milestones(3) == [(180.0, "flag_deployment_done", "step 1")]
    assert appconfig.milestones(8) == [(480.0, "bake_done", "step 1")]


def test_alarm_history_keeps_changes_and_answers_the_transition():
    history = AlarmHistory()
    history.observe(1, [(COMPOSITE, "OK")])
    assert history.transition(COMPOSITE, 1) == ("INSUFFICIENT_DATA", "OK", True)
    history.observe(2, [(COMPOSITE, "OK")])
    assert history.transition(COMPOSITE, 2) == ("INSUFFICIENT_DATA", "OK", False)
    history.observe(3, [(COMPOSITE, "ALARM")])
    assert history.transition(COMPOSITE, 3) == ("OK", "ALARM", True)
    assert history.changes[COMPOSITE] == [(1, "OK"), (3, "ALARM")]


# -- the timeline and the record --------------------------------------------------------
def test_the_timeline_runs_a_fault_before_a_timer_due_at_the_same_second():
    seen: list[str] = []
    timeline = Timeline(lambda t: (seen.append(f"fault {t:g}"), setattr(timeline, "next_fault", None)))
    timeline.at(30.0, lambda t: seen.append(f"timer {t:g}"))
    timeline.at(10.0, lambda t: seen.append(f"timer {t:g}"))
    timeline.next_fault = 30.0
    timeline.until(29.0)
    assert seen == ["timer 10"]
    timeline.until(30.0)
    assert seen == ["timer 10", "fault 30", "timer 30"]


def step() -> Any:
    from cutover.rehearsal.ramp import Step

    return Step(5.0, 0)


def test_the_tally_marks_the_last_canary_user():
    tally, current = Tally(["users"], lambda t: None), step()
    tally.served(10.0, "users", 1, current, canary=True, candidate_ok=True, failed=False)
    tally.served(20.0, "users", 2, current, canary=False, candidate_ok=False, failed=False)
    tally.served(30.0, "users", 3, current, canary=True, candidate_ok=False, failed=True)
    tally.served(40.0, "users", 1, current, canary=False, candidate_ok=False, failed=False)
    assert tally.last_canary == 30.0
    assert tally.all_candidate_users == {1} and current.canary_requests == 2
    assert tally.user_errors == 1 and tally.minute["served_by_candidate"] == 1


def test_a_route_change_while_flags_propagate_counts_once():
    tally, current = Tally(["users"], lambda t: 0 if 100.0 <= t <= 160.0 else None), step()
    for t, canary in ((90.0, False), (110.0, True), (120.0, False), (130.0, True), (300.0, True), (400.0, False)):
        tally.served(t, "users", 7, current, canary=canary, candidate_ok=canary, failed=False)
    assert tally.user_flips[("users", 7)] == 2  # one change while propagating, one after


@pytest.mark.parametrize(("changes", "t", "window"), [([], 50.0, None), ([100.0], 150.0, 0),
                                                     ([100.0], 200.0, None), ([100.0, 180.0], 190.0, 1)])
def test_a_flag_change_propagates_for_a_poll_and_the_flag_cache(changes, t, window):
    recorder = Recorder(None)
    recorder.settle_s = 60.0
    recorder.flag_changes = changes
    assert recorder.propagating(t) == window


def test_the_engine_calls_its_collaborators_in_a_fixed_order_each_tick():
    calls: list[str] = []
    r = object.__new__(Rehearsal)
    r.o = SimpleNamespace(progress=None)
    r.timeline = SimpleNamespace(until=lambda t: calls.append(f"until {t:g}"))
    r.ramp = SimpleNamespace(tick=lambda m: calls.append("decide") or True, step=None)
    r.aws = SimpleNamespace(before_traffic=lambda m: calls.append("aws before"),
                            after_traffic=lambda m: calls.append("aws after"))
    r.traffic = SimpleNamespace(tick=lambda m, step, until: calls.append("traffic"))
    r.tally = SimpleNamespace(minute={"requests": 3})
    r.recorder = Recorder(None)
    r.world = SimpleNamespace(appconfig=AppConfig("a", "e", "p"), canary_flags=["canary"])
    r.tick(2)
    assert calls == ["until 120", "decide", "until 120", "aws before", "traffic", "until 180", "aws after"]
    assert r.recorder.rows == [(2, {"requests": 3}, 0)] and r.minutes_run == 3
