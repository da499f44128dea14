"""The rehearsal: the release of a spec, minute by simulated minute, as production would
run it (docs/rehearsal.md).

Each minute: the ramp acts (an apply of the spec at the step's percent: its alarms
re-rendered, then its flag deployment; the go/no-go decision when a hold ends; a
CodeDeploy traffic shift); the minute's requests reach the router (and through it the
candidate, synchronously for the canary, through the asynchronous queue for shadow
events); timed events run at their second, in order with the requests: faults that
start or end, EventBridge deliveries of the rollback alarm's state changes, the guard's
one-minute schedule, SNS notifications. Every alarm is evaluated as CloudWatch would at
the minute's end; what watches the rollback alarm reacts as AWS documents it: CodeDeploy
polls its alarms only while its deployment runs; an AppConfig monitor (only when the
scenario's world attaches one: cutover attaches none) rolls a deployment back to the
previous version on ALARM or INSUFFICIENT_DATA during its deployment and bake; the
composite's actions and EventBridge events fire on transitions only, and are delivered
some seconds later.

"Rolled back" is the moment the candidate serves its last canary user, not the moment
something decided to roll back: the run goes on for the scenario's tail after the
decision, and a rollback that leaves the candidate serving is reported as incomplete.
"""

from __future__ import annotations

import heapq
import random
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import seams
from .appconfig import Deployment
from .clock import VirtualClock
from .database import Database
from .decision import iso
from .population import Population, user_id
from .release import ShiftPlan, alarm_document, flag_document, shift_plan
from .scenario import Scenario
from .telemetry import Telemetry
from .world import World

# Delivery delays (seconds, seeded): AWS documents none of them; they are "some seconds".
EVENTBRIDGE_DELAY_S = (2.0, 30.0)  # alarm state change -> the guard's invocation
SNS_DELAY_S = (1.0, 15.0)  # alarm action -> a subscriber
SCHEDULE_JITTER_S = 10.0  # rate(1 minute) fires within seconds of its slot
THROTTLE_RETRY_S = (1.0, 5.0)  # Lambda retries a throttled asynchronous event
IDLE_TICKS_PER_RUN = 60  # composite not in ALARM: the real guard runs on one tick an hour


@dataclass
class Step:
    percent: float
    started: int
    deployment: Deployment | None = None
    ended: int | None = None
    holds: int = 0
    tail: bool = False  # the run after a rollback decision, its own row
    requests: int = 0
    canary_requests: int = 0
    users: set[int] = field(default_factory=set)


@dataclass
class CodeDeployment:
    started: int
    plan: ShiftPlan
    done: bool = False
    rolled_back: bool = False


@dataclass
class Options:
    spec: Any
    spec_file: str
    scenario: Scenario
    scenario_file: str | None
    build_dir: Path
    alarms_file: Path
    database_url: str | None = None
    max_minutes: int = 60 * 24 * 60
    progress: Any = None  # progress.Progress or None
    # What reacts to the rollback alarm; None: the real guard function (docs/functions.md, Guard). A test may
    # swap in another (tests/rehearsal/test_naive_brake.py): a callable taking the rehearsal.
    responder: Callable[[Any], Any] | None = None


class Rehearsal:
    def __init__(self, options: Options) -> None:
        self.o = options
        self.spec, self.scenario = options.spec, options.scenario
        self.clock = VirtualClock()
        self.store = seams.metric_store()
        self.plan = self._ramp_plan()
        # every step's alarms, as an apply at that percent renders them (generator/plan/alarms.py)
        self.alarm_documents = {p: alarm_document(self.spec, p) for p in sorted({0.0, *self.plan})}
        self.alarms = seams.alarm_evaluator_from(self.alarm_documents[self.plan[0]], self.store)
        stored = set().union(*(seams.document_metrics(d) for d in self.alarm_documents.values()))
        self.telemetry = Telemetry(self.store.put, stored)
        put = self.store.put

        def publish(namespace: str, name: str, dims: Any, t: float, value: float) -> None:
            if (namespace, name) in stored:
                put(namespace, name, dims, t, value)

        self.publish = publish
        self.population = Population(self.scenario.traffic, self.scenario.seed)
        self.steps: list[Step] = []
        self.events: list[dict[str, Any]] = []
        self.decisions: list[dict[str, Any]] = []
        self.alarm_history: dict[str, list[tuple[int, str]]] = {}
        self.rows: list[dict[str, Any]] = []
        self.outcome: dict[str, Any] | None = None
        self.finish_at: int | None = None
        self.decision_due: int | None = None
        self.code: CodeDeployment | None = None
        self.user_errors = 0
        self.requests = 0
        self.all_candidate_users: set[int] = set()
        self.rollback_decided: float | None = None  # seconds: the decision to turn the canary off
        self.rolled_back_at: float | None = None  # seconds: the candidate's last canary user
        self.last_canary: float | None = None
        self.user_route: dict[tuple[str, int], bool] = {}
        self.user_flips: Counter = Counter()
        self.user_flip_window: dict[tuple[str, int], int | None] = {}
        self.user_seen: dict[tuple[str, int], float] = {}
        self.flag_changes: list[float] = []  # when the flags every client gets changed
        self.notifications: list[dict[str, Any]] = []
        self._minute_counts: Counter = Counter()
        self._timers: list[tuple[float, int, Callable[[float], None]]] = []
        self._timer_seq = 0
        self._next_fault: float | None = None
        seed = self.scenario.seed
        self.delivery_rng = random.Random(f"delivery:{seed}")
        self.request_rng = random.Random(f"requests:{seed}")
        self.schedule_phase = random.Random(f"schedule:{seed}").uniform(0.0, 60.0)
        self.world: World | None = None
        self.responder: Any = None

    def _ramp_plan(self) -> list[float]:
        steps = list(self.spec.read_paths[0].canary.steps)
        ramp = self.scenario.ramp
        if ramp.start_step is not None:
            if ramp.start_step not in steps:
                raise ValueError(f"ramp.start_step {ramp.start_step:g} is not a step of the spec "
                                 f"({', '.join(f'{p:g}' for p in steps)})")
            return steps[steps.index(ramp.start_step):]
        return [0.0] * (ramp.shadow_minutes > 0) + steps

    # -- the run -----------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        wall = time.perf_counter()
        database = Database.open(self.o.database_url)
        try:
            self._prepare(database)
            self.world = World(self.spec, self.o.spec_file, self.scenario, self.o.build_dir, database,
                               self.clock, self.publish, self.telemetry.ingest,
                               seams.rollback_name(self.alarms), self._appconfig_changed,
                               self.alarms)
            self.responder = (self.o.responder or GuardResponder)(self)
            self._path_weights()
            try:
                self._loop()
            finally:
                self.world.close()
        finally:
            database.close()
        from .report_data import build_report

        return build_report(self, time.perf_counter() - wall, _peak_rss_mb())

    def _path_weights(self) -> None:
        """Each read path's share of the requests (traffic.path_shares; default equal)."""
        rigs = self.world.paths
        shares = self.scenario.traffic.path_shares
        unknown = sorted(set(shares) - {rig.name for rig in rigs})
        if unknown:
            raise ValueError(f"traffic.path_shares names no read path of the spec: {', '.join(unknown)}")
        weights = [shares.get(rig.name, 0.0) if shares else 1.0 for rig in rigs]
        total = sum(weights)
        self.path_cumulative = [sum(weights[: i + 1]) / total for i in range(len(rigs))]
        self.path_counts = {rig.name: Counter() for rig in rigs}
        self.path_users: dict[str, set[int]] = {rig.name: set() for rig in rigs}

    def _prepare(self, database: Database) -> None:
        from .functions import package_path

        schema = _read_from_zip(package_path(self.o.build_dir, "candidate"), "candidate/schema.sql")
        database.create_schema(schema)
        contract = _contract_from_zip(package_path(self.o.build_dir, "router"))
        database.seed((user_id(i) for i in range(self.scenario.traffic.users)), contract.mock_profile)

    def _loop(self) -> None:
        minute = 0
        self._before_start()
        self._start_step(0, 0)
        self._schedule_guard(0)
        max_requests = self.scenario.traffic.max_requests
        while minute < self.o.max_minutes:
            if self.finish_at is not None and minute >= self.finish_at:
                break
            if max_requests is not None and self.requests >= max_requests:
                self._finish("held", minute, ["the scenario's max_requests was reached"])
                break
            self._minute(minute)
            minute += 1
        if self.outcome is None:
            self._finish("held", minute, [f"the run reached its limit of {self.o.max_minutes} minutes"])
        self.end_minute = minute
        self._settle(minute * 60.0)

    def _minute(self, minute: int) -> None:
        world = self.world
        start, end = minute * 60.0, (minute + 1) * 60
        self._until(start)
        if self.outcome is None and self.decision_due is not None and minute >= self.decision_due:
            self._decide(minute)
            self._until(start)  # a fault tied to the step that starts now
        self._code_deployment(minute)
        self._deployment_events(minute)
        self._minute_counts = Counter()
        until, run_queued, request = self._until, world.lambda_.run_queued, self._request
        for t, user in self.population.arrivals(minute):
            run_queued(t)
            until(t)
            request(t, user)
        run_queued(float(end))
        self._until(end - 1e-6)
        self.alarms.evaluate(end)
        if minute % 60 == 59:
            self.store.prune(end - 86_400 - 3_600)  # no alarm looks back more than a day
        self._watch_alarms(minute + 1)
        self._record(minute)
        if self.o.progress is not None:
            self.o.progress.update(self, minute)

    # -- timed events ----------------------------------------------------------------
    def at(self, t: float, action: Callable[[float], None]) -> None:
        """Run ``action(t)`` at second ``t`` of the run, in order with the requests."""
        self._timer_seq += 1
        heapq.heappush(self._timers, (t, self._timer_seq, action))

    def _until(self, t: float) -> None:
        """Everything due by ``t``: faults that start or end, then timers, in time order."""
        timers = self._timers
        while True:
            fault_at = self._next_fault
            timer_at = timers[0][0] if timers else None
            if (fault_at is None or fault_at > t) and (timer_at is None or timer_at > t):
                return
            if fault_at is not None and (timer_at is None or fault_at <= timer_at):
                self._faults(fault_at)
            else:
                due, _, action = heapq.heappop(timers)
                action(due)

    # -- requests ----------------------------------------------------------------------
    def _request(self, t: float, user: int) -> None:
        world = self.world
        uid = user_id(user)
        event = {"version": "2.0", "routeKey": "GET /users/{userId}", "rawPath": f"/users/{uid}",
                 "requestContext": {"http": {"method": "GET"}}, "pathParameters": {"userId": uid}}
        control_rate = world.faults.control_error_rate()
        world.control_fails = bool(control_rate) and self.request_rng.random() < control_rate
        rig = world.paths[0]
        if len(world.paths) > 1:
            draw = self.request_rng.random()
            rig = next((r for r, c in zip(world.paths, self.path_cumulative, strict=True) if draw < c),
                       world.paths[-1])
        pc = self.path_counts[rig.name]
        pc["requests"] += 1
        result = world.lambda_.run(rig.router, event, t, "request")
        counts = self.telemetry.last_counts if not result.function_error else {}
        failed = bool(result.function_error) or (
            isinstance(result.payload, dict) and int(result.payload.get("statusCode", 200)) >= 500)
        mc = self._minute_counts
        mc["requests"] += 1
        self.requests += 1
        if failed:
            mc["user_errors"] += 1
            self.user_errors += 1
        step = self.steps[-1]
        step.requests += 1
        canary = bool(counts.get("CanaryRequests"))
        key = (rig.name, user)  # a user is sticky per path: each path has its own flag
        previous = self.user_route.get(key)
        if previous is not None and previous != canary:
            # While a flag change propagates (each environment's agent polls on its own
            # clock) a user can meet old and new flags in turn: that is one change of
            # route, counted once per change (the user's previous request or this one
            # within its propagation); any other change counts.
            window = self._propagating(t)
            if window is None:
                window = self._propagating(self.user_seen[key])
            if window is None or self.user_flip_window.get(key) != window:
                self.user_flips[key] += 1
                self.user_flip_window[key] = window
        self.user_route[key] = canary
        self.user_seen[key] = t
        if failed:
            pc["user_errors"] += 1
        if canary:
            self.last_canary = t
            step.canary_requests += 1
            pc["canary_requests"] += 1
            mc["canary_routed"] += 1
            if not counts.get("CanaryErrors") and not failed:
                self.path_users[rig.name].add(user)
                step.users.add(user)
                self.all_candidate_users.add(user)
                mc["served_by_candidate"] += 1

    # -- faults ------------------------------------------------------------------------
    def _faults(self, t: float) -> None:
        world = self.world
        minute = int(t // 60)
        started, ended = world.faults.transitions(t)
        for i in started:
            fault = world.faults.faults[i]
            extra = self._apply_fault(fault, True, t)
            self._event(t, "fault_start", f"{fault.kind}: {_describe(fault)}{extra}")
            if fault.kind == "router_deployment":
                self._start_code_deployment(fault, minute)
        for i in ended:
            fault = world.faults.faults[i]
            self._apply_fault(fault, False, t)
            self._event(t, "fault_end", fault.kind)
        self._next_fault = world.faults.next_change()

    def _apply_fault(self, fault: Any, on: bool, t: float) -> str:
        world = self.world
        if fault.kind == "latency":
            model = world.hooks.latency[fault.target]
            model.factor, model.add_ms = (fault.factor, fault.add_ms) if on else (1.0, 0.0)
        elif fault.kind == "database_outage":
            world.database_outage(on)
        elif fault.kind == "divergence" and on:
            changed = world.database.execute(*_divergence_sql(fault))
            return f" ({changed} rows changed in PostgreSQL)"
        elif fault.kind == "agent_outage":
            world.lambda_.churn_s = world.faults.recycle_seconds()
            if on and world.lambda_.churn_s:
                world.lambda_.shorten_lifetimes(world.router, t, world.lambda_.churn_s)
        return ""

    def _step_faults(self, percent: float, t: float) -> None:
        self.world.faults.step_started(percent, t)
        self._next_fault = self.world.faults.next_change()

    # -- the ramp ----------------------------------------------------------------------
    def _before_start(self) -> None:
        """A ramp that starts at a later step went through the steps before it: the step
        before is deployed (and baked) already, so a revert or a rollback of the first
        deployment returns to it, as it would in production."""
        ramp = self.scenario.ramp
        if ramp.start_step is None:
            return
        steps = list(self.spec.read_paths[0].canary.steps)
        index = steps.index(ramp.start_step)
        before = steps[index - 1] if index > 0 else 0.0
        appconfig = self.world.appconfig
        strategy = self.world.ramp_strategy
        t = -(strategy.duration_s + strategy.bake_s + 60.0)
        version = appconfig.host(flag_document(self.spec, self.o.spec_file, before), f"step {_pct(before)}")
        listeners, appconfig.listeners = appconfig.listeners, []  # history, not part of the run
        try:
            appconfig.deploy(version, t, strategy, f"step {_pct(before)} (before the scenario starts)")
        finally:
            appconfig.listeners = listeners

    def _start_step(self, index: int, minute: int) -> None:
        percent = self.plan[index]
        step = Step(percent, minute)
        self.steps.append(step)
        self._step_faults(percent, minute * 60.0)
        step.deployment = self._apply(percent, minute, f"step {_pct(percent)}")
        hold = self.scenario.ramp.hold(percent)
        self.decision_due = minute + hold
        self._event(minute * 60.0, "ramp", f"step {_pct(percent)}%: hold {hold} min, then the go/no-go analysis")

    def _apply(self, percent: float, minute: int, label: str) -> Deployment:
        """An apply of the spec at that percent: the alarms as rendered for it (an update
        keeps an alarm's state; a new one starts in INSUFFICIENT_DATA), then a new hosted
        version deployed with the spec's strategy."""
        changed = seams.reconfigure(self.alarms, self.alarm_documents[percent])
        if changed:
            self._event(minute * 60.0, "alarms_applied", f"{label}: alarms re-rendered ({changed})")
        return self._deploy_flags(percent, minute, label)

    def _deploy_flags(self, percent: float, minute: int, label: str) -> Deployment:
        world = self.world
        version = world.appconfig.host(flag_document(self.spec, self.o.spec_file, percent), label)
        strategy = world.ramp_strategy
        deployment = world.appconfig.deploy(version, minute * 60.0, strategy, label)
        self._event(minute * 60.0, "flag_deployment_started",
                    f"{label}: flags version {version} (canary {_pct(percent)}%), {strategy.growth_type} "
                    f"{strategy.growth_factor:g}% over {strategy.duration_s / 60:g} min, "
                    f"bake {strategy.bake_s / 60:g} min")
        return deployment

    def _deployment_events(self, minute: int) -> None:
        for deployment in self.world.appconfig.deployments:
            if deployment.rolled_back_at is not None:
                continue
            if deployment.strategy.duration_s and int(deployment.deployed_at // 60) == minute:
                self._event(deployment.deployed_at, "flag_deployment_done", deployment.label)
            if deployment.strategy.bake_s and int(deployment.baked_at // 60) == minute:
                self._event(deployment.baked_at, "bake_done", deployment.label)

    def _decide(self, minute: int) -> None:
        from .decision import analyse_step

        step = self.steps[-1]
        if step.tail:
            self.decision_due = None
            return
        analysis = analyse_step(self, step, minute)
        verdict = analysis.verdict
        index = len(self.steps) - 1
        last = index + 1 >= len(self.plan)
        action = {"PROMOTE": "complete the release" if last else f"promote to {_pct(self.plan[index + 1])}%",
                  "HOLD": "hold", "ROLLBACK": "roll back"}[verdict]
        self.decisions.append({"minute": minute, "step": step.percent, "verdict": verdict, "action": action,
                               "checks": analysis.checks})
        if self.o.progress is not None:
            self.o.progress.event(minute, "decision", f"step {_pct(step.percent)}%: {verdict} -> {action}")
        if verdict == "PROMOTE":
            step.ended = minute
            if last:
                self._finish("promoted", minute, [(f"every step passed its go/no-go analysis; "
                                                  f"the ramp took {minute} simulated minutes")])
            else:
                self._start_step(index + 1, minute)
        elif verdict == "HOLD":
            step.holds += 1
            if step.holds > self.scenario.ramp.max_holds:
                step.ended = minute
                self._finish("held", minute, [f"step {_pct(step.percent)}%: HOLD {step.holds} times: "
                                              + "; ".join(c["reason"] for c in analysis.checks
                                                          if c["verdict"] == "HOLD")])
            else:
                self.decision_due = minute + self.scenario.ramp.hold(step.percent)
        else:
            self._operator_rollback(minute * 60.0)
            self._decide_rollback(minute * 60.0, "the go/no-go analysis: " + "; ".join(
                c["reason"] for c in analysis.checks if c["verdict"] == "ROLLBACK"))

    def _decide_rollback(self, t: float, why: str) -> None:
        """The decision to turn the canary off (the alarm, or the go/no-go analysis). The
        step ends here; what follows is the tail, its own row; the run goes on for the
        scenario's tail to see when the candidate stops serving."""
        if self.rollback_decided is not None or self.outcome is not None:
            return
        self.rollback_decided = t
        minute = int(t // 60)
        step = self.steps[-1]
        step.ended = minute
        self.steps.append(Step(step.percent, minute, tail=True))
        self.decision_due = None
        self._event(t, "rollback_decision", why)
        self.outcome = {"result": "rolled_back", "step": step.percent, "minute": minute, "reasons": [why]}
        self.finish_at = minute + self.scenario.ramp.tail_minutes
        reconcile = self.scenario.ramp.reconcile_after_minutes
        if reconcile is not None:
            self.at(t + reconcile * 60.0, self._reconcile)

    def _reconcile(self, t: float) -> None:
        """The runbook after a rollback: the spec's percent back to 0, then an apply. Its
        alarms are re-rendered for 0% and its flags deployed with the spec's strategy (a
        deployment in progress, the guard's, makes the apply wait and retry: Terraform's
        StartDeployment gets a ConflictException)."""
        from .appconfig import ConflictError

        appconfig = self.world.appconfig
        changed = seams.reconfigure(self.alarms, self.alarm_documents[0.0])
        self._event(t, "alarms_applied", f"reconcile at 0%: alarms re-rendered ({changed or 'unchanged'})")
        try:
            version = appconfig.host(flag_document(self.spec, self.o.spec_file, 0.0), "reconcile 0%")
            appconfig.deploy(version, t, self.world.ramp_strategy, "reconcile: the spec at 0% applied")
        except ConflictError:
            self.at(t + 60.0, self._reconcile)
            return
        self._event(t, "flag_deployment_started", f"reconcile: flags version {version} (canary 0%), the spec at 0% applied")

    def _operator_rollback(self, t: float) -> None:
        """`cutover rollback` (docs/operations.md, Breaking glass): stop what is in progress, then deploy the canary-off
        document all at once, no bake, marked as the operator's."""
        from .release import live_module

        appconfig = self.world.appconfig
        active = appconfig.current(t)
        if active is not None and active.in_progress(t) and not active.description.startswith(
                live_module().ROLLBACK_MARK):
            appconfig.roll_back(active, t)
        version = appconfig.version_for("", t, all_targets=True)
        document = appconfig.versions.get(version) if version else None
        off = live_module().canary_off(document, self.world.canary_flags) if document else None
        if off is None:
            return
        number = appconfig.host(off[0], "cutover rollback")
        appconfig.deploy(number, t, self.world.guard_strategy,
                         f"{live_module().ROLLBACK_MARK} the go/no-go analysis said ROLLBACK")

    def _finish(self, result: str, minute: int, reasons: list[str], tail: bool = False) -> None:
        if self.outcome is not None:
            return
        step = self.steps[-1] if self.steps else None
        self.outcome = {"result": result, "step": step.percent if step else None, "minute": minute,
                        "reasons": reasons}
        self.decision_due = None
        if step is not None and step.ended is None:
            step.ended = minute
        self.finish_at = minute

    def _settle(self, end: float) -> None:
        """Was the candidate really stopped? The served flags (all targets) canary-off for
        longer than an agent poll and the flag cache, and no canary user after that."""
        if self.rollback_decided is None:
            return
        appconfig = self.world.appconfig
        off_since = appconfig.off_since(self.world.canary_flags, end)
        settle = self.world.poll_interval_s + self.world.flags_ttl_s + 5.0
        self.rolled_back_at = self.last_canary if self.last_canary is not None else self.rollback_decided
        if off_since is None or end - off_since < settle or (
                self.last_canary is not None and self.last_canary > off_since + settle):
            self.outcome["result"] = "rollback_incomplete"
            served = "" if self.last_canary is None else f", the last at minute {self.last_canary / 60:.1f}"
            self.outcome["reasons"].append(
                f"the candidate still served canary users at the end of the run (the served flags are not "
                f"canary-off{'' if off_since is None else ' long enough'}{served})")
            self.rolled_back_at = None
            return
        self._event(self.rolled_back_at, "candidate_stopped",
                    f"the candidate served its last canary user, {(self.rolled_back_at - self.rollback_decided) / 60:.1f} "
                    f"min after the rollback decision")
        self.events.sort(key=lambda e: e["second"])

    # -- alarms and what watches them ---------------------------------------------------
    def _watch_alarms(self, minute: int) -> None:
        t = minute * 60.0
        for name in self._alarm_names():
            state = self.alarms.state(name)
            history = self.alarm_history.setdefault(name, [])
            if not history or history[-1][1] != state:
                history.append((minute, state))
        rollback = self.alarm_history[self._rollback_name()]
        state = rollback[-1][1]
        changed = rollback[-1][0] == minute
        old = rollback[-2][1] if changed and len(rollback) > 1 else "INSUFFICIENT_DATA"
        self.world.monitor.evaluated(t, state, changed)
        self._codedeploy_watch(minute)
        if changed:
            self._transition(t, old, state)

    def _transition(self, t: float, old: str, new: str) -> None:
        """The composite changed state at ``t``: its EventBridge event (every change), its
        alarm action (SNS, on entering ALARM only), both delivered some seconds later."""
        faults = self.world.faults
        name = self._rollback_name()
        if new == "ALARM" and self.steps and self.steps[-1].percent > 0 and self.outcome is None:
            self._decide_rollback(t, f"the rollback alarm went from {old} to ALARM")
        if faults.lost("eventbridge"):
            self._event(t, "notification_lost", f"EventBridge: {name} {old} -> {new}")
        else:
            event = eventbridge_event(name, old, new, t)
            self.at(t + self.delivery_rng.uniform(*EVENTBRIDGE_DELAY_S), lambda due: self.responder.event(due, event))
        if new != "ALARM":
            return
        if faults.lost("sns"):
            self._event(t, "notification_lost", f"SNS: {name} ALARM")
            return
        message = sns_alarm_message(name, old, t)
        self.notifications.append({"second": t, "by": "alarm action", "subject": f'ALARM: "{name}"'})
        self.at(t + self.delivery_rng.uniform(*SNS_DELAY_S), lambda due: self.responder.notification(due, message))

    def _schedule_guard(self, minute: int) -> None:
        """EventBridge rate(1 minute): one invocation a minute, at a seeded phase."""
        t = minute * 60.0 + self.schedule_phase + self.delivery_rng.uniform(0.0, SCHEDULE_JITTER_S)

        def fire(due: float) -> None:
            self.responder.schedule(due)
            self._schedule_guard(minute + 1)

        self.at(t, fire)

    def _appconfig_changed(self, what: str, deployment: Deployment, t: float) -> None:
        """AppConfig tells of every deployment started or rolled back (any caller)."""
        from .release import live_module

        live = live_module()
        by = ("the guard" if deployment.description.startswith(live.GUARD_MARK)
              else "cutover rollback" if deployment.description.startswith(live.ROLLBACK_MARK) else None)
        if what == "started" and by is not None:
            self._event(t, "guard" if by == "the guard" else "operator_rollback",
                        f"{by} deployed flags version {deployment.version} (canary {_pct(deployment.percent)}%): "
                        f"{deployment.description}")
        elif what == "rolled_back":
            self._event(t, "appconfig_rollback", f"{deployment.label}: {deployment.rollback_reason}, "
                                                 f"flags version {deployment.previous} again")
        self.flag_changes.append(t)
        if what == "started":
            self.world.monitor.started(t, deployment)

    def all_notifications(self) -> list[dict[str, Any]]:
        """SNS messages: the composite's alarm actions (to the on-call) and the guard's."""
        apis = getattr(self.world, "guard_apis", None) if self.world is not None else None
        return self.notifications + (apis.published() if apis is not None else [])

    def _propagating(self, t: float) -> int | None:
        """The flag change (its index) still propagating at ``t``: within an agent poll
        interval plus the router's flag cache (and a few seconds) of it; None if none."""
        settle = self.world.poll_interval_s + self.world.flags_ttl_s + 5.0
        for i in range(len(self.flag_changes) - 1, -1, -1):
            at = self.flag_changes[i]
            if at <= t:
                return i if t - at <= settle else None
        return None

    def _alarm_names(self) -> list[str]:
        return list(seams.alarm_roles(self.alarms))

    def _rollback_name(self) -> str:
        return seams.rollback_name(self.alarms)

    # -- CodeDeploy --------------------------------------------------------------------
    def _start_code_deployment(self, fault: Any, minute: int) -> None:
        from .lambda_service import Version

        router = self.world.router
        base = router.versions["1"]
        router.versions["2"] = Version("2", base.zip_path, base.handler_module, base.init,
                                       {**base.environment, **fault.environment})
        self.code = CodeDeployment(minute, shift_plan(self.spec))
        self._event(minute * 60.0, "codedeploy_started", f"router version 2 with {self.code.plan.name}")
        self._code_deployment(minute)

    def _code_deployment(self, minute: int) -> None:
        code = self.code
        if code is None or code.done:
            return
        elapsed = minute - code.started
        share = 0.0
        for at, value in code.plan.steps:
            if elapsed >= at:
                share = value
        if share >= 1.0:
            self.world.router.routing = {"2": 1.0}
            code.done = True
            self._event(minute * 60.0, "codedeploy_done", "the alias serves version 2")
        else:
            self.world.router.routing = {"1": 1.0 - share, "2": share}

    def _codedeploy_watch(self, minute: int) -> None:
        """CodeDeploy polls the deployment group's alarms (the metric alarms that judge the
        router) only while its deployment runs; one in ALARM stops it and rolls back."""
        code = self.code
        if code is None or code.done:
            return
        watched = seams.codedeploy_alarms(self.alarms, "router")
        firing = [name for name in watched if self.alarms.state(name) == "ALARM"]
        if not firing:
            return
        code.done = code.rolled_back = True
        self.world.router.routing = {"1": 1.0}
        self._event(minute * 60.0, "codedeploy_rolled_back",
                    f"CodeDeploy stopped the deployment on {', '.join(sorted(firing))}; the alias is back on version 1")

    # -- bookkeeping -------------------------------------------------------------------
    def _record(self, minute: int) -> None:
        t = (minute + 1) * 60.0 - 1e-6
        appconfig = self.world.appconfig
        version = appconfig.version_for("", t, all_targets=True)
        values = appconfig.versions[version].get("values", {}) if version else {}
        canary = values.get(self.world.canary_flags[0], {}) or {}
        percent = canary.get("percent", 0) if canary.get("enabled") else 0
        row = dict(self._minute_counts)
        row["minute"] = minute
        row["canary_percent"] = percent
        self.rows.append(row)

    def _event(self, t: float, kind: str, detail: str) -> None:
        self.events.append({"minute": int(t // 60), "second": round(t, 3), "kind": kind, "detail": detail})
        if self.o.progress is not None:
            self.o.progress.event(int(t // 60), kind, detail)


class GuardResponder:
    """The real guard function (docs/functions.md, Guard), invoked asynchronously by the
    EventBridge rule on the composite's state changes and by its rate(1 minute) schedule.
    It has reserved concurrency 1: an invocation while one runs is throttled, and Lambda
    retries a throttled asynchronous event a few seconds later. The SNS alarm action
    reaches only the on-call (a notification, counted by the engine)."""

    def __init__(self, rehearsal: Rehearsal) -> None:
        self.r = rehearsal
        self.fn = rehearsal.world.guard
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
        r = self.r
        if r.alarms.state(r.alarms.composite_name) != "ALARM" and self.quiet_ticks < IDLE_TICKS_PER_RUN - 1:
            self.quiet_ticks += 1
            self.idle_ticks += 1
            return
        self.quiet_ticks = 0
        self._invoke(t, scheduled_event(t))

    def notification(self, t: float, message: dict[str, Any]) -> None:
        return None

    def _invoke(self, t: float, event: dict[str, Any]) -> None:
        if self.fn is None:
            return
        r = self.r
        result = r.world.lambda_.run(self.fn, event, t, "guard")
        if result.throttled:
            r.at(t + r.delivery_rng.uniform(*THROTTLE_RETRY_S), lambda due: self._invoke(due, event))
            return
        self.runs += 1
        outcome = result.payload.get("outcome") if isinstance(result.payload, dict) else None
        self.outcomes[str(outcome or result.function_error)] += 1
        if result.function_error:
            r._event(t, "guard_error", f"{(result.payload or {}).get('errorType', '')}: "
                                       f"{(result.payload or {}).get('errorMessage', '')}"[:200])


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


def _pct(percent: float) -> str:
    return f"{percent:g}"


def _describe(fault: Any) -> str:
    data = fault.model_dump(exclude={"kind", "when"})
    return ", ".join(f"{k}={v}" for k, v in data.items()) or "on"


def _divergence_sql(fault: Any) -> tuple[str, dict[str, Any]]:
    column, change = {
        "plan": ("plan", "CASE plan WHEN 'free' THEN 'pro' WHEN 'pro' THEN 'team' ELSE 'free' END"),
        "displayName": ("display_name", "display_name || ' Jr'"),
        "email": ("email", "'x' || email"),
        "createdAt": ("created_at", "created_at + interval '1 day'"),
    }[fault.field]
    where = ["(abs(hashtext(user_id)) %% 100000) < %(cut)s"]
    if fault.plan:
        where.append("plan = %(plan)s")
    sql = f"UPDATE users SET {column} = {change} WHERE {' AND '.join(where)}"
    return sql, {"cut": round(fault.share * 100000), "plan": fault.plan}


def _read_from_zip(zip_path: Path, name: str) -> str:
    import zipfile

    with zipfile.ZipFile(zip_path) as zf:
        return zf.read(name).decode()


def _contract_from_zip(zip_path: Path) -> Any:
    """The control's answers as the packaged code computes them (its own module copy)."""
    from .functions import ModuleSet

    modules = ModuleSet(zip_path, "cutover_runtime.contract", VirtualClock())
    return modules.handler


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
