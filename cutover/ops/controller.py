"""`cutover controller start|status|stop`, `cutover approve|reject`: the operator's side of
the controller, the Step Functions state machine that walks the canary through its steps
(spec `delivery.controller`, docs/operations.md).

Everything is read from Step Functions itself: the newest execution (ListExecutions,
DescribeExecution), where it is (the history's last StateEntered), what it decided (the
controller function's answers in the history carry their audit entries) and the question
it waits on (the newest `lambda:invoke.waitForTaskToken` task not yet answered: its task
token is in the task's parameters). What is served comes from AppConfig (ops/appconfig).
Stop, approve and reject write an audit record like `cutover rollback`'s (ops/audit).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import botocore.exceptions
from rich.console import Console
from rich.markup import escape

from cutover.ops import appconfig, audit, rollback
from cutover.ops.aws import OpsError, aws_errors, error_code, not_there, paginate
from cutover.ops.context import Context
from cutover.ops.output import FAILED, HOLD, OK, Result

# The approval task. AWS's history splits it into resourceType "lambda" and resource
# "invoke.waitForTaskToken"; the full form is accepted too.
WAIT_FOR_TOKEN = "arn:aws:states:::lambda:invoke.waitForTaskToken"
TASK_ENDED = frozenset({"TaskSucceeded", "TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed"})
REJECTED = "cutover.Rejected"
# SendTask* answers for a question no longer open (answered, timed out, execution ended).
GONE = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
RECENT = 20  # executions `ramp --sync` reads the decisions of
SHOWN = 3  # decisions `status` shows

ENDINGS = {
    "cutover.Stopped": ("it stopped itself because the guard or a person acted (the canary was turned off, the "
                        "rollback alarm is in ALARM, or someone else moved a path): a person decides what comes next"),
    "cutover.Rollback": ("the judgement said ROLLBACK; the controller never turns the canary off itself: the guard "
                         "does when the rollback alarm fires, or `cutover rollback --env {env} --reason ...`"),
    "cutover.Held": ("the judgement still said HOLD after every re-judgement (or nobody answered the approval in "
                     "time): the step stays; `cutover controller start --env {env}` judges it again"),
    "cutover.Rejected": "a person rejected the step with `cutover reject`: the step stays where it is",
    "cutover.Failed": ("the controller failed: a task failed after its retries, or AppConfig refused its deployment "
                       "three times; the cause says which"),
}


class NotApplied(OpsError):
    """The spec enables the controller, but its state machine is not there."""


@dataclass(frozen=True)
class Pending:
    """The question an execution waits on: `cutover approve|reject` answers it."""

    token: str
    event: int
    payload: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        stage = self.payload.get("stage") or {}
        return {"event": self.event, "path": stage.get("path"), "from": stage.get("from"), "step": stage.get("step"),
                "reason": self.payload.get("reason")}


def state_machine(ctx: Context) -> str:
    """The state machine's name; exit 2 when the spec does not enable the controller."""
    name = ctx.names.state_machine
    if name is None:
        raise OpsError(f"the controller is not enabled in {ctx.names.spec_file} (delivery.controller)")
    return name


def machine_arn(ctx: Context, name: str) -> str:
    with aws_errors("find the controller's state machine (states:ListStateMachines)"):
        machines = paginate(ctx.clients("stepfunctions"), "list_state_machines", "stateMachines")
    for machine in machines:
        if machine.get("name") == name:
            return machine["stateMachineArn"]
    raise NotApplied(not_there(f"Step Functions state machine '{name}' not found"))


def executions(ctx: Context, arn: str, *, status: str | None = None, limit: int = 1) -> list[dict[str, Any]]:
    """The newest executions first (ListExecutions answers newest first)."""
    with aws_errors("list the controller's executions (states:ListExecutions)"):
        answer = ctx.clients("stepfunctions").list_executions(
            stateMachineArn=arn, maxResults=limit, **({"statusFilter": status} if status else {}))
    return sorted(answer.get("executions", []), key=lambda e: e.get("startDate") or 0, reverse=True)


def history(ctx: Context, execution: str) -> list[dict[str, Any]]:
    with aws_errors("read the execution's history (states:GetExecutionHistory)"):
        return paginate(ctx.clients("stepfunctions"), "get_execution_history", "events", executionArn=execution)


def current_state(events: list[dict[str, Any]]) -> str | None:
    entered = [e for e in events if str(e.get("type", "")).endswith("StateEntered")]
    return entered[-1].get("stateEnteredEventDetails", {}).get("name") if entered else None


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def decisions(events: list[dict[str, Any]], execution: str) -> list[dict[str, Any]]:
    """The controller function's audit entries, oldest first, each with where it came
    from (`controllerEvent`: execution ARN + event id, what `ramp --sync` de-duplicates on)."""
    out = []
    for event in events:
        if event.get("type") != "TaskSucceeded":
            continue
        output = _json(event.get("taskSucceededEventDetails", {}).get("output"))
        payload = output.get("Payload", output) if isinstance(output, dict) else None
        entry = payload.get("audit") if isinstance(payload, dict) else None
        if isinstance(entry, dict):
            out.append({**entry, "controllerEvent": {"execution": execution, "id": event.get("id")}})
    return out


def _waits_for_token(details: dict[str, Any]) -> bool:
    resource = str(details.get("resource", ""))
    full = resource if resource.startswith("arn:") else f"arn:aws:states:::{details.get('resourceType', '')}:{resource}"
    return full == WAIT_FOR_TOKEN


def pending(events: list[dict[str, Any]]) -> Pending | None:
    """The newest approval task with no answer after it (the machine runs one task at a time)."""
    for i in range(len(events) - 1, -1, -1):
        event = events[i]
        if event.get("type") in TASK_ENDED:
            return None
        details = event.get("taskScheduledEventDetails") or {}
        if event.get("type") == "TaskScheduled" and _waits_for_token(details):
            payload = (_json(details.get("parameters")) or {}).get("Payload") or {}
            token = payload.get("token")
            return Pending(str(token), int(event.get("id", 0)), payload) if token else None
    return None


def explain(env: str, description: dict[str, Any], state: str | None) -> str:
    """One sentence on how the execution ended (or where it is)."""
    status = description.get("status")
    if status == "RUNNING":
        return f"running, in state {state}" if state else "running"
    if status == "SUCCEEDED":
        return ("another execution was already running: this one did nothing" if state == "Skipped"
                else "it finished: every read path is at its last step")
    if status == "ABORTED":
        return f"stopped with StopExecution (`cutover controller stop` or the console): {description.get('cause') or 'no cause given'}"
    if status == "TIMED_OUT":
        return "it ran longer than the state machine allows (TIMED_OUT)"
    error = description.get("error") or ""
    known = ENDINGS.get(error)
    return (known.format(env=env) if known else f"it failed with {error or 'no error name'}") + (
        f" ({description['cause']})" if description.get("cause") else "")


def served(ctx: Context) -> dict[str, float] | None:
    """The canary percent AppConfig serves per read path (None: no flags, or unreadable)."""
    if ctx.names.appconfig_application is None:
        return None
    client = ctx.clients("appconfig")
    try:
        with aws_errors("read what AppConfig serves"):
            return appconfig.read(client, appconfig.resolve(client, ctx.names), ctx.names).canary
    except OpsError:
        return None


def describe_execution(ctx: Context, arn: str) -> dict[str, Any]:
    with aws_errors("describe the execution (states:DescribeExecution)"):
        return ctx.clients("stepfunctions").describe_execution(executionArn=arn)


def reading(ctx: Context, served_now: dict[str, float] | None = None) -> dict[str, Any]:
    """The controller as `controller status` and `status` show it; `served_now`: the
    served canary percents when the caller has read them already."""
    name = state_machine(ctx)
    arn = machine_arn(ctx, name)
    newest = executions(ctx, arn)
    data: dict[str, Any] = {"stateMachine": name, "stateMachineArn": arn, "execution": None,
                            "served": served(ctx) if served_now is None else served_now,
                            "decisions": [], "pending": None}
    if not newest:
        return data
    description = describe_execution(ctx, newest[0]["executionArn"])
    events = history(ctx, newest[0]["executionArn"])
    state = current_state(events)
    question = pending(events) if description.get("status") == "RUNNING" else None
    data.update(
        execution={"arn": description.get("executionArn"), "name": description.get("name"),
                   "status": description.get("status"), "startDate": description.get("startDate"),
                   "stopDate": description.get("stopDate"), "state": state, "error": description.get("error"),
                   "cause": description.get("cause"), "explained": explain(ctx.env, description, state),
                   "input": _json(description.get("input"))},
        decisions=decisions(events, str(description.get("executionArn")))[-SHOWN:],
        pending=question.to_json() if question else None)
    return data


def lines(ctx: Context, data: dict[str, Any]) -> list[str]:
    """The reading in a few lines of text (rich markup; what AWS or a person wrote is escaped)."""
    out = [f"controller: state machine {data['stateMachine']}"]
    run = data["execution"]
    if data.get("served") is not None:
        out.append("served: " + (", ".join(f"{p} {v:g}%" for p, v in data["served"].items()) or "no canary flag"))
    if run is None:
        out.append(f"no execution yet: `cutover controller start --env {ctx.env}`")
        return out
    out.append(f"newest execution {escape(str(run['name']))}: [bold]{run['status']}[/] (started {run['startDate']}); "
               f"{escape(run['explained'])}")
    for entry in data["decisions"]:
        acts = ", ".join(str(a.get("action")) for a in entry.get("actions", []))
        out.append(escape(f"  {entry.get('when')}: {acts or 'no action'}: {entry.get('why')}"))
    if data["pending"]:
        q = data["pending"]
        out.append("[yellow]waiting for a person[/]: " + escape(
            f"{q['path']} at {q['from']}% -> {q['step']}%: {q['reason']}; `cutover approve --env {ctx.env}` or "
            f"`cutover reject --env {ctx.env} --reason ...`"))
    return out


def status(ctx: Context) -> Result:
    data = reading(ctx)

    def view(out: Console) -> None:
        for line in lines(ctx, data):
            out.print(line, soft_wrap=True)

    return Result("controller status", OK, {"env": ctx.env, **data}, view)


def _execution_name(user: str) -> str:
    """`<utc yyyymmddThhmmss>-<user>`: the characters Step Functions allows, 80 at most."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", user).strip("-") or "operator"
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{safe}"[:80]


def start(ctx: Context) -> Result:
    name = state_machine(ctx)
    arn = machine_arn(ctx, name)
    running = executions(ctx, arn, status="RUNNING")
    data: dict[str, Any] = {"env": ctx.env, "stateMachine": name, "started": None}
    if running:
        reason = (f"execution {running[0]['name']} is already RUNNING: one walk at a time; "
                  f"`cutover controller status --env {ctx.env}` says where it is")
        return Result("controller start", HOLD, {**data, "refused": reason}, lambda o: o.print(f"[yellow]refused[/]: {reason}"))
    who = audit.who(ctx.clients)
    with aws_errors("start the controller (states:StartExecution)"):
        answer = ctx.clients("stepfunctions").start_execution(
            stateMachineArn=arn, name=_execution_name(who["user"]), input=json.dumps({"startedBy": who["user"]}))
    data["started"] = {"arn": answer["executionArn"], "startDate": answer.get("startDate"), "by": who}
    return Result("controller start", OK, data, lambda o: o.print(
        f"started {answer['executionArn']}; follow it with `cutover controller status --env {ctx.env}`"))


def _entry(ctx: Context, who: dict[str, str], why: str, actions: list[dict[str, Any]],
           where: bool = True) -> dict[str, Any]:
    """The audit record (ops/audit, as `cutover rollback` writes it). `where`: the walk ends
    here, so `specChanges` holds the spec edit that says what is served (what
    `cutover ramp --sync` writes), when the spec differs."""
    changes: list[str] = []
    if where:
        try:
            changes = rollback.spec_changes(ctx, served(ctx))
        except OpsError:  # the record matters more than the hint
            changes = []
    return {"env": ctx.env, "when": audit.now(), "who": who, "why": why, "actions": actions, "steps": {},
            "specChanges": changes}


def _sync_hint(ctx: Context, entry: dict[str, Any]) -> str:
    if not entry["specChanges"]:
        return "the spec says what is served"
    return (f"the spec differs from what is served ({'; '.join(entry['specChanges'])}): "
            f"`cutover ramp --sync --env {ctx.env}` makes it say what is served")


def stop(ctx: Context, reason: str) -> Result:
    """Stop every RUNNING execution (normally one); nothing running is nothing to do."""
    name = state_machine(ctx)
    running = executions(ctx, machine_arn(ctx, name), status="RUNNING", limit=100)
    if not running:
        note = f"nothing to stop: no execution of {name} is running"
        return Result("controller stop", OK, {"env": ctx.env, "stateMachine": name, "nothingToDo": True, "note": note},
                      lambda o: o.print(note))
    who = audit.who(ctx.clients)
    cause = f"stopped by {who['user']}: {reason}"
    actions = []
    with aws_errors("stop the controller (states:StopExecution)"):
        for execution in running:
            ctx.clients("stepfunctions").stop_execution(executionArn=execution["executionArn"], cause=cause[:32768])
            actions.append({"action": "controller-stop", "execution": execution["executionArn"]})
    entry = _entry(ctx, who, reason, actions)
    path = audit.record(ctx.root, ctx.env, entry)
    data = {**entry, "stateMachine": name, "auditRecord": str(path), "nothingToDo": False}

    def view(out: Console) -> None:
        for a in actions:
            out.print(f"[bold]stopped[/] {a['execution']}")
        out.print(f"audit record: {path}; the canary stays where it is; {_sync_hint(ctx, entry)}", soft_wrap=True)

    return Result("controller stop", OK, data, view)


def _waiting(ctx: Context, command: str) -> tuple[dict[str, Any], Pending] | Result:
    """The RUNNING execution and its pending question, or the Result that says there is none."""
    name = state_machine(ctx)
    running = executions(ctx, machine_arn(ctx, name), status="RUNNING")
    question = pending(history(ctx, running[0]["executionArn"])) if running else None
    if question is None:
        why = (f"no execution of {name} is running" if not running else
               f"execution {running[0]['name']} is not waiting for an answer "
               f"(`cutover controller status --env {ctx.env}` says where it is)")
        return Result(command, FAILED, {"env": ctx.env, "stateMachine": name, "refused": f"nothing to answer: {why}"},
                      lambda o: o.print(f"[red]nothing to answer[/]: {why}"))
    return running[0], question


def _alarm(ctx: Context) -> str | None:
    with aws_errors("read the rollback alarm (cloudwatch:DescribeAlarms)"):
        answer = ctx.clients("cloudwatch").describe_alarms(AlarmNames=[ctx.names.rollback_alarm],
                                                           AlarmTypes=["CompositeAlarm", "MetricAlarm"])
    states = [a.get("StateValue") for a in answer.get("CompositeAlarms", []) + answer.get("MetricAlarms", [])]
    return states[0] if states else None


def _send(ctx: Context, call: str, **kwargs: Any) -> str | None:
    """SendTaskSuccess/Failure; a sentence when the question was answered or timed out meanwhile."""
    client = ctx.clients("stepfunctions")
    with aws_errors(f"answer the controller (states:{call})"):
        try:
            getattr(client, call)(**kwargs)
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) not in GONE:
                raise
            return f"the question is no longer pending ({error_code(exc)}): {exc}"
    return None


def answer(ctx: Context, approve: bool, reason: str | None) -> Result:
    """`cutover approve` (promote the step the controller asks about) or `cutover reject`."""
    command = "approve" if approve else "reject"
    found = _waiting(ctx, command)
    if isinstance(found, Result):
        return found
    execution, question = found
    if approve and _alarm(ctx) == "ALARM":
        why = (f"{ctx.names.rollback_alarm} is in ALARM: approving would promote a failing step; "
               f"`cutover monitor --env {ctx.env}`, or `cutover reject --env {ctx.env} --reason ...`")
        return Result(command, FAILED, {"env": ctx.env, "refused": why, "pending": question.to_json()},
                      lambda o: o.print(f"[red]refused[/]: {why}"))
    who = audit.who(ctx.clients)
    if approve:
        gone = _send(ctx, "send_task_success", taskToken=question.token,
                     output=json.dumps({"approvedBy": who["user"], "reason": reason or ""}))
    else:
        gone = _send(ctx, "send_task_failure", taskToken=question.token, error=REJECTED,
                     cause=f"rejected by {who['user']}: {reason}"[:32768])
    if gone:
        return Result(command, FAILED, {"env": ctx.env, "refused": gone}, lambda o: o.print(f"[red]refused[/]: {gone}"))
    q = question.to_json()
    entry = _entry(ctx, who, reason or "approved", [{"action": f"controller-{command}", "execution": execution["executionArn"],
                                                     "path": q["path"], "from": q["from"], "step": q["step"]}],
                   where=not approve)
    path = audit.record(ctx.root, ctx.env, entry)
    done = (f"approved: {q['path']} is promoted from {q['from']}% and the controller goes on" if approve
            else f"rejected: the controller ends (cutover.Rejected); {q['path']} stays at {q['from']}%; "
                 f"{_sync_hint(ctx, entry)}")
    return Result(command, OK, {**entry, "pending": q, "auditRecord": str(path)},
                  lambda o: o.print(f"{done}; audit record: {path}"))

