"""The live simulated release behind the sandbox.

The rehearsal's world runs here on the sandbox's clock: the real router and candidate
handlers from ``build/functions/`` (one module set per execution environment), the
candidate's embedded PostgreSQL seeded with the control's answers for the population,
synthetic users arriving minute by minute. What differs from a rehearsal is who decides:

* Flags: the routers' AppConfig agent serves what is APPLIED in the sandbox's AppConfig
  stand-in (``aws.services["appconfig"].find(application, environment, profile)`` with
  the plan's names). Nothing applied: the agent has no configuration, the flag read
  fails, and the control serves every user (as the router does on AWS).
* Alarms: ``aws.tick(now)`` evaluates what was applied, over the metrics the functions
  published, and returns the state transitions.
* EventBridge: the applied rules decide which transitions and schedules invoke what;
  the guard runs in-process with its applied environment (``guard.py``).
* The controller: its state machine's executions (the Step Functions stand-in's) advance
  after EventBridge, their tasks run by ``controller.py`` (its function in-process).
* Faults: ``inject(kind, **params)`` / ``clear(kind)``, the rehearsal's fault kinds.

Each simulated minute, in order: faults due, the minute's traffic, ``aws.tick`` at the
minute's end, then EventBridge, then the state machines' executions that are due. ``run_until(now_s)`` runs every whole minute up to
``now_s`` and leaves the clock there (tests drive it by hand); ``start()`` runs a thread
that keeps the simulation at ``clock.due()``. Only this class moves the clock.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from cutover.generator.workspace import Layout, load_env_spec
from cutover.rehearsal.population import Population
from cutover.rehearsal.ramp import Step
from cutover.rehearsal.scenario import FAULT_KINDS, Expect, Scenario, Traffic
from cutover.rehearsal.traffic import Tally
from cutover.rehearsal.traffic import Traffic as UserTraffic

from . import eventbridge, served
from .controller import Controller
from .controller import client as _client
from .faults import Faults
from .guard import GuardRunner
from .invoke import Invoker
from .sinks import Sinks
from .state import SandboxState

DEFAULT_USERS = 5000
KEEP_METRICS_S = 86_400 + 3_600  # what the rehearsal keeps: no alarm looks back more than a day
PRUNE_EVERY_MINUTES = 60
THREAD_POLL_S = 0.05
RULES_REFRESH_MINUTES = 5
KEEP_DLQ = 1000  # the shadow events that failed (the Lambda stand-in's on-failure list): the latest


class Simulation:
    def __init__(self, state: SandboxState, aws: Any, root: Path | str, env: str, *, seed: int = 1234,
                 users_per_minute: float = 100.0, users: int = DEFAULT_USERS, endpoint: str | None = None,
                 database_url: str | None = None, build_dir: Path | None = None) -> None:
        self.state, self.aws, self.root, self.env = state, aws, Path(root), env
        self.seed, self.users_per_minute, self.users = seed, users_per_minute, users
        self.endpoint, self.database_url = endpoint, database_url
        self.build_dir = build_dir or self.root / "build"
        self.clock = state.clock
        self.minutes = 0  # whole minutes simulated: the next one starts at minutes * 60
        self.last_minute: Counter = Counter()
        self.notes: list[str] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._opened = False
        self.error: str | None = None

    # -- lifecycle ------------------------------------------------------------------
    def open(self) -> None:
        """Load the spec and plan, start PostgreSQL, build the world (idempotent)."""
        with self._lock:
            if not self._opened:
                self._open()
                self._opened = True

    def _open(self) -> None:
        from cutover.generator.plan.release import build_plan
        from cutover.rehearsal.database import Database
        from cutover.rehearsal.engine import prepare_database

        spec, spec_file = load_env_spec(Layout(self.root), self.env)
        plan = build_plan(spec, spec_file)
        self.names = _appconfig_names(plan)
        self.database = Database.open(self.database_url)
        try:
            prepare_database(self.database, self.build_dir, self.users)
            self._world(spec, spec_file, plan)
        except BaseException:
            self.database.close()
            raise

    def _world(self, spec: Any, spec_file: str, plan: Any) -> None:
        from cutover.rehearsal.world import World

        scenario = Scenario(name="sandbox", seed=self.seed, expect=Expect(outcome="promoted"),
                            traffic=Traffic(requests_per_minute=self.users_per_minute, users=self.users))
        self.sinks = Sinks(self.state)
        world = World(spec, spec_file, scenario, self.build_dir, self.database, self.clock,
                      self.sinks.lambda_publish, self.sinks.ingest, "", _ignore, None)
        self.world = world
        self.nothing_applied = world.appconfig  # the world's own AppConfig: never deployed to
        world.lambda_.run = self.sinks.wrap_run(world.lambda_.run)  # type: ignore[method-assign]
        attach = world.attach_router

        def attach_router(env: Any) -> None:
            attach(env)
            self.sinks.trace_router(env.state)

        world.attach_router = attach_router  # type: ignore[method-assign]
        self.faults = Faults(world)
        self.tally = Tally([rig.name for rig in world.paths], lambda t: None)
        self.traffic = UserTraffic(Population(scenario.traffic, self.seed), world, self.sinks.telemetry,
                                   random.Random(f"requests:{self.seed}"), {}, self.tally)
        self.bus = _Bus(self, plan)
        self.invokable = Invoker(self).register(self.aws)
        self.controller: Controller | None = None
        if getattr(self.aws, "stepfunctions", None) is not None:
            self.controller = Controller(self, *_function_call(plan, "controller_function", 60.0))
            self.controller.register(self.aws)

    def start(self) -> None:
        """Keep the simulation at ``clock.due()`` on a thread, minute by minute."""
        self.open()
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="sandbox-simulation", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if not self.step():
                    self._stop.wait(THREAD_POLL_S)
            except Exception as exc:  # noqa: BLE001 - kept for status; the sandbox stays up
                self.error = f"{exc.__class__.__name__}: {exc}"
                self._stop.wait(1.0)

    def step(self) -> bool:
        """One turn of the thread: the next minute if ``due()`` has passed its end (True),
        else the clock moved up to ``due()`` within the minute (False)."""
        due = self.clock.due()
        if due >= (self.minutes + 1) * 60.0:
            self.run_until((self.minutes + 1) * 60.0)
            return True
        with self._lock:
            if due > self.clock.now:
                self.clock.set(due)
        return False

    def stop(self) -> None:
        """Stop the thread, the world's servers and PostgreSQL (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        with self._lock:
            if self._opened:
                self._opened = False
                try:
                    self.world.close()
                finally:
                    self.database.close()

    # -- time -----------------------------------------------------------------------
    def run_until(self, now_s: float) -> None:
        """Every whole simulated minute up to ``now_s``, then the clock at ``now_s``."""
        self.open()
        while (self.minutes + 1) * 60.0 <= now_s:
            with self._lock:
                try:
                    self._minute(self.minutes)
                finally:
                    self.minutes += 1  # a minute that failed half-way is not served twice
        with self._lock:
            if now_s > self.clock.now:
                self.clock.set(now_s)

    def _minute(self, minute: int) -> None:
        start, end = minute * 60.0, (minute + 1) * 60.0
        self._flags()
        self.faults.due(start)
        step = Step(0.0, minute)
        self.traffic.tick(minute, lambda: step, _ignore)
        self.last_minute = self.tally.minute
        self.clock.set(max(self.clock.now, end))
        with self.state.lock:
            transitions = list(self.aws.tick(end))
            if minute % PRUNE_EVERY_MINUTES == PRUNE_EVERY_MINUTES - 1:
                self.state.metrics.prune(int(end) - KEEP_METRICS_S)
        try:
            self.bus.deliver(transitions, minute, end)
        except Exception as exc:  # noqa: BLE001 - EventBridge unreachable: said in the status, traffic goes on
            self.error = f"EventBridge at minute {minute}: {exc.__class__.__name__}: {exc}"
        if self.controller is not None:
            try:
                self.controller.advance(end)
            except Exception as exc:  # noqa: BLE001 - said in the status, traffic goes on
                self.error = f"Step Functions at minute {minute}: {exc.__class__.__name__}: {exc}"
        if minute % PRUNE_EVERY_MINUTES == PRUNE_EVERY_MINUTES - 1:
            _forget_old(self.sinks.telemetry, PRUNE_EVERY_MINUTES)
            del self.world.lambda_.dlq[:-KEEP_DLQ]

    def _flags(self) -> None:
        """The routers' agents serve what is applied now (nothing: no configuration)."""
        found = self.applied()
        appconfig = found if found is not None else self.nothing_applied
        self.world.agents.appconfig = appconfig
        self.world.data_plane.plane.appconfig = appconfig

    def applied(self) -> Any:
        service = self.state.services.get("appconfig")
        return None if service is None else service.find(*self.names)

    # -- faults ---------------------------------------------------------------------
    def inject(self, fault: str, **params: Any) -> dict[str, Any]:
        """Start a fault of the rehearsal's kinds now (``for_minutes`` ends it later)."""
        self.open()
        with self._lock:
            return self.faults.inject(fault, self.clock.now, params)

    def clear(self, fault: str) -> int:
        """End every active fault of that kind now; returns how many ended."""
        self.open()
        with self._lock:
            return self.faults.clear(fault, self.clock.now)

    # -- status ---------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        with self._lock:
            if not self._opened:
                return {"running": False, "sim_time_s": self.clock.now, "speed": self.clock.speed}
            return self._status()

    def _status(self) -> dict[str, Any]:
        minute, tally = self.last_minute, self.tally
        found = self.applied()
        flags = {rig.name: rig.flag_key for rig in self.world.paths}
        percents = served.canary_percents(found, self.clock, flags)
        requests = minute.get("requests", 0)
        by_candidate = minute.get("served_by_candidate", 0)
        guard = self.bus.guard
        last = guard.last_action if guard is not None else None
        ran = guard.runs[-1] if guard is not None and guard.runs else None
        return {
            "running": self._thread is not None, "sim_time_s": self.clock.now,
            "sim_time": served.iso(self.clock.time()), "speed": self.clock.speed, "minutes": self.minutes,
            "requests": tally.requests, "user_errors": tally.user_errors,
            "flags_applied": found is not None, "canary_percent_served": percents,
            "candidate_serving": any(percents.values()) or by_candidate > 0,
            "last_minute": {"requests": requests, "canary_routed": minute.get("canary_routed", 0),
                            "served_by_candidate": by_candidate,
                            "canary_share": round(by_candidate / requests, 4) if requests else 0.0},
            "users_served_by_candidate": len(tally.all_candidate_users),
            "faults_active": self.faults.active(), "fault_kinds": list(FAULT_KINDS),
            "last_guard_action": last.view() if last is not None else None,
            "last_guard_run": ran.view() if ran is not None else None,
            "eventbridge": self.bus.note, "error": self.error,
            "controller": self.controller.status() if self.controller is not None else None,
        }


class _Bus:
    """EventBridge's deliveries, as the applied rules say (``eventbridge.py``)."""

    def __init__(self, sim: Simulation, plan: Any) -> None:
        self.sim = sim
        state = sim.state
        self.account, self.region = state.account_id, state.region
        self.note = "no front door endpoint: EventBridge rules are not read"
        self.guard: GuardRunner | None = None
        self.events: Any = None
        self.rules: list[eventbridge.Rule] | None = None
        self.rules_read = 0
        if sim.endpoint:
            self.events = _client("events", sim.endpoint, state.region)
            guard = _function_call(plan, "guard", 30.0)
            self.guard = GuardRunner(sim.world.lambda_, sim.build_dir, guard[0], guard[1], sim.endpoint,
                                     state.region, _client("lambda", sim.endpoint, state.region))
            self.note = f"rules read on every alarm transition and every {RULES_REFRESH_MINUTES} minutes"

    def deliver(self, transitions: list[Any], minute: int, end: float) -> None:
        if self.events is None:
            return
        rules = self._rules(minute, bool(transitions))
        epoch = self.sim.clock.start_epoch + end
        lost = self.sim.faults.lost("eventbridge")
        for transition in transitions:
            event = eventbridge.alarm_event(transition, self.account, self.region, epoch)
            trigger = f"alarm {transition.name} {transition.old} -> {transition.new}"
            for rule in rules:
                if rule.pattern is not None and not lost and eventbridge.matches(rule.pattern, event):
                    self._invoke(rule, event, end, trigger)
        for rule in rules:
            if rule.every_minutes and (minute + 1) % rule.every_minutes == 0:
                self._invoke(rule, eventbridge.scheduled_event(rule, self.account, self.region, epoch), end,
                             f"schedule {rule.name}")

    def _rules(self, minute: int, fresh: bool) -> list[eventbridge.Rule]:
        """The applied rules: read again for every alarm transition, else every few minutes
        (each read is several calls; an apply's new schedule starts within minutes)."""
        if fresh or self.rules is None or minute - self.rules_read >= RULES_REFRESH_MINUTES:
            self.rules = [r for r in eventbridge.read_rules(self.events) if r.enabled]
            self.rules_read = minute
        return self.rules

    def _invoke(self, rule: eventbridge.Rule, event: dict[str, Any], t: float, trigger: str) -> None:
        for arn in rule.targets:
            name = eventbridge.function_name(arn)
            if eventbridge.is_state_machine(arn):
                self._start(arn, rule.input_of(arn) or json.dumps(event), trigger)
            elif self.guard is not None and name == self.guard.name:
                self.guard.invoke(event, t, trigger)
            elif name not in self.sim.notes:
                self.sim.notes.append(name)  # a target the sandbox does not run (cleanup)


    def _start(self, machine_arn: str, input_text: str, trigger: str) -> None:
        """EventBridge's StartExecution (its role's permission is not checked here)."""
        from .services._codec import AwsError

        try:
            self.sim.aws.stepfunctions.start(machine_arn, None, input_text)
        except AwsError as error:  # a state machine not (or no longer) applied: said in the status
            self.sim.error = f"{trigger}: StartExecution {error.code}: {error.message}"


def _appconfig_names(plan: Any) -> tuple[str, str, str]:
    call = next(c for c in plan.modules if c.name == "feature_flags")
    args = dict(call.args)
    return str(args["application_name"]), str(args["environment_name"]), str(args["profile_name"])


def _function_call(plan: Any, module: str, default_timeout_s: float) -> tuple[str, float]:
    """A function's name and timeout as the plan's module (guard, controller) creates it;
    ("", default) when the plan has none."""
    call = next((c for c in plan.modules if c.name == module), None)
    if call is None:
        return "", default_timeout_s
    args = dict(call.args)
    return str(args.get("name") or args.get("function_name") or ""), float(args.get("timeout_s") or default_timeout_s)


def _forget_old(telemetry: Any, keep: int) -> None:
    """The parser's per-minute aggregates (the rehearsal's report reads them; the sandbox
    does not): the latest ``keep`` minutes stay, so a sandbox that runs for days stays flat."""
    for table in (telemetry.minutes, *telemetry.latency.values()):
        for key in sorted(table)[:-keep]:
            del table[key]


def _ignore(*_: Any) -> None:
    return None
