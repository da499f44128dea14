"""`cutover rehearse --controller`: the controller's state machine drives the ramp instead
of the operator (ramp.py).

The definition is the one the generator renders (`generator/plan/controller.py`,
`definition` then `substitute` with the rehearsal's ids), run by the ASL evaluator
(states.py) on the run's clock: a Wait is a timer on the run's timeline, a Task is

- `lambda:invoke` (and `.waitForTaskToken`): the controller function from its package
  (`build/functions/controller.zip`), run like the guard: in the Lambda stand-in, its boto3
  clients pointed at the loopback AppConfig control plane, CloudWatch (DescribeAlarms and
  GetMetricData over what the functions published), SNS and Step Functions (ListExecutions);
- `aws-sdk:appconfig:startDeployment`: the rehearsal's AppConfig;
- `sns:publish`: the SNS stand-in the function publishes to.

So the transitions tested are the rendered ones. Nobody applies the spec between steps: the
alarms stay as the first apply rendered them, and the hosted versions the controller deploys
are the documents the generator keeps (one per step, hosted before the run). The operator's
holds become the controller's observation: `observeSeconds` is the scenario's hold of the
step, `maxHolds` its `max_holds`. The guard stays the only one to turn the canary off.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cutover.generator.plan.analysis_guardrails import analysis_guardrails
from cutover.generator.plan.controller import (
    LAMBDA_INVOKE,
    LAMBDA_INVOKE_WAIT,
    SNS_PUBLISH,
    START_DEPLOYMENT,
    ControllerConfig,
    ControllerPath,
    definition,
    substitute,
)

from .appconfig_api import ApiError
from .clock import EPOCH
from .decision import report_check
from .ramp import Ramp, Step, pct
from .record import Decision, EventKind, Outcome, Verdict
from .release import ACCOUNT, flag_document
from .states import Execution, TaskFailed, TokenError

if TYPE_CHECKING:
    from .lambda_service import Function

CHECK_KEYS = ("name", "verdict", "figure", "threshold", "samples", "seed_action", "reason")
EXECUTION_NAME = "rehearsal"


def controller_config(spec: Any, spec_file: str, flags: list[str], scenario: Any) -> ControllerConfig:
    """What the definition is built from: the generator's own config when the spec enables the
    controller (`delivery.controller`: what Terraform deploys); else the spec's paths and
    guardrails with the scenario's timing (observe = the hold, its max_holds, no approval)."""
    import dataclasses

    from cutover.generator.plan.release_calls import controller_config as planned
    from cutover.generator.spec.names import controller_enabled

    if controller_enabled(spec):
        return planned(spec, spec_file)
    settings = scenario.ramp
    paths = tuple(ControllerPath(p.name, flag, tuple(p.canary.steps), p.canary.percent, p.shadow.enabled)
                  for p, flag in zip(spec.read_paths, flags, strict=True))
    return ControllerConfig(
        release=spec.release.name, environment=spec.release.environment, spec_file=spec_file, paths=paths,
        guardrails=dataclasses.asdict(analysis_guardrails(spec.guardrails)),
        observe_seconds=settings.hold_minutes * 60, max_holds=settings.max_holds, approval=False,
        approval_timeout_seconds=24 * 3600, period_seconds=spec.guardrails.period_seconds,
        poll_interval_seconds=spec.delivery.appconfig.poll_interval_s)


def rendered(config: ControllerConfig, values: dict[str, str]) -> dict[str, Any]:
    """The definition as Terraform's templatefile() leaves it: rendered, then substituted."""
    return json.loads(substitute(json.dumps(definition(config), indent=2), values))


def kept_versions(appconfig: Any, spec: Any, spec_file: str, applied: float) -> None:
    """The documents the generator keeps hosted for the controller, for the spec as applied
    (every path at ``applied``): for each path and each of its steps, the earlier paths at
    their last step, this one at the step, the later ones as applied."""
    paths = spec.read_paths
    for i, path in enumerate(paths):
        for step in path.canary.steps:
            percents = [float(p.canary.steps[-1]) for p in paths[:i]] + [float(step)] + [applied] * (len(paths) - i - 1)
            label = ", ".join(f"{p.name} {pct(v)}%" for p, v in zip(paths, percents, strict=True))
            appconfig.host(flag_document(spec, spec_file, percents), f"kept: {label}")


@dataclass
class Wiring:
    """What the controller's tasks reach in the rehearsal."""

    world: Any
    function: Function
    function_arn: str
    machine_arn: str
    topic_arn: str
    publish: Any  # the SNS stand-in (PublishApi)
    notes: list[dict[str, Any]] = field(default_factory=list)


class ControllerTasks:
    """The definition's Task resources on the rehearsal (states.Tasks)."""

    def __init__(self, wiring: Wiring, seen: Any, started: Any, asked: Any) -> None:
        self.w = wiring
        self.seen = seen  # seen(action, payload, t): every answer of the controller function
        self.started = started  # started(deployment, t): every deployment the machine started
        self.asked = asked  # asked(token, t): a task waits for its token (a person's answer)
        self.t = 0.0  # simulated seconds: when the next task starts

    def run(self, resource: str, parameters: dict, token: str | None) -> dict | None:
        if resource in (LAMBDA_INVOKE, LAMBDA_INVOKE_WAIT):
            result = self._invoke(parameters)
            if token is not None:
                self.asked(token, self.t)
                return None
            return result
        if resource == START_DEPLOYMENT:
            return self._start_deployment(parameters)
        if resource == SNS_PUBLISH:
            return self._publish(parameters)
        raise ValueError(f"the rehearsal does not run Task resource {resource}")

    def _invoke(self, parameters: dict) -> dict:
        if parameters.get("FunctionName") != self.w.function_arn:
            raise TaskFailed("Lambda.ResourceNotFoundException", f"Function not found: {parameters.get('FunctionName')}")
        payload = parameters.get("Payload")
        world = self.w.world
        result = world.lambda_.run(self.w.function, payload, self.t, "controller")
        self.t = world.clock.now
        if result.throttled:
            raise TaskFailed("Lambda.TooManyRequestsException", "Rate Exceeded.")
        if result.function_error:
            answer = result.payload or {}
            raise TaskFailed(str(answer.get("errorType", "Unhandled")), json.dumps(
                {"errorMessage": answer.get("errorMessage", ""), "errorType": answer.get("errorType", ""),
                 "stackTrace": []}))
        self.seen(str((payload or {}).get("action", "")), result.payload, self.t)
        return {"ExecutedVersion": "$LATEST", "Payload": result.payload, "StatusCode": 200,
                "SdkHttpMetadata": {"httpStatusCode": 200}, "SdkResponseMetadata": {"requestId": "rehearsal"}}

    def _start_deployment(self, parameters: dict) -> dict:
        world = self.w.world
        world.clock.set(self.t)
        plane = world.control_plane.plane
        try:
            answer = plane.start_deployment(parameters.get("ApplicationId"), parameters.get("EnvironmentId"),
                                            dict(parameters))
        except ApiError as exc:
            raise TaskFailed(f"AppConfig.{exc.kind}", str(exc)) from None
        self.started(world.appconfig.deployments[-1], self.t)
        return answer

    def _publish(self, parameters: dict) -> dict:
        self.w.world.clock.set(self.t)
        form = {"Action": "Publish", **{k: str(v) for k, v in parameters.items()}}
        try:
            message_id = self.w.publish.publish(form)
        except ApiError as exc:
            raise TaskFailed(f"SNS.{exc.kind}", str(exc)) from None
        return {"MessageId": message_id, "SdkHttpMetadata": {"httpStatusCode": 200}}


class ControllerRamp(Ramp):
    """The ramp as the controller walks it: steps start when its deployments start, its
    judgements are the decisions, its execution's end is the outcome."""

    def __init__(self, plan: list[float], settings: Any, actions: Any, journal: Any, later: Any,
                 wiring: Wiring, definition_: dict[str, Any], start_step: float | None) -> None:
        super().__init__(plan, settings, actions, journal, later, analyse=lambda step, minute: None)
        self.wiring, self.definition, self.start_step = wiring, definition_, start_step
        self.tasks = ControllerTasks(wiring, self._seen, self.deployment_started, self._asked)
        self.execution: Execution | None = None
        self._next_wake: float | None = None  # the pending timer's time (one at a time)
        self.max_holds = int(definition_["States"]["Begin"]["Parameters"]["config"]["maxHolds"])
        self.stage: dict[str, Any] | None = None
        self.last_reason = ""

    # -- the engine's interface -------------------------------------------------------------
    def begin(self) -> None:
        if self.start_step is None:
            self._start_step(0, 0)  # the operator applies the spec in shadow, then starts the controller
            self.decision_due = None
            self.later(self.settings.hold(0.0) * 60.0, self._start_execution)
            return
        self._start_execution(0.0)
        if not self.steps:  # the controller deployed nothing: the step before is what is served
            self.steps.append(Step(self._served_percent(0.0), 0))

    def tick(self, minute: int) -> bool:
        return False  # the controller acts on the run's timeline, not at minute boundaries

    # -- the execution ----------------------------------------------------------------------
    def _start_execution(self, t: float) -> None:
        w = self.wiring
        arn = w.machine_arn.replace(":stateMachine:", ":execution:") + f":{EXECUTION_NAME}"
        self.execution = Execution(self.definition, {"startedBy": "cutover rehearse --controller"}, arn=arn,
                                   name=EXECUTION_NAME, start=EPOCH + t)
        self.journal.event(t, EventKind.RAMP, "the controller's execution starts (Step Functions)")
        self._wake(t)

    def _timer(self, t: float) -> None:
        if t == self._next_wake:  # else a timer that a later wake replaced
            self._next_wake = None
            self._wake(t)

    def _wake(self, t: float) -> None:
        execution = self.execution
        if execution is None or execution.status != "RUNNING":
            return
        self.tasks.t = t
        execution.advance(EPOCH + t, self.tasks)
        if execution.status != "RUNNING":
            self._ended(max(t, self.tasks.t))
        elif execution.wake_at is not None and max(execution.wake_at - EPOCH, t) != self._next_wake:
            self._next_wake = max(execution.wake_at - EPOCH, t)
            self.later(self._next_wake, self._timer)

    def _asked(self, token: str, t: float) -> None:
        """The controller asks a person (approval): the scenario's on-call answers, or nobody does."""
        approval = self.settings.approval
        if approval.answer == "none":
            self.journal.event(t, EventKind.RAMP, "the controller asks for approval; nobody answers")
            return
        self.later(t + approval.after_minutes * 60.0, lambda due: self._answer(token, due, approval.answer))

    def _answer(self, token: str, t: float, answer: str) -> None:
        execution = self.execution
        if execution is None or execution.status != "RUNNING":
            return
        try:
            if answer == "approve":
                execution.send_task_success(token, {"approvedBy": "the rehearsal's on-call"}, EPOCH + t)
            else:
                execution.send_task_failure(token, "cutover.Rejected", "rejected by the rehearsal's on-call", EPOCH + t)
        except TokenError as refused:
            self.journal.event(t, EventKind.RAMP, f"the on-call's {answer} came too late: {refused.code}")
            return
        self.journal.event(t, EventKind.RAMP, f"the on-call answers the controller: {answer}")
        self._wake(t)

    def _seen(self, action: str, payload: Any, t: float) -> None:
        """Every answer of the controller function: a survey's stage, a judgement's verdict."""
        answer = payload if isinstance(payload, dict) else {}
        self.last_reason = str(answer.get("reason", self.last_reason))
        if action == "survey" and answer.get("action") == "NEXT":
            self.stage = answer.get("stage")
        elif action == "judge":
            self._judged(answer, t)

    def _judged(self, answer: dict[str, Any], t: float) -> None:
        verdict = str(answer.get("verdict"))
        if verdict not in {v.value for v in Verdict} or not self.steps:
            self.journal.event(t, EventKind.RAMP, f"the controller's judgement: {verdict}: {self.last_reason}")
            return
        step = self.step
        analysis = answer.get("analysis") if isinstance(answer.get("analysis"), dict) else {}
        checks = tuple(_check(c) for c in analysis.get("checks", []) if isinstance(c, dict))
        last_hold = verdict == "HOLD" and step.holds + 1 > self.max_holds
        action = {"PROMOTE": "promote (the controller deploys the next step)",
                  "HOLD": "hold: no holds left (the controller asks, or stops held)" if last_hold
                  else "hold (observe again)",
                  "ROLLBACK": "stop: the guard turns the canary off"}[verdict]
        minute = int(t // 60)
        self.decisions.append(Decision(minute, step.percent, Verdict(verdict), action, checks))
        self.journal.note(minute, "decision", f"step {pct(step.percent)}%: {verdict} -> {action}")
        if verdict == "HOLD":
            step.holds += 1

    def deployment_started(self, deployment: Any, t: float) -> None:
        """A deployment of the controller's started: its step begins (and the faults tied to it)."""
        percent = float((self.stage or {}).get("step", 0.0))
        if self.steps:
            self.step.ended = int(t // 60)
        step = Step(percent, int(t // 60), deployment=deployment)
        self.steps.append(step)
        self.actions.step_faults(percent, t)
        self.journal.event(t, EventKind.FLAG_DEPLOYMENT_STARTED,
                           f"controller: flags version {deployment.version} (canary {pct(percent)}%): "
                           f"{deployment.description}")

    def _ended(self, t: float) -> None:
        execution = self.execution
        minute = int(t // 60)
        detail = f"{execution.status}" + (f" {execution.error}" if execution.error else "")
        failed = _failure(execution)
        if failed:
            self.last_reason = failed
        self.journal.event(t, EventKind.RAMP, f"the controller's execution ended: {detail}; {self.last_reason}")
        if execution.status == "SUCCEEDED" and self.summary()["last_state"] == "Done":
            self.finish(Outcome.PROMOTED, minute, [(f"the controller walked every step (Done); "
                                                    f"the ramp took {minute} simulated minutes")])
        elif execution.error == "cutover.Rollback":
            self.decide_rollback(t, f"the controller's analysis said ROLLBACK: {self.last_reason}")
        else:
            self.finish(Outcome.HELD, minute, [f"the controller ended {detail}: {self.last_reason}"])

    def _served_percent(self, t: float) -> float:
        world = self.wiring.world
        version = world.appconfig.version_for("", t, all_targets=True)
        values = world.appconfig.versions[version].get("values", {}) if version else {}
        canary = values.get(world.canary_flags[0], {}) or {}
        return float(canary.get("percent", 0)) if canary.get("enabled") else 0.0

    def summary(self) -> dict[str, Any]:
        """What report.json's ``controller`` says: the execution's end and its path through the states."""
        execution = self.execution
        if execution is None:
            return {"status": "NOT_STARTED", "error": None, "cause": None, "last_state": None, "entered": {},
                    "history_events": 0, "notifications": 0}
        entered: dict[str, int] = {}
        for event in execution.history:
            if event["type"].endswith("StateEntered"):
                name = event["stateEnteredEventDetails"]["name"]
                entered[name] = entered.get(name, 0) + 1
        last = next((e["stateEnteredEventDetails"]["name"] for e in reversed(execution.history)
                     if e["type"].endswith("StateEntered")), None)
        return {"status": execution.status, "error": execution.error, "cause": execution.cause,
                "last_state": last, "entered": entered, "history_events": len(execution.history),
                "notifications": len(self.wiring.publish.messages)}


def _failure(execution: Execution) -> str | None:
    """What failed the controller (the state data's ``$.failure``), when it went through NotifyFailure."""
    entered = [e["stateEnteredEventDetails"] for e in execution.history if e["type"].endswith("StateEntered")]
    ending = next((e for e in reversed(entered) if e["name"] == "Ending"), None)
    failure = json.loads(ending["input"]).get("failure") if ending else None
    if not isinstance(failure, dict):
        return None
    return f"{failure.get('Error')}: {str(failure.get('Cause', ''))[:300]}"


def _check(check: dict[str, Any]) -> dict[str, Any]:
    out = report_check({"threshold": None, "verdict": "HOLD", **check})
    out = {key: out.get(key) for key in CHECK_KEYS}
    out["name"] = str(out["name"] or "check")
    out["reason"] = str(out["reason"] or "")
    return out


def machine_arn(spec: Any) -> str:
    from cutover.generator.spec.names import state_machine_name

    return f"arn:aws:states:{spec.release.region}:{ACCOUNT}:stateMachine:{state_machine_name(spec)}"


class ControllerApis:
    """The loopback stand-ins the controller function reaches (beside AppConfig's control
    plane, shared with the guard): CloudWatch (DescribeAlarms, GetMetricData), SNS, Step Functions."""

    def __init__(self, world: Any, telemetry: Any, executions: Any) -> None:
        from .cloudwatch_api import DescribeAlarmsApi
        from .metric_data import MetricData
        from .sfn_api import StepFunctionsApi
        from .sns_api import PublishApi

        alarms = world.alarms

        def states() -> dict[str, tuple[str, str]]:
            out = {a.name: ("MetricAlarm", alarms.state(a.name)) for a in alarms.alarms.values()}
            out[alarms.composite_name] = ("CompositeAlarm", alarms.state(alarms.composite_name))
            return out

        namespace = world.spec.observability.metrics_namespace
        telemetry.keep_paths()  # each path's own figures, as CloudWatch keeps them by dimension
        self.cloudwatch = DescribeAlarmsApi(states, world.clock, MetricData(telemetry, namespace))
        self.sns = PublishApi(world.clock)
        self.sfn = StepFunctionsApi(executions)

    def endpoints(self, control_plane_url: str) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL_APPCONFIG": control_plane_url, "AWS_ENDPOINT_URL_CLOUDWATCH": self.cloudwatch.url,
                "AWS_ENDPOINT_URL_SNS": self.sns.url, "AWS_ENDPOINT_URL_SFN": self.sfn.url}

    def published(self) -> list[dict[str, Any]]:
        return [{"second": m.at, "by": "controller", "subject": m.subject} for m in self.sns.messages]

    def close(self) -> None:
        self.cloudwatch.close()
        self.sns.close()
        self.sfn.close()


PLAN_MODULE = "controller_function"  # the plan's module of the controller function (generator/plan)


def controller_environment(world: Any, apis: ControllerApis, machine: str, spec_file: str) -> dict[str, str]:
    """The controller function's environment: the plan's (its Terraform references resolved to
    the rehearsal's resources) when the spec enables the controller, else READS["controller"]
    built here; its clients on loopback either way."""
    from .release import function_environment, module_names

    spec, ids = world.spec, world.appconfig.ids
    topic = f"arn:aws:sns:{spec.release.region}:{ACCOUNT}:{spec.release.name}-{spec.release.environment}-alarms"
    loopback = {**apis.endpoints(world.control_plane.url), "AWS_REGION": spec.release.region,
                "AWS_DEFAULT_REGION": spec.release.region,
                # the stand-ins do not check signatures; boto3 needs something to sign with
                "AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal"}
    if PLAN_MODULE not in module_names(spec, spec_file):
        return {**_built_environment(world, machine, topic), **loopback}
    resolved = {"application_id": ids["application"], "environment_id": ids["environment"],
                "profile_id": ids["profile"], "rollback_alarm_name": world.rollback_alarm, "topic_arn": topic}

    def resolve(reference: str) -> str | None:
        return machine if ":stateMachine:" in reference else resolved.get(reference.rsplit(".", 1)[-1])

    return {**function_environment(spec, spec_file, PLAN_MODULE, resolver=resolve), **loopback}


def _built_environment(world: Any, machine: str, topic: str) -> dict[str, str]:
    from cutover.runtime import env as env_keys

    spec, ids = world.spec, world.appconfig.ids
    return {
        env_keys.CONTROLLER_APPLICATION_ID: ids["application"], env_keys.CONTROLLER_ENVIRONMENT_ID: ids["environment"],
        env_keys.CONTROLLER_PROFILE_ID: ids["profile"], env_keys.CONTROLLER_ALARM_NAME: world.rollback_alarm,
        env_keys.CONTROLLER_TOPIC_ARN: topic, env_keys.CONTROLLER_STATE_MACHINE_ARN: machine,
        env_keys.RELEASE: spec.release.name, env_keys.PATH: "",
        env_keys.METRICS_NAMESPACE: spec.observability.metrics_namespace,
    }


def controller_function(world: Any, package: Any, environment: dict[str, str]) -> tuple[Function, str]:
    """The controller function from its package, in the Lambda stand-in; and its ARN."""
    from cutover.generator.spec.names import controller_function_name

    from .lambda_service import Function, Version

    spec = world.spec
    name = controller_function_name(spec)
    function = spec.delivery.controller.function if spec.delivery.controller is not None else None
    fn = Function(name, "live", "controller", float(function.timeout_s) if function else 60.0, 1)
    fn.versions["1"] = Version("1", package, "controller.handler", None, environment, environ_per_invoke=True)
    fn.routing = {"1": 1.0}
    world.lambda_.add(fn)
    return fn, f"arn:aws:lambda:{spec.release.region}:{ACCOUNT}:function:{name}"
