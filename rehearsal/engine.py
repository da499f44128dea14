"""The rehearsal: the release of a spec, minute by simulated minute, as production would
run it (docs/rehearsal.md).

Each minute: faults start or end; the ramp acts (a step's flag deployment, its go/no-go
decision when its hold ends, a CodeDeploy traffic shift); the minute's requests reach
the router (and through it the candidate, synchronously for the canary, through the
asynchronous queue for shadow events); then every alarm is evaluated as CloudWatch
would at the minute's end, and what watches the rollback alarm reacts: AppConfig's
monitor during a flag deployment and its bake, CodeDeploy during a code deployment,
the brake (canary-off flags) after the bake.
"""

from __future__ import annotations

import json
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import seams
from .appconfig import Deployment
from .clock import VirtualClock
from .database import Database
from .decision import iso
from .population import Population, user_id
from .release import ShiftPlan, flag_document, shift_plan
from .scenario import Scenario
from .telemetry import Telemetry
from .world import World

TAIL_MINUTES = 30  # after a rollback, keep running to show the recovery


@dataclass
class Step:
    percent: float
    started: int
    deployment: Deployment | None = None
    ended: int | None = None
    holds: int = 0
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


class Rehearsal:
    def __init__(self, options: Options) -> None:
        self.o = options
        self.spec, self.scenario = options.spec, options.scenario
        self.clock = VirtualClock()
        self.store = seams.metric_store()
        self.alarms = seams.alarm_evaluator(options.alarms_file, self.store)
        stored = seams.alarm_metrics(self.alarms)
        self.telemetry = Telemetry(self.store.put, stored)
        put = self.store.put

        def publish(namespace: str, name: str, dims: Any, t: float, value: float) -> None:
            if (namespace, name) in stored:
                put(namespace, name, dims, t, value)

        self.publish = publish
        self.population = Population(self.scenario.traffic, self.scenario.seed)
        self.steps: list[Step] = []
        self.plan = [0.0] * (self.scenario.ramp.shadow_minutes > 0) + list(self.spec.read_paths[0].canary.steps)
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
        self.rollback_minute: int | None = None
        self._minute_counts: Counter = Counter()
        self.world: World | None = None

    # -- the run -----------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        wall = time.perf_counter()
        database = Database.open(self.o.database_url)
        try:
            self._prepare(database)
            self.world = World(self.spec, self.o.spec_file, self.scenario, self.o.build_dir, database,
                               self.clock, self.publish, self.telemetry.ingest,
                               seams.rollback_name(self.alarms), self._api_deployment)
            try:
                self._loop()
            finally:
                self.world.close()
        finally:
            database.close()
        from .report_data import build_report

        return build_report(self, time.perf_counter() - wall, _peak_rss_mb())

    def _prepare(self, database: Database) -> None:
        from .functions import package_path

        schema = _read_from_zip(package_path(self.o.build_dir, "candidate"), "candidate/schema.sql")
        database.create_schema(schema)
        contract = _contract_from_zip(package_path(self.o.build_dir, "router"))
        database.seed((user_id(i) for i in range(self.scenario.traffic.users)), contract.mock_profile)

    def _loop(self) -> None:
        minute = 0
        self._start_step(0, 0)
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

    def _minute(self, minute: int) -> None:
        world = self.world
        self._faults(minute)
        if self.outcome is None:
            if self.decision_due is not None and minute >= self.decision_due:
                self._decide(minute)
                self._faults(minute)  # a fault tied to the step that starts now
            self._code_deployment(minute)
        self._deployment_events(minute)
        self._minute_counts = Counter()
        for t, user in self.population.arrivals(minute):
            world.lambda_.run_queued(t)
            self._request(t, user)
        world.lambda_.run_queued((minute + 1) * 60.0)
        end = (minute + 1) * 60
        self.alarms.evaluate(end)
        if minute % 60 == 59:
            self.store.prune(end - 86_400 - 3_600)  # no alarm looks back more than a day
        self._watch_alarms(minute + 1)
        self._record(minute)
        if self.o.progress is not None:
            self.o.progress.update(self, minute)

    # -- requests ----------------------------------------------------------------------
    def _request(self, t: float, user: int) -> None:
        world = self.world
        uid = user_id(user)
        event = {"version": "2.0", "routeKey": "GET /users/{userId}", "rawPath": f"/users/{uid}",
                 "requestContext": {"http": {"method": "GET"}}, "pathParameters": {"userId": uid}}
        result = world.lambda_.run(world.router, event, t, "request")
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
        if counts.get("CanaryRequests"):
            step.canary_requests += 1
            if not counts.get("CanaryErrors") and not failed:
                step.users.add(user)
                self.all_candidate_users.add(user)
                mc["served_by_candidate"] += 1

    # -- faults ------------------------------------------------------------------------
    def _faults(self, minute: int) -> None:
        world = self.world
        started, ended = world.faults.transitions(minute)
        for i in started:
            fault = world.faults.faults[i]
            extra = self._apply_fault(fault, True)
            self._event(minute, "fault_start", f"{fault.kind}: {_describe(fault)}{extra}")
            if fault.kind == "router_deployment":
                self._start_code_deployment(fault, minute)
        for i in ended:
            fault = world.faults.faults[i]
            self._apply_fault(fault, False)
            self._event(minute, "fault_end", fault.kind)

    def _apply_fault(self, fault: Any, on: bool) -> str:
        world = self.world
        if fault.kind == "latency":
            model = world.hooks.latency[fault.target]
            model.factor, model.add_ms = (fault.factor, fault.add_ms) if on else (1.0, 0.0)
        elif fault.kind == "database_outage":
            world.database_outage(on)
        elif fault.kind == "divergence" and on:
            changed = world.database.execute(*_divergence_sql(fault))
            return f" ({changed} rows changed in PostgreSQL)"
        return ""

    # -- the ramp ----------------------------------------------------------------------
    def _start_step(self, index: int, minute: int) -> None:
        percent = self.plan[index]
        step = Step(percent, minute)
        self.steps.append(step)
        self.world.faults.step_started(percent, minute)
        step.deployment = self._deploy_flags(percent, minute, f"step {_pct(percent)}")
        hold = self.scenario.ramp.hold(percent)
        self.decision_due = minute + hold
        self._event(minute, "ramp", f"step {_pct(percent)}%: hold {hold} min, then the go/no-go analysis")

    def _deploy_flags(self, percent: float, minute: int, label: str) -> Deployment:
        """An apply of the spec at that percent: a new hosted version, the spec's strategy."""
        world = self.world
        version = world.appconfig.host(flag_document(self.spec, self.o.spec_file, percent), label)
        strategy = world.ramp_strategy
        deployment = world.appconfig.deploy(version, minute * 60.0, strategy, label)
        self._event(minute, "flag_deployment_started",
                    f"{label}: flags version {version} (canary {_pct(percent)}%), {strategy.growth_type} "
                    f"{strategy.growth_factor:g}% over {strategy.duration_s / 60:g} min, "
                    f"bake {strategy.bake_s / 60:g} min")
        return deployment

    def _deployment_events(self, minute: int) -> None:
        for deployment in self.world.appconfig.deployments:
            if deployment.rolled_back_at is not None:
                continue
            if deployment.strategy.duration_s and int(deployment.deployed_at // 60) == minute:
                self._event(minute, "flag_deployment_done", deployment.label)
            if deployment.strategy.bake_s and int(deployment.baked_at // 60) == minute:
                self._event(minute, "bake_done", deployment.label)

    def _decide(self, minute: int) -> None:
        from .decision import analyse_step

        step = self.steps[-1]
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
            step.ended = minute
            self._roll_back(minute, "the go/no-go analysis: " + "; ".join(
                c["reason"] for c in analysis.checks if c["verdict"] == "ROLLBACK"), "decision")

    def _roll_back(self, minute: int, why: str, kind: str) -> None:
        if kind == "decision":
            self._revert(minute)
        self.rollback_minute = minute if self.rollback_minute is None else self.rollback_minute
        self._finish("rolled_back", minute, [why], tail=True)

    def _revert(self, minute: int) -> None:
        """The runbook's rollback (README "Breaking glass"): `aws appconfig stop-deployment
        --allow-revert` on the last deployment: the previous flags at once, and a revert
        ignores the alarm monitors (a new deployment would be rolled back by them)."""
        t = minute * 60.0
        appconfig = self.world.appconfig
        last = appconfig.current(t)
        if last is None or last.rolled_back_at is not None:
            return
        appconfig.roll_back(last, t)
        self._event(minute, "appconfig_rollback",
                    f"{last.label}: reverted by the operator (stop-deployment --allow-revert), "
                    f"flags version {last.previous} again")

    def _finish(self, result: str, minute: int, reasons: list[str], tail: bool = False) -> None:
        if self.outcome is not None:
            return
        step = self.steps[-1] if self.steps else None
        self.outcome = {"result": result, "step": step.percent if step else None, "minute": minute,
                        "reasons": reasons}
        self.decision_due = None
        if step is not None and step.ended is None:
            step.ended = minute
        self.finish_at = minute + (TAIL_MINUTES if tail else 0)

    # -- alarms and what watches them ---------------------------------------------------
    def _watch_alarms(self, minute: int) -> None:
        for name in self._alarm_names():
            state = self.alarms.state(name)
            history = self.alarm_history.setdefault(name, [])
            if not history or history[-1][1] != state:
                history.append((minute, state))
        rollback = self.alarm_history[self._rollback_name()]
        state = rollback[-1][1]
        if state == "OK":
            return
        self._appconfig_monitor(minute)
        if state != "ALARM":
            return
        if self.code is not None and not self.code.done:
            self.code.done = self.code.rolled_back = True
            self.world.router.routing = {"1": 1.0}
            self._event(minute, "codedeploy_rolled_back",
                        "CodeDeploy stopped the deployment on the alarm; the alias is back on version 1")
        if rollback[-1][0] == minute:  # the alarm action: a notification on entering ALARM
            self._alarm_action(minute, rollback[-2][1] if len(rollback) > 1 else "INSUFFICIENT_DATA")

    def _appconfig_monitor(self, minute: int) -> None:
        """AppConfig rolls back on ALARM and on INSUFFICIENT_DATA during deployment and bake."""
        t = minute * 60.0
        active = self.world.appconfig.current(t)
        if active is None or not active.in_progress(t):
            return
        self.world.appconfig.roll_back(active, t)
        self._event(minute, "appconfig_rollback",
                    f"{active.label}: the rollback alarm fired during the deployment or its bake")
        if self.outcome is None:
            self._roll_back(minute, f"AppConfig rolled back {active.label} (alarm during deployment/bake)",
                            "appconfig")

    def _alarm_action(self, minute: int, old_state: str) -> None:
        """The composite's ALARM action: SNS -> the brake function (asynchronous invoke)."""
        brake = self.world.brake
        if brake is None:
            return
        name = self._rollback_name()
        message = {"AlarmName": name, "NewStateValue": "ALARM", "OldStateValue": old_state,
                   "NewStateReason": "rehearsal: a member alarm is in ALARM",
                   "StateChangeTime": iso(minute).replace("Z", ".000+0000")}
        event = {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
                              "Sns": {"Type": "Notification", "Subject": f'ALARM: "{name}"',
                                      "Message": json.dumps(message)}}]}
        self.world.lambda_.enqueue(brake.name, json.dumps(event).encode())

    def _api_deployment(self, deployment: Deployment) -> None:
        """A deployment started through AppConfig's API: the brake's canary-off flags."""
        minute = int(self.clock.now // 60)
        self._event(minute, "brake", f"the brake deployed flags version {deployment.version} "
                                     f"(canary {_pct(deployment.percent)}%): {deployment.description}")
        if self.outcome is None and self.steps and self.steps[-1].percent > 0:
            self._roll_back(minute, "the brake turned the canary off (rollback alarm after the bake)", "brake")

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
        self._event(minute, "codedeploy_started", f"router version 2 with {self.code.plan.name}")
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
            self._event(minute, "codedeploy_done", "the alias serves version 2")
        else:
            self.world.router.routing = {"1": 1.0 - share, "2": share}

    # -- bookkeeping -------------------------------------------------------------------
    def _record(self, minute: int) -> None:
        t = (minute + 1) * 60.0 - 1e-6
        appconfig = self.world.appconfig
        version = appconfig.version_for("", t, all_targets=True)
        values = appconfig.versions[version].get("values", {}) if version else {}
        canary = values.get(self.spec.read_paths[0].canary.flag_key, {}) or {}
        percent = canary.get("percent", 0) if canary.get("enabled") else 0
        row = dict(self._minute_counts)
        row["minute"] = minute
        row["canary_percent"] = percent
        self.rows.append(row)

    def _event(self, minute: int, kind: str, detail: str) -> None:
        self.events.append({"minute": minute, "kind": kind, "detail": detail})
        if self.o.progress is not None:
            self.o.progress.event(minute, kind, detail)


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
