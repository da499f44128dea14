"""The rehearsal: the release of a spec, minute by simulated minute, as production would
run it (docs/rehearsal.md).

The engine is a tick loop: it advances the virtual clock one minute at a time and
calls, in a fixed order, collaborators that each get only what they need:

1. the timeline (timeline.py): what is due by the minute's start (faults that start or
   end, deliveries, the guard's schedule, the runbook);
2. the ramp (ramp.py), the operator's side: the go/no-go decision when a hold ends
   (PROMOTE: the next step's apply; HOLD: the step again; ROLLBACK: `cutover rollback`);
3. AWS before the traffic (aws.py): CodeDeploy's traffic shift, AppConfig deployments
   finishing their growth or bake;
4. the traffic (traffic.py): the minute's requests to the routers (and through them the
   candidate, synchronously for the canary, through the asynchronous queue for shadow
   events), each after the timed events due before it;
5. AWS after the traffic: every alarm evaluated as CloudWatch would at the minute's end,
   and what watches the rollback alarm reacting as AWS documents it (an AppConfig
   monitor when the scenario's world attaches one, CodeDeploy while its deployment runs,
   the composite's transitions delivered by EventBridge and SNS some seconds later);
6. the recorder: the minute's row.

"Rolled back" is the moment the candidate serves its last canary user, not the moment
something decided to roll back: the run goes on for the scenario's tail after the
decision, and a rollback that leaves the candidate serving is reported as incomplete.
What the run leaves is a ``RunRecord`` (record.py), which the report reads.
"""

from __future__ import annotations

import random
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cutover.generator.spec.model import ReleaseSpec

from . import seams
from .appconfig import ConflictError, Deployment
from .aws import Aws
from .clock import VirtualClock
from .database import Database
from .decision import Evidence, analyse_step
from .eventbridge import AlarmDelivery, Schedule
from .population import Population, user_id
from .ramp import Ramp, Step, pct
from .record import (
    AlarmTrack,
    Event,
    EventKind,
    GuardTally,
    MinuteRow,
    Outcome,
    PathRecord,
    RunOutcome,
    RunRecord,
)
from .release import ACCOUNT, alarm_document, flag_document, live_module, shift_plan
from .responder import GuardResponder, ResponderContext, ResponderFactory
from .scenario import Fault, Scenario
from .telemetry import Telemetry
from .timeline import Timeline
from .traffic import Tally, Traffic
from .world import World

if TYPE_CHECKING:
    from .progress import Progress

# The example's tables and mock control, as functions/build.py vendors them into the zips
# (from example/user-profile/): the database is created and seeded from the packaged code.
EXAMPLE_SCHEMA = "user_profile/schema.sql"
EXAMPLE_MOCK = "user_profile.mock"


@dataclass
class Options:
    spec: ReleaseSpec
    spec_file: str
    scenario: Scenario
    scenario_file: str | None
    build_dir: Path
    alarms_file: Path
    database_url: str | None = None
    max_minutes: int = 60 * 24 * 60
    progress: Progress | None = None
    # What reacts to the rollback alarm; None: the real guard function (docs/functions.md, Guard). A test may
    # swap in another (tests/rehearsal/test_naive_brake.py).
    responder: ResponderFactory | None = None
    # The controller's state machine drives the ramp instead of the operator (controller.py); its
    # function's package (default: build/functions/controller.zip).
    controller: bool = False
    controller_package: Path | None = None
    # A change to the rendered definition before it runs: a test may break it to show that
    # the scenario's expectation catches the broken transition (tests/rehearsal/test_controller_runs.py).
    controller_definition: Callable[[dict[str, Any]], dict[str, Any]] | None = None


class Recorder:
    """What the run saw, as it happened: events, the minute rows, the flag changes."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.events: list[Event] = []
        self.rows: list[tuple[int, Counter, float]] = []
        self.flag_changes: list[float] = []  # when the flags every client gets changed
        self.settle_s = 0.0  # a flag change propagates: an agent poll, the flag cache, a few seconds

    def event(self, t: float, kind: EventKind, detail: str) -> None:
        self.events.append(Event(t, kind, detail))
        if self.progress is not None:
            self.progress.event(int(t // 60), kind.value, detail)

    def note(self, minute: int, kind: str, detail: str) -> None:
        if self.progress is not None:
            self.progress.event(minute, kind, detail)

    def row(self, minute: int, counts: Counter, canary_percent: float) -> None:
        self.rows.append((minute, counts, canary_percent))

    def flags_changed(self, what: str, deployment: Deployment, t: float) -> None:
        """AppConfig's listener: every deployment started or rolled back (any caller)."""
        live = live_module()
        by = ("the guard" if deployment.description.startswith(live.GUARD_MARK)
              else "cutover rollback" if deployment.description.startswith(live.ROLLBACK_MARK) else None)
        if what == "started" and by is not None:
            self.event(t, EventKind.GUARD if by == "the guard" else EventKind.OPERATOR_ROLLBACK,
                       f"{by} deployed flags version {deployment.version} (canary {pct(deployment.percent)}%): "
                       f"{deployment.description}")
        elif what == "rolled_back":
            self.event(t, EventKind.APPCONFIG_ROLLBACK, f"{deployment.label}: {deployment.rollback_reason}, "
                                                        f"flags version {deployment.previous} again")
        self.flag_changes.append(t)

    def propagating(self, t: float) -> int | None:
        """The flag change (its index) still propagating at ``t``: within an agent poll
        interval plus the router's flag cache (and a few seconds) of it; None if none."""
        for i in range(len(self.flag_changes) - 1, -1, -1):
            at = self.flag_changes[i]
            if at <= t:
                return i if t - at <= self.settle_s else None
        return None


class Release:
    """``ReleaseActions`` on the rehearsal's AWS: an apply of the spec at a percent (its
    alarms re-rendered, then its flags deployed with the spec's strategy), `cutover
    rollback`, and the runbook's reconcile at 0%."""

    def __init__(self, spec: ReleaseSpec, spec_file: str, world: World, alarms: Any,
                 alarm_documents: dict[float, dict[str, Any]], journal: Recorder, step_faults: Any) -> None:
        self.spec, self.spec_file, self.world, self.alarms = spec, spec_file, world, alarms
        self.alarm_documents, self.journal, self.step_faults = alarm_documents, journal, step_faults

    def start_step(self, percent: float, minute: int, label: str) -> Deployment:
        self.step_faults(percent, minute * 60.0)
        changed = seams.reconfigure(self.alarms, self.alarm_documents[percent])
        if changed:
            self.journal.event(minute * 60.0, EventKind.ALARMS_APPLIED, f"{label}: alarms re-rendered ({changed})")
        world = self.world
        version = world.appconfig.host(flag_document(self.spec, self.spec_file, percent), label)
        strategy = world.ramp_strategy
        deployment = world.appconfig.deploy(version, minute * 60.0, strategy, label)
        self.journal.event(minute * 60.0, EventKind.FLAG_DEPLOYMENT_STARTED,
                           f"{label}: flags version {version} (canary {pct(percent)}%), {strategy.growth_type} "
                           f"{strategy.growth_factor:g}% over {strategy.duration_s / 60:g} min, "
                           f"bake {strategy.bake_s / 60:g} min")
        return deployment

    def before_start(self, start_step: float) -> None:
        """A ramp that starts at a later step went through the steps before it: the step
        before is deployed (and baked) already, so a revert or a rollback of the first
        deployment returns to it, as it would in production."""
        steps = list(self.spec.read_paths[0].canary.steps)
        index = steps.index(start_step)
        before = steps[index - 1] if index > 0 else 0.0
        appconfig, strategy = self.world.appconfig, self.world.ramp_strategy
        t = -(strategy.duration_s + strategy.bake_s + 60.0)
        version = appconfig.host(flag_document(self.spec, self.spec_file, before), f"step {pct(before)}")
        listeners, appconfig.listeners = appconfig.listeners, []  # history, not part of the run
        try:
            appconfig.deploy(version, t, strategy, f"step {pct(before)} (before the scenario starts)")
        finally:
            appconfig.listeners = listeners

    def operator_rollback(self, t: float) -> None:
        """`cutover rollback` (docs/operations.md): stop what is in progress, then deploy the canary-off
        document all at once, no bake, marked as the operator's."""
        live = live_module()
        appconfig = self.world.appconfig
        active = appconfig.current(t)
        if active is not None and active.in_progress(t) and not active.description.startswith(live.ROLLBACK_MARK):
            appconfig.roll_back(active, t)
        version = appconfig.version_for("", t, all_targets=True)
        document = appconfig.versions.get(version) if version else None
        off = live.canary_off(document, self.world.canary_flags) if document else None
        if off is None:
            return
        number = appconfig.host(off[0], "cutover rollback")
        appconfig.deploy(number, t, self.world.guard_strategy,
                         f"{live.ROLLBACK_MARK} the go/no-go analysis said ROLLBACK")

    def reconcile(self, t: float) -> bool:
        """The spec's percent back to 0, then an apply: its alarms re-rendered for 0% and
        its flags deployed with the spec's strategy (a deployment in progress, the
        guard's, makes Terraform's StartDeployment get a ConflictException)."""
        appconfig = self.world.appconfig
        changed = seams.reconfigure(self.alarms, self.alarm_documents[0.0])
        self.journal.event(t, EventKind.ALARMS_APPLIED, f"reconcile at 0%: alarms re-rendered ({changed or 'unchanged'})")
        try:
            version = appconfig.host(flag_document(self.spec, self.spec_file, 0.0), "reconcile 0%")
            appconfig.deploy(version, t, self.world.ramp_strategy, "reconcile: the spec at 0% applied")
        except ConflictError:
            return False
        self.journal.event(t, EventKind.FLAG_DEPLOYMENT_STARTED,
                           f"reconcile: flags version {version} (canary 0%), the spec at 0% applied")
        return True


class Rehearsal:
    def __init__(self, options: Options) -> None:
        self.o = options
        self.spec, self.scenario = options.spec, options.scenario
        self.clock = VirtualClock()
        self.store = seams.metric_store()
        self.plan = ramp_plan(self.spec, self.scenario)
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
        self.recorder = Recorder(options.progress)
        self.timeline = Timeline(self._faults)
        seed = self.scenario.seed
        self.delivery_rng = random.Random(f"delivery:{seed}")
        self.request_rng = random.Random(f"requests:{seed}")
        self.schedule_phase = random.Random(f"schedule:{seed}").uniform(0.0, 60.0)
        self.minutes_run = 0

    # -- the run -----------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        wall = time.perf_counter()
        database = Database.open(self.o.database_url)
        try:
            self._prepare(database)
            world = World(self.spec, self.o.spec_file, self.scenario, self.o.build_dir, database, self.clock,
                          self.publish, self.telemetry.ingest, seams.rollback_name(self.alarms),
                          self.recorder.flags_changed, self.alarms)
            try:
                record = self._run(world)
            finally:
                if getattr(self, "controller_apis", None) is not None:
                    self.controller_apis.close()
                world.close()
        finally:
            database.close()
        from .report_data import build_report

        return build_report(record, self.o, time.perf_counter() - wall, _peak_rss_mb())

    def _prepare(self, database: Database) -> None:
        prepare_database(database, self.o.build_dir, self.scenario.traffic.users)

    def _wire(self, world: World) -> None:
        """The collaborators of the tick loop, each given only what it needs."""
        self.world = world
        at, recorder = self.timeline.at, self.recorder
        recorder.settle_s = world.poll_interval_s + world.flags_ttl_s + 5.0
        self.release = Release(self.spec, self.o.spec_file, world, self.alarms, self.alarm_documents, recorder,
                               self._step_faults)
        evidence = Evidence(self.spec, self.telemetry, f"rehearsal {self.scenario.name} seed {self.scenario.seed}",
                            world.poll_interval_s)
        if self.o.controller:
            self.ramp = self._controller_ramp(world)
        else:
            self.ramp = Ramp(self.plan, self.scenario.ramp, self.release, recorder, at,
                             lambda step, minute: analyse_step(evidence, step, minute))
        self.responder = (self.o.responder or GuardResponder)(
            ResponderContext(world, self.alarms, at, self.delivery_rng, recorder.event))
        self.delivery = AlarmDelivery(self.delivery_rng, at, world.faults.lost,
                                      lambda t, detail: recorder.event(t, EventKind.NOTIFICATION_LOST, detail),
                                      self.responder)
        self.schedule = Schedule(self.schedule_phase, self.delivery_rng, at, self.responder.schedule)
        self.aws = Aws(world, self.alarms, self.store, recorder, self.delivery, self.ramp.alarm)
        self.tally = Tally([rig.name for rig in world.paths], recorder.propagating)
        self.traffic = Traffic(Population(self.scenario.traffic, self.scenario.seed), world, self.telemetry,
                               self.request_rng, self.scenario.traffic.path_shares, self.tally)

    def _controller_ramp(self, world: World) -> Ramp:
        """The ramp as the controller's state machine walks it (controller.py)."""
        from . import controller as c
        from .functions import package_path

        spec, spec_file, holder = self.spec, self.o.spec_file, []
        machine = c.machine_arn(spec)
        self.controller_apis = apis = c.ControllerApis(
            world, self.telemetry, lambda: [(machine, r.execution) for r in holder if r.execution is not None])
        package = self.o.controller_package or package_path(self.o.build_dir, "controller")
        fn, arn = c.controller_function(world, package, c.controller_environment(world, apis, machine, spec_file))
        start = self.scenario.ramp.start_step
        steps = list(spec.read_paths[0].canary.steps)
        applied = 0.0 if start is None or steps.index(start) == 0 else float(steps[steps.index(start) - 1])
        c.kept_versions(world.appconfig, spec, spec_file, applied)
        ids = world.appconfig.ids
        topic = f"arn:aws:sns:{spec.release.region}:{ACCOUNT}:{spec.release.name}-{spec.release.environment}-alarms"
        values = {"controller_function_arn": arn, "application_id": ids["application"],
                  "environment_id": ids["environment"], "profile_id": ids["profile"],
                  "strategy_id": world.ramp_strategy.id,
                  "kms_key_arn": f"arn:aws:kms:{spec.release.region}:{ACCOUNT}:key/rehearsal", "topic_arn": topic}
        definition = c.rendered(c.controller_config(spec, spec_file, world.canary_flags, self.scenario), values)
        if self.o.controller_definition is not None:
            definition = self.o.controller_definition(definition)
        ramp = c.ControllerRamp(self.plan, self.scenario.ramp, self.release, self.recorder, self.timeline.at,
                                c.Wiring(world, fn, arn, machine, topic, apis.sns), definition,
                                self.scenario.ramp.start_step)
        holder.append(ramp)
        return ramp

    def _run(self, world: World) -> RunRecord:
        self._wire(world)
        ramp, limit = self.ramp, self.o.max_minutes
        max_requests = self.scenario.traffic.max_requests
        if self.scenario.ramp.start_step is not None:
            self.release.before_start(self.scenario.ramp.start_step)
        ramp.begin()
        self.schedule.start(0)
        minute = 0
        while minute < limit and not ramp.over(minute):
            if max_requests is not None and self.tally.requests >= max_requests:
                ramp.finish(Outcome.HELD, minute, ["the scenario's max_requests was reached"])
                break
            self.tick(minute)
            minute += 1
        ramp.finish(Outcome.HELD, minute, [f"the run reached its limit of {limit} minutes"])
        return self._record(minute)

    def tick(self, minute: int) -> None:
        """One simulated minute, its collaborators in a fixed order."""
        start = minute * 60.0
        until = self.timeline.until
        until(start)
        if self.ramp.tick(minute):
            until(start)  # a fault tied to the step that starts now
        self.aws.before_traffic(minute)
        self.traffic.tick(minute, lambda: self.ramp.step, until)
        until((minute + 1) * 60 - 1e-6)
        self.aws.after_traffic(minute)
        self.recorder.row(minute, self.tally.minute, self._served_percent((minute + 1) * 60.0 - 1e-6))
        self.minutes_run = minute + 1
        if self.o.progress is not None:
            self.o.progress.update(self.progress_view, minute)

    def _served_percent(self, t: float) -> float:
        """The canary percent every client gets at ``t`` (the first path's flag)."""
        appconfig = self.world.appconfig
        version = appconfig.version_for("", t, all_targets=True)
        values = appconfig.versions[version].get("values", {}) if version else {}
        canary = values.get(self.world.canary_flags[0], {}) or {}
        return canary.get("percent", 0) if canary.get("enabled") else 0

    # -- faults ------------------------------------------------------------------------
    def _faults(self, t: float) -> None:
        faults = self.world.faults
        started, ended = faults.transitions(t)
        for i in started:
            fault = faults.faults[i]
            extra = self.world.apply_fault(fault, True, t)
            self.recorder.event(t, EventKind.FAULT_START, f"{fault.kind}: {_describe(fault)}{extra}")
            if fault.kind == "router_deployment":
                self.aws.start_code_deployment(fault.environment, shift_plan(self.spec), int(t // 60))
        for i in ended:
            fault = faults.faults[i]
            self.world.apply_fault(fault, False, t)
            self.recorder.event(t, EventKind.FAULT_END, fault.kind)
        self.timeline.next_fault = faults.next_change()

    def _step_faults(self, percent: float, t: float) -> None:
        self.world.faults.step_started(percent, t)
        self.timeline.next_fault = self.world.faults.next_change()

    # -- the record --------------------------------------------------------------------
    def _settle(self, outcome: RunOutcome, end: float) -> tuple[RunOutcome, float | None]:
        """Was the candidate really stopped? The served flags (all targets) canary-off for
        longer than an agent poll and the flag cache, and no canary user after that.
        Returns the outcome and the moment of the last canary user (None: not stopped)."""
        decided = self.ramp.rollback_decided
        if decided is None:
            return outcome, None
        off_since = self.world.appconfig.off_since(self.world.canary_flags, end)
        settle = self.recorder.settle_s
        last = self.tally.last_canary
        if off_since is None or end - off_since < settle or (last is not None and last > off_since + settle):
            served = "" if last is None else f", the last at minute {last / 60:.1f}"
            why = (f"the candidate still served canary users at the end of the run (the served flags are not "
                   f"canary-off{'' if off_since is None else ' long enough'}{served})")
            return replace(outcome, result=Outcome.ROLLBACK_INCOMPLETE, reasons=(*outcome.reasons, why)), None
        stopped = last if last is not None else decided
        self.recorder.event(stopped, EventKind.CANDIDATE_STOPPED,
                            f"the candidate served its last canary user, {(stopped - decided) / 60:.1f} "
                            f"min after the rollback decision")
        self.recorder.events.sort(key=lambda e: round(e.second, 3))
        return outcome, stopped

    def _record(self, end_minute: int) -> RunRecord:
        outcome, stopped = self._settle(self.ramp.outcome, end_minute * 60.0)
        tally, world, telemetry = self.tally, self.world, self.telemetry
        rows = tuple(MinuteRow(m, percent, counts.get("requests", 0), counts.get("user_errors", 0),
                               counts.get("served_by_candidate", 0), dict(telemetry.minutes.get(m, {})),
                               {route: telemetry.p95(route, m, m + 1)[0] for route in ("control", "canary")})
                     for m, counts, percent in self.recorder.rows)
        roles = seams.alarm_roles(self.alarms)
        alarms = tuple(AlarmTrack(name, role, tuple(self.aws.history.changes.get(name, [])))
                       for name, role in sorted(roles.items(), key=lambda kv: (kv[1] != "rollback", kv[0])))
        paths = tuple(PathRecord(name, c["requests"], c["canary_requests"], c["user_errors"],
                                 len(tally.path_users[name])) for name, c in tally.path_counts.items())
        apis = getattr(world, "guard_apis", None)
        notifications = self.delivery.notifications + (apis.published() if apis is not None else [])
        controller = getattr(self, "controller_apis", None)
        if controller is not None:
            notifications += controller.published()
        return RunRecord(
            plan=tuple(self.plan), outcome=outcome, end_minute=end_minute, rows=rows,
            events=tuple(self.recorder.events), decisions=tuple(self.ramp.decisions),
            steps=tuple(s.record() for s in self.ramp.steps), paths=paths, alarms=alarms,
            requests=tally.requests, user_errors=tally.user_errors,
            users_served_by_candidate=len(tally.all_candidate_users),
            route_flips=tuple(tally.user_flips.values()), rollback_decided=self.ramp.rollback_decided,
            rolled_back_at=stopped, first_fault=world.faults.first_started(),
            code_deployment=self.aws.code_deployment(),
            notifications=tuple(sorted(notifications, key=lambda n: n["second"])),
            divergent_fields=dict(telemetry.divergent_fields), guard=tally_of(self.responder),
            cold_starts=dict(sorted(world.lambda_.cold_starts.items())), shadow_dlq=len(world.lambda_.dlq),
            flag_reads=world.agents.requests,
            controller=self.ramp.summary() if self.o.controller else None)

    def progress_view(self) -> Any:
        from .progress import ProgressView

        ramp = getattr(self, "ramp", None)
        step = ramp.step.percent if ramp is not None and ramp.steps else None
        alarms = [(name, role, self.alarms.state(name)) for name, role in
                  sorted(seams.alarm_roles(self.alarms).items(), key=lambda kv: (kv[1] != "rollback", kv[0]))]
        tally = getattr(self, "tally", None)
        return ProgressView(self.scenario.name, step, tally.requests if tally else 0,
                            tally.user_errors if tally else 0, tuple(alarms),
                            tuple(ramp.decisions) if ramp is not None else ())


def ramp_plan(spec: ReleaseSpec, scenario: Scenario) -> list[float]:
    """The steps the run goes through: the spec's, from the scenario's start step or
    after a shadow phase."""
    steps = list(spec.read_paths[0].canary.steps)
    ramp = scenario.ramp
    if ramp.start_step is not None:
        if ramp.start_step not in steps:
            raise ValueError(f"ramp.start_step {ramp.start_step:g} is not a step of the spec "
                             f"({', '.join(f'{p:g}' for p in steps)})")
        return steps[steps.index(ramp.start_step):]
    return [0.0] * (ramp.shadow_minutes > 0) + steps


def tally_of(responder: Any) -> GuardTally:
    """What the responder counted (the guard's runs; another responder may count less)."""
    return GuardTally(getattr(responder, "runs", 0), getattr(responder, "idle_ticks", 0),
                      dict(sorted(getattr(responder, "outcomes", {}).items())))


def _describe(fault: Fault) -> str:
    data = fault.model_dump(exclude={"kind", "when"})
    return ", ".join(f"{k}={v}" for k, v in data.items()) or "on"


def prepare_database(database: Database, build_dir: Path, users: int) -> None:
    """The candidate's tables (the packaged schema) with the control's answers for the
    population's ``users`` (the packaged mock), as every run of the release starts."""
    from .functions import package_path

    schema = _read_from_zip(package_path(build_dir, "candidate"), EXAMPLE_SCHEMA)
    database.create_schema(schema)
    mock = _mock_from_zip(package_path(build_dir, "router"))
    database.seed((user_id(i) for i in range(users)), mock.mock_profile)


def _read_from_zip(zip_path: Path, name: str) -> str:
    import zipfile

    with zipfile.ZipFile(zip_path) as zf:
        return zf.read(name).decode()


def _mock_from_zip(zip_path: Path) -> Any:
    """The control's answers as the packaged code computes them (its own module copy)."""
    from .functions import ModuleSet

    modules = ModuleSet(zip_path, EXAMPLE_MOCK, VirtualClock())
    return modules.handler


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


__all__ = ["Options", "Rehearsal", "Step", "prepare_database", "ramp_plan"]
