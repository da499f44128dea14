"""The controller's state machine: the Amazon States Language definition (JSONPath) that
walks the canary through its steps on AWS (docs/architecture.md, "The controller").

Python decides the whole definition here; the renderer only writes it out, and Terraform
fills in the ids it alone knows with `templatefile()` (`PLACEHOLDERS`, each a JSON string,
so the file is valid JSON and valid ASL before and after). The rehearsal and the sandbox
run the same rendered text after `substitute`, so the transitions they test are these.

What the machine decides and never does:
- every judgement is the controller function's (survey, settle, judge, ask), which re-reads
  the alarm, the deployments and what is served on every call (level-triggered);
- it deploys only the kept hosted version of the next step, through AppConfig's SDK
  integration, and only after a survey found no rollback alarm in ALARM, no deployment in
  progress and no action of the guard or of `cutover rollback`, and a judgement of what is
  served now (the shadow before 1%, each step before the next) said PROMOTE, or a person
  approved that very step and a new survey still finds it next;
- it never turns the canary off: on ROLLBACK it stops and leaves that to the guard.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Filled in by Terraform's templatefile() (terraform/modules/controller), and by
# `substitute` in the rehearsal and the sandbox.
PLACEHOLDERS = (
    "controller_function_arn", "application_id", "environment_id", "profile_id", "strategy_id",
    "kms_key_arn", "topic_arn",
)  # fmt: skip
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
LAMBDA_INVOKE_WAIT = "arn:aws:states:::lambda:invoke.waitForTaskToken"
START_DEPLOYMENT = "arn:aws:states:::aws-sdk:appconfig:startDeployment"
SNS_PUBLISH = "arn:aws:states:::sns:publish"

# Seconds between two surveys while another deployment runs, and between two reads of
# the controller's own deployment while it deploys or bakes.
POLL_SECONDS = 60
# Refused StartDeployment calls in a row before the controller gives up.
MAX_REFUSALS = 3
# Lambda's transient errors (AWS's recommended retrier for lambda:invoke).
LAMBDA_RETRY = [{
    "ErrorEquals": ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                    "Lambda.TooManyRequestsException"],
    "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2,
}]  # fmt: skip

# The Fail states: what `cutover controller status` explains.
ENDINGS = {
    "Stopped": ("cutover.Stopped", ("The guard or a person acted (the rollback alarm, a stopped or reverted "
                "deployment, or a step moved back): a person decides what comes next.")),
    "RolledBack": ("cutover.Rollback", ("The analysis said ROLLBACK: the guard turns the canary off; the "
                   "controller never does.")),
    "Held": ("cutover.Held", "The analysis kept saying HOLD and nobody approved: the step stays where it is."),
    "Rejected": ("cutover.Rejected", "A person rejected the step (`cutover reject`): it stays where it is."),
    "ControllerFailed": ("cutover.Failed", ("The controller could not go on (its function or AppConfig "
                         "failed); the step stays where it is and the failure was notified.")),
}  # fmt: skip


@dataclass(frozen=True)
class ControllerPath:
    name: str
    flag: str
    steps: tuple[float, ...]
    percent: float  # the spec's step: `cutover ramp --sync` writes what is served over it
    shadow: bool  # the analysis judges the shadow checks only when the shadow runs


@dataclass(frozen=True)
class ControllerConfig:
    """What the definition is built from (generator/plan decides it from the spec)."""

    release: str
    environment: str
    spec_file: str
    paths: tuple[ControllerPath, ...]
    guardrails: Mapping[str, Any]
    observe_seconds: int
    max_holds: int
    approval: bool
    approval_timeout_seconds: int
    period_seconds: int  # guardrails.period_seconds: the analysis' periods
    poll_interval_seconds: int  # delivery.appconfig.poll_interval_s: when a new step is everywhere

    def as_state(self) -> dict[str, Any]:
        """`$.config`: what every call of the controller function receives."""
        return {
            "release": self.release,
            "environment": self.environment,
            "paths": [{"name": p.name, "flag": p.flag, "steps": [_number(s) for s in p.steps],
                       "percent": _number(p.percent), "shadow": p.shadow} for p in self.paths],
            "guardrails": dict(self.guardrails),
            "observeSeconds": self.observe_seconds,
            "maxHolds": self.max_holds,
            "approval": self.approval,
            "periodSeconds": self.period_seconds,
            "pollIntervalSeconds": self.poll_interval_seconds,
        }


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _call(action: str, result: dict[str, str], result_path: str, next_state: str,
          extra: dict[str, Any] | None = None, *, wait_for_token: bool = False) -> dict[str, Any]:
    """A Task that calls the controller function with one action."""
    payload = {"action": action, "config.$": "$.config", "execution.$": "$$.Execution.Id", **(extra or {})}
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE_WAIT if wait_for_token else LAMBDA_INVOKE,
        "Parameters": {"FunctionName": "${controller_function_arn}", "Payload": payload},
    }
    if result:
        state["ResultSelector"] = {f"{key}.$": f"$.Payload.{key}" for key in result}
    state["ResultPath"] = result_path
    state["Retry"] = LAMBDA_RETRY
    state["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "NotifyFailure"}]
    state["Next"] = next_state
    return state


def _choice(variable: str, routes: dict[str, str], default: str) -> dict[str, Any]:
    return {"Type": "Choice",
            "Choices": [{"Variable": variable, "StringEquals": value, "Next": target} for value, target in routes.items()],
            "Default": default}


def _count(counter: str, next_state: str) -> dict[str, Any]:
    return {"Type": "Pass", "Parameters": {"count.$": f"States.MathAdd({counter}.count, 1)"},
            "ResultPath": counter, "Next": next_state}


def _reset(counter: str, next_state: str) -> dict[str, Any]:
    return {"Type": "Pass", "Result": {"count": 0}, "ResultPath": counter, "Next": next_state}


def _ask(c: ControllerConfig) -> dict[str, Any]:
    state = _call("ask", {}, "$.approval", "Approved",
                  {"stage.$": "$.survey.stage", "reason.$": "$.judgement.reason", "token.$": "$$.Task.Token"},
                  wait_for_token=True)
    state["TimeoutSeconds"] = c.approval_timeout_seconds
    state["Catch"] = [
        {"ErrorEquals": ["cutover.Rejected"], "ResultPath": "$.failure", "Next": "Rejected"},
        *state["Catch"],
    ]
    return state


def _deploy_states(c: ControllerConfig) -> dict[str, Any]:
    """From the start to a deployment of the next step, and its wait until it settles."""
    return {
        "Begin": {"Type": "Pass",
                  "Parameters": {"input.$": "$", "config": c.as_state(), "holds": {"count": 0}, "refusals": {"count": 0}},
                  "Next": "Survey"},
        "Survey": _call("survey", {"action": "", "stage": "", "reason": ""}, "$.survey", "Route",
                        {"startedAt.$": "$$.Execution.StartTime"}),
        "Route": _choice("$.survey.action", {"NEXT": "Judge", "OBSERVE": "Observe", "BUSY": "WaitBusy", "DONE": "Done",
                                             "SKIP": "Skipped"}, "Stopped"),
        "WaitBusy": {"Type": "Wait", "Seconds": POLL_SECONDS, "Next": "Survey"},
        "Deploy": {
            "Type": "Task",
            "Resource": START_DEPLOYMENT,
            "Parameters": {
                "ApplicationId": "${application_id}",
                "EnvironmentId": "${environment_id}",
                "ConfigurationProfileId": "${profile_id}",
                "DeploymentStrategyId": "${strategy_id}",
                "KmsKeyIdentifier": "${kms_key_arn}",
                "ConfigurationVersion.$": "$.survey.stage.version",
                "Description.$": "$.survey.stage.description",
            },
            "ResultSelector": {"number.$": "$.DeploymentNumber"},
            "ResultPath": "$.deployment",
            # A refusal (ConflictException: another deployment started meanwhile, or
            # anything else): the next survey decides. AWS names SDK errors
            # ServiceName.ExceptionName without spelling AppConfig's casing, so all are caught.
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Refused"}],
            "Next": "Settle",
        },
        "Refused": _count("$.refusals", "TooManyRefusals"),
        "TooManyRefusals": {"Type": "Choice",
                            "Choices": [{"Variable": "$.refusals.count", "NumericGreaterThanEquals": MAX_REFUSALS,
                                         "Next": "NotifyFailure"}],
                            "Default": "WaitBusy"},
        "Settle": _call("settle", {"action": "", "reason": ""}, "$.settle", "Settled",
                        {"stage.$": "$.survey.stage", "deployment.$": "$.deployment.number"}),
        "Settled": _choice("$.settle.action", {"BAKING": "WaitSettle", "SETTLED": "Survey"}, "Stopped"),
        "WaitSettle": {"Type": "Wait", "Seconds": POLL_SECONDS, "Next": "Settle"},
    }


def _judge_states(c: ControllerConfig) -> dict[str, Any]:
    """The wait for data, the judgement and what each verdict leads to."""
    states: dict[str, Any] = {
        "Observe": {"Type": "Wait", "Seconds": c.observe_seconds, "Next": "Survey"},
        "Judge": _call("judge", {"verdict": "", "reason": ""}, "$.judgement", "Verdict",
                       {"stage.$": "$.survey.stage", "holds.$": "$.holds.count"}),
        "Verdict": _choice("$.judgement.verdict", {"PROMOTE": "Promoted", "HOLD": "CountHold",
                                                   "ROLLBACK": "RolledBack"}, "Stopped"),
        "Promoted": _reset("$.holds", "Deploy"),
        "CountHold": _count("$.holds", "HoldsLeft"),
        "HoldsLeft": {"Type": "Choice",
                      "Choices": [{"Variable": "$.holds.count", "NumericLessThanEquals": c.max_holds,
                                   "Next": "Observe"}],
                      "Default": "AskApproval" if c.approval else "Held"},
    }
    if c.approval:
        states["AskApproval"] = _ask(c)
        # The approved step is deployed only if a new survey still finds it next and safe.
        states["Approved"] = {"Type": "Pass", "Parameters": {"version.$": "$.survey.stage.version"},
                              "ResultPath": "$.approved", "Next": "SurveyApproved"}
        states["SurveyApproved"] = _call("survey", {"action": "", "stage": "", "reason": ""}, "$.survey",
                                         "RouteApproved", {"startedAt.$": "$$.Execution.StartTime"})
        states["RouteApproved"] = {"Type": "Choice", "Choices": [{"And": [
            {"Variable": "$.survey.action", "StringEquals": "NEXT"},
            {"Variable": "$.survey.stage.version", "StringEqualsPath": "$.approved.version"},
        ], "Next": "Promoted"}], "Default": "Route"}
    return states


def _end_states(c: ControllerConfig) -> dict[str, Any]:
    """The notification of a failure, and every way the machine ends."""
    subject = f"cutover {c.release} ({c.environment}): the controller ended"[:100]
    states: dict[str, Any] = {}
    states["NotifyFailure"] = {
        "Type": "Task",
        "Resource": SNS_PUBLISH,
        "Parameters": {"TopicArn": "${topic_arn}", "Subject": subject,
                       "Message.$": "States.JsonToString($.failure)"},
        "ResultPath": None,
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "Ending"}],
        "Next": "Ending",
    }
    states["Ending"] = {"Type": "Choice",
                        "Choices": [{"Variable": "$.failure.Error", "StringEquals": "States.Timeout", "Next": "Held"}],
                        "Default": "ControllerFailed"}
    states["Done"] = {"Type": "Succeed", "Comment": "Every read path reached its last step."}
    states["Skipped"] = {"Type": "Succeed", "Comment": "An older execution of this state machine is running."}
    for name, (error, cause) in ENDINGS.items():
        if name == "Rejected" and not c.approval:
            continue
        states[name] = {"Type": "Fail", "Error": error, "Cause": cause}
    return states


def definition(c: ControllerConfig) -> dict[str, Any]:
    """The state machine of one environment (docs/architecture.md, "The controller")."""
    return {
        "Comment": (f"cutover controller of {c.release} ({c.environment}). Generated by cutover from "
                    f"{c.spec_file}: do not edit; change the spec and run `make plan`."),
        "StartAt": "Begin",
        "TimeoutSeconds": 30 * 24 * 3600,
        "States": {**_deploy_states(c), **_judge_states(c), **_end_states(c)},
    }


class PlaceholderError(ValueError):
    """A placeholder without a value, or a value for no placeholder (templatefile's rules)."""


def substitute(text: str, values: Mapping[str, str]) -> str:
    """`text` with each `${name}` replaced by `values[name]`, as Terraform's templatefile()
    does for these plain references: a reference without a value is an error. Values are
    inserted inside JSON strings, so they must not need escaping (ids and ARNs do not)."""
    missing = sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)} - set(values))
    if missing:
        raise PlaceholderError(f"no value for {', '.join(missing)} (the definition needs {', '.join(PLACEHOLDERS)})")
    for name, value in values.items():
        if any(ch in value for ch in '"\\') or any(ord(ch) < 0x20 for ch in value):
            raise PlaceholderError(f"{name}: {value!r} would need JSON escaping")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
