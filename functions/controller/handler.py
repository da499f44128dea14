"""Controller handler (``controller.handler.lambda_handler``): the Step Functions controller
calls it for every judgement; the state machine itself only carries the plan, waits, and
starts AppConfig deployments (docs/functions.md, "Controller").

Each call is level-triggered: it reads the rollback alarm, the flag deployments and what is
served again, whatever an earlier call said. Actions (``event["action"]``):

* ``survey`` -> NEXT or OBSERVE (with the Stage), BUSY, DONE, SKIP or STOP, in this order: an older
  RUNNING execution of the state machine -> SKIP; the composite rollback alarm in ALARM (or
  not visible) -> STOP; a flag deployment in progress -> BUSY; what is served deployed by
  the guard or `cutover rollback`, or the latest deployment stopped (ROLLED_BACK,
  REVERTED) -> STOP (a person decides what comes next); a path served below a step this
  execution deployed -> STOP; every path at its last step ->
  DONE; no kept version of the next stage -> STOP with the `make apply` hint; what is
  served settled less than ``observeSeconds`` ago -> OBSERVE (the state machine waits,
  then surveys again); else NEXT: the state machine judges what is served, and deploys the
  stage only on PROMOTE.
* ``settle`` -> BAKING, SETTLED or STOP: the stage's deployment and what is served.
* ``judge`` -> PROMOTE, HOLD, ROLLBACK or STOP: the analysis of what is served before the
  survey's stage is deployed (the path at the stage's ``from``: the shadow before 1%, each
  step before the next), over the whole periods since it settled (cutover_runtime.window +
  cutover.analysis, as `cutover analyze`).
* ``ask`` -> the question to a person, after the holds ran out (approval on).

It never deploys (the state machine does, with the Stage it returns), never turns the
canary off (the guard does), and never creates a hosted version (the generator keeps one
per step). One log line per call (``CONTROLLER-<ACTION>``) with the audit entry of the
decision, and one SNS notification per decision that people must hear of. boto3 is
imported on the first call only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from cutover_runtime import aws, live
from cutover_runtime import env as env_keys
from cutover_runtime.telemetry import Identity, log_event

from . import judge as judging
from . import record, stages

ALARM = "ALARM"
MOVING = frozenset({"DEPLOYING", "BAKING", "VALIDATING"})  # in progress, on its way forward
WARN = frozenset({"STOP", "ROLLBACK"})
# Deployments that started this much before the execution are not looked at for its own
# (two services' clocks, and AppConfig's whole seconds, need not agree to the millisecond).
CLOCK_SKEW = timedelta(minutes=5)
WHO = {"guard": "the guard", "rollback": "`cutover rollback`"}


class Settings:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.application = env[env_keys.CONTROLLER_APPLICATION_ID]
        self.environment = env[env_keys.CONTROLLER_ENVIRONMENT_ID]
        self.profile = env[env_keys.CONTROLLER_PROFILE_ID]
        self.alarm = env[env_keys.CONTROLLER_ALARM_NAME]
        self.topic = env.get(env_keys.CONTROLLER_TOPIC_ARN, "")
        self.state_machine = env[env_keys.CONTROLLER_STATE_MACHINE_ARN]


class Call:
    """One call's event: the plan (config), the execution, and what the action carries."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.action = str(event.get("action", ""))
        self.event = event
        self.config: Mapping[str, Any] = event["config"]
        self.execution = str(event["execution"])
        self.name = stages.execution_name(self.execution)
        self.paths = list(self.config["paths"])
        self.flags = stages.flags(self.paths)
        started = event.get("startedAt")
        self.started = _when(started) if started else None


def _when(text: str) -> datetime:
    """An ISO 8601 time from Step Functions ($$.Execution.StartTime: 2026-12-05T03:00:00.123Z)."""
    moment = datetime.fromisoformat(str(text))  # Python 3.11+ reads the Z
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Controller:
    """One call of the controller, over four boto3 clients (appconfig, cloudwatch, sns, stepfunctions)."""

    def __init__(self, identity: Identity, settings: Settings, appconfig: Any, cloudwatch: Any, sns: Any,
                 states: Any, now: Callable[[], datetime] | None = None) -> None:
        self.identity = identity
        self.s = settings
        self.appconfig = appconfig
        self.cloudwatch = cloudwatch
        self.sns = sns
        self.states = states
        self.now = now or (lambda: datetime.now(UTC))
        self._documents: dict[int, dict[str, Any]] = {}
        self.notified: list[str] = []
        self.unnotified: list[str] = []

    # -- reads -----------------------------------------------------------------------
    def _alarm_state(self) -> str | None:
        answer = self.cloudwatch.describe_alarms(AlarmNames=[self.s.alarm], AlarmTypes=["CompositeAlarm"])
        for kind in ("CompositeAlarms", "MetricAlarms"):
            for alarm in answer.get(kind) or ():
                if alarm.get("AlarmName") == self.s.alarm:
                    return str(alarm.get("StateValue"))
        return None

    def _alarm_stop(self) -> str | None:
        """Why the alarm forbids going on, or None."""
        state = self._alarm_state()
        if state is None:
            return (f"the rollback alarm {self.s.alarm} is not visible (DescribeAlarms found none): "
                    "the controller never moves the canary blind")
        if state == ALARM:
            return (f"the rollback alarm {self.s.alarm} is in ALARM: the guard holds the canary at 0; "
                    "a person decides what comes next")
        return None

    def _deployments(self) -> list[dict[str, Any]]:
        return live.list_deployments(self.appconfig, self.s.application, self.s.environment)

    def _detail(self, number: int) -> dict[str, Any]:
        return self.appconfig.get_deployment(ApplicationId=self.s.application, EnvironmentId=self.s.environment,
                                             DeploymentNumber=int(number))

    def _document(self, version: int) -> dict[str, Any]:
        if version not in self._documents:
            stored = self.appconfig.get_hosted_configuration_version(
                ApplicationId=self.s.application, ConfigurationProfileId=self.s.profile, VersionNumber=version)
            self._documents[version] = json.loads(stored["Content"].read())
        return self._documents[version]

    def _served(self, deployments: list[dict[str, Any]], call: Call) -> tuple[dict[str, Any] | None,
                                                                               dict[str, float]]:
        """(the served document, its canary percent per path); (None, {}) when nothing is."""
        version = live.live_version(deployments)
        if version is None:
            return None, {}
        document = self._document(version)
        return document, live.canary_percents(document, call.flags)

    def _version_of(self, wanted: Mapping[str, Any]) -> int | None:
        """The newest hosted version whose content is `wanted` (parsed, metadata dropped)."""
        pages = self.appconfig.get_paginator("list_hosted_configuration_versions").paginate(
            ApplicationId=self.s.application, ConfigurationProfileId=self.s.profile)
        numbers = sorted({int(item["VersionNumber"]) for page in pages for item in page.get("Items", [])},
                         reverse=True)
        return next((n for n in numbers if stages.same(self._document(n), wanted)), None)

    def _older_execution(self, call: Call) -> dict[str, Any] | None:
        """Another RUNNING execution of the state machine that started before this one."""
        pages = self.states.get_paginator("list_executions").paginate(
            stateMachineArn=self.s.state_machine, statusFilter="RUNNING")
        running = [e for page in pages for e in page.get("executions", [])]
        mine = (call.started, call.execution)
        older = [e for e in running if e["executionArn"] != call.execution and call.started is not None
                 and (e["startDate"], e["executionArn"]) < mine]
        return min(older, key=lambda e: (e["startDate"], e["executionArn"])) if older else None

    def _moved_back(self, deployments: list[dict[str, Any]], call: Call, served: Mapping[str, float]) -> str | None:
        """Why a path is served below a step this execution deployed (someone moved it back)."""
        for item in sorted(deployments, key=lambda d: int(d["DeploymentNumber"])):
            began = item.get("StartedAt")
            if call.started is not None and began is not None and began < call.started - CLOCK_SKEW:
                continue
            mine = stages.parse(str(self._detail(item["DeploymentNumber"]).get("Description") or ""))
            if mine is None or mine["execution"] != call.name:
                continue
            now = served.get(mine["path"], 0.0)
            if now < mine["step"]:
                return (f"{mine['path']} was moved back by someone else: this execution deployed "
                        f"{mine['step']:g}% (deployment {item['DeploymentNumber']}), {now:g}% is served")
        return None

    # -- actions ---------------------------------------------------------------------
    def survey(self, call: Call) -> dict[str, Any]:
        older = self._older_execution(call)
        if older is not None:
            return self._survey(call, "SKIP", f"execution {stages.execution_name(older['executionArn'])} "
                                              "is running: one controller at a time")
        stop = self._alarm_stop()
        if stop is not None:
            return self._survey(call, "STOP", stop)
        deployments = self._deployments()
        running = live.in_progress(deployments)
        if running is not None:
            return self._survey(call, "BUSY", f"flag deployment {running['DeploymentNumber']} (version "
                                              f"{running.get('ConfigurationVersion')}) is {running.get('State')}")
        served_deployment = live.live_deployment(deployments)
        if served_deployment is None:
            return self._survey(call, "STOP", "nothing is served yet: run `make apply` first")
        document, served = self._served(deployments, call)
        who = live.started_by(self._detail(served_deployment["DeploymentNumber"]))
        if who in live.CANARY_OFF:
            return self._survey(call, "STOP", f"{WHO[who]} turned the canary off (deployment "
                                              f"{served_deployment['DeploymentNumber']}): a person decides "
                                              "what comes next", served)
        latest = max(deployments, key=lambda d: int(d["DeploymentNumber"]))
        if latest.get("State") in live.ROLLED_BACK:
            return self._survey(call, "STOP", f"flag deployment {latest['DeploymentNumber']} was {latest['State']}: "
                                              "the guard or a person stopped it; a person decides what comes next",
                                served)
        back = self._moved_back(deployments, call, served)
        if back is not None:
            return self._survey(call, "STOP", back, served)
        return self._next(call, document or {}, served, deployments)

    def _next(self, call: Call, document: dict[str, Any], served: dict[str, float],
              deployments: list[dict[str, Any]]) -> dict[str, Any]:
        move = stages.next_move(call.paths, served)
        if move is None:
            at = ", ".join(f"{p} {v:g}%" for p, v in served.items())
            return self._survey(call, "DONE", f"every path is at its last step ({at})", served)
        path, start, step = move
        version = self._version_of(stages.moved(document, str(path["flag"]), step))
        if version is None:
            return self._survey(call, "STOP", f"no kept version for {path['name']} at {step:g}%: run `make apply` "
                                              "(the generator keeps one per step)", served)
        stage = stages.stage(path, start, step, version, call.name, served)
        served_for = self._served_for(deployments)
        if served_for is not None and served_for < int(call.config["observeSeconds"]):
            return self._survey(call, "OBSERVE", f"{path['name']} has been at {start:g}% for {served_for // 60} "
                                                 f"minutes; it is judged once served {int(call.config['observeSeconds']) // 60}",
                                served, stage)
        return self._survey(call, "NEXT", f"{path['name']} {start:g}% -> {step:g}% (version {version}) once "
                                          f"{start:g}% is judged", served, stage)

    def _settled(self, deployments: list[dict[str, Any]]) -> datetime | None:
        """When what is served settled (`live.settled_at` of the latest deployment); None
        while a deployment moves or when there is none."""
        latest = max(deployments, key=lambda d: int(d["DeploymentNumber"]), default=None)
        return None if latest is None else live.settled_at(latest.get("State"),
                                                            self._detail(latest["DeploymentNumber"]))

    def _served_for(self, deployments: list[dict[str, Any]]) -> int | None:
        """Seconds since what is served settled (None: not settled, which the survey's
        BUSY rule already answered)."""
        settled = self._settled(deployments)
        return None if settled is None else max(0, int((self.now() - settled).total_seconds()))

    def _survey(self, call: Call, decision: str, reason: str, percents: Mapping[str, float] | None = None,
                stage: dict[str, Any] | None = None) -> dict[str, Any]:
        action = {k: stage[k] for k in ("path", "from", "step", "version")} if stage else {}
        return self._finish(call, decision, reason, {"action": decision, "stage": stage}, action,
                            percents)

    def settle(self, call: Call) -> dict[str, Any]:
        stage, number = call.event["stage"], int(call.event["deployment"])
        action = {k: stage[k] for k in ("path", "from", "step", "version")} | {"deployment": number}
        stop = self._alarm_stop()
        if stop is not None:
            return self._finish(call, "STOP", stop, {"action": "STOP"}, action, None)
        detail = self._detail(number)
        state = str(detail.get("State"))
        if state in MOVING:
            reason = f"deployment {number} is {state} ({float(detail.get('PercentageComplete', 0)):g}% done)"
            return self._finish(call, "BAKING", reason, {"action": "BAKING"}, action, None)
        if state != live.COMPLETE:
            return self._finish(call, "STOP", f"deployment {number} is {state}: it was stopped or rolled back",
                                {"action": "STOP"}, action, None)
        _, served = self._served(self._deployments(), call)
        moved = self._differs(served, stage)
        if moved is not None:
            return self._finish(call, "STOP", moved, {"action": "STOP"}, action, served)
        return self._finish(call, "SETTLED", f"deployment {number} is COMPLETE: {stage['path']} at {stage['step']:g}%",
                            {"action": "SETTLED"}, action, served)

    @staticmethod
    def _differs(served: Mapping[str, float], stage: Mapping[str, Any]) -> str | None:
        wanted = {p: float(v) for p, v in stage["percents"].items()}
        if {p: float(served.get(p, 0.0)) for p in wanted} == wanted:
            return None
        now = ", ".join(f"{p} {v:g}%" for p, v in served.items()) or "nothing"
        return f"what is served moved away from the stage ({stage['path']} {stage['step']:g}%): {now} is served"

    def judge(self, call: Call) -> dict[str, Any]:
        stage, holds = call.event["stage"], int(call.event.get("holds", 0))
        action = {k: stage[k] for k in ("path", "from", "step", "version")} | {"holds": holds}
        stop = self._alarm_stop()
        deployments = [] if stop else self._deployments()
        served: dict[str, float] = {}
        if stop is None:
            _, served = self._served(deployments, call)
            # What is judged is what is served before the stage's deploy: the path at `from`.
            stop = self._differs(served, {**stage, "step": stage["from"],
                                          "percents": {**stage["percents"], stage["path"]: stage["from"]}})
        settled = None if stop else self._settled(deployments)
        if stop is None and settled is None:
            stop = "a flag deployment is in progress: someone else is moving the flags"
        if stop is not None:
            return self._finish(call, "STOP", stop, {"verdict": "STOP", "analysis": None}, action, served or None)
        return self._judge(call, served, settled, action, holds)

    def _judge(self, call: Call, served: dict[str, float], settled: datetime, action: dict[str, Any],
               holds: int) -> dict[str, Any]:
        metrics = judging.document(self.cloudwatch, call.config, namespace=self.identity.namespace,
                                   release=self.identity.release, served=served, settled=settled,
                                   now=self.now(), execution=call.execution)
        if metrics is None:
            verdict, reason, analysis, full = "HOLD", "not one whole period since the step settled", None, None
        else:
            result = judging.analyze(metrics, call.config)
            verdict, reason = result.verdict.value, result.reason
            analysis, full = judging.summary(result), result.to_json()
        gives_up = holds + 1 > int(call.config["maxHolds"])
        return self._finish(call, verdict, reason, {"verdict": verdict, "analysis": analysis}, action, served,
                            gives_up=gives_up, analysis=full)

    def ask(self, call: Call) -> dict[str, Any]:
        stage = call.event["stage"]
        judgements = int(call.event.get("holds", int(call.config["maxHolds"]) + 1))
        env = call.config["environment"]
        reason = (f"{stage['path']} held at {stage['from']:g}% (next step {stage['step']:g}%) after {judgements} judgements "
                  f"({call.event.get('reason', '')}): approve with `cutover approve --env {env}` "
                  f"or stop with `cutover reject --env {env} --reason ...`")
        action = {k: stage[k] for k in ("path", "from", "step", "version")}
        return self._finish(call, "ASK", reason, {}, action, stage["percents"])

    # -- what every call leaves --------------------------------------------------------
    def _finish(self, call: Call, decision: str, reason: str, answer: dict[str, Any], action: dict[str, Any],
                percents: Mapping[str, float] | None, *, gives_up: bool = False, **log: Any) -> dict[str, Any]:
        """Record (audit entry), notify, log one line, answer. `gives_up`: a HOLD after which
        the controller stops or asks, the only HOLD people hear of."""
        audit = None
        if decision in record.RECORDED:
            changes = stages.spec_changes(str(call.config["environment"]), call.paths, percents or {})
            audit = record.entry(str(call.config["environment"]), call.execution, decision, reason, action, changes)
            if decision in record.NOTIFIED or gives_up:
                self._notify(decision, audit)
        line: dict[str, Any] = {"execution": call.execution, "decision": decision, "reason": reason,
                                **{k: v for k, v in answer.items() if k not in ("action", "verdict")},
                                "audit": audit, **log}
        if self.notified:
            line["notified"] = self.notified
        if self.unnotified:
            line["unnotified"] = self.unnotified
        log_event(self.identity, f"CONTROLLER-{call.action.upper()}", "WARN" if decision in WARN else "INFO", **line)
        return {**answer, "reason": reason, "audit": audit}

    def _notify(self, decision: str, audit: dict[str, Any]) -> None:
        """One SNS message per decision; a failed publish is reported in the log line, never raised."""
        if not self.s.topic:
            self.unnotified.append(decision)
            return
        try:
            self.sns.publish(TopicArn=self.s.topic, Subject=record.subject(self.identity.release, decision),
                             Message=record.message(audit))
        except Exception:  # noqa: BLE001 - a failed notification never fails the decision
            self.unnotified.append(decision)
        else:
            self.notified.append(decision)

    def run(self, event: Mapping[str, Any]) -> dict[str, Any]:
        call = Call(event)
        actions = {"survey": self.survey, "settle": self.settle, "judge": self.judge, "ask": self.ask}
        if call.action not in actions:
            raise ValueError(f"unknown action {call.action!r}; allowed: {', '.join(actions)}")
        return actions[call.action](call)


def client(service: str) -> Any:
    """The controller's client of `service` (`aws.client`, kept for the execution environment),
    named by the service's endpoint variable, which tests, the rehearsal and the sandbox
    point at their stand-ins."""
    name = {"stepfunctions": "SFN"}.get(service, service.upper())
    endpoint = os.environ.get(f"AWS_ENDPOINT_URL_{name}", "")
    return aws.client(service, endpoint, connect_s=5, read_s=20, attempts=3)


def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    env = dict(os.environ)
    controller = Controller(Identity.from_env(env), Settings(env), client("appconfig"), client("cloudwatch"),
                            client("sns"), client("stepfunctions"))
    return controller.run(event)
