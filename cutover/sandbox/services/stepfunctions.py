"""Step Functions (signing name ``states``, JSON 1.0): executions run by the project's ASL
evaluator on the sandbox's clock; state machines stay moto's.

moto keeps what Terraform creates and reads (CreateStateMachine, DescribeStateMachine,
UpdateStateMachine, DeleteStateMachine, tags). What it lacks or cannot do here is
answered by this stand-in:

- ``ValidateStateMachineDefinition``, which the provider calls while planning (moto
  answers it with a server error and the plan fails): the definition is checked by the
  evaluator's ``check_definition`` (what Step Functions refuses, and what the sandbox
  cannot run), diagnostics in AWS's shape: a plan against the sandbox fails on them.
- ``ListStateMachineVersions``, which the provider reads after every create and read
  (moto has not implemented it: Terraform retries the server error for minutes), from the
  versions moto keeps, newest first.
- Executions: moto's run nothing without Docker, so StartExecution, DescribeExecution,
  ListExecutions, StopExecution, GetExecutionHistory, DescribeStateMachineForExecution and
  SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat are the stand-in's. Each execution
  is a ``cutover.rehearsal.states.Execution`` over the definition moto keeps. The
  simulation advances them (``advance(now)``, after each simulated minute) with its
  ``tasks`` (Lambda in-process, AppConfig and SNS through the front door); nothing runs
  on an API call's thread, so a task's own calls back to the sandbox never wait on it.
  A started execution runs at the next simulated minute; a task token answered, too.

Errors are AWS's (docs/aws-rules.md, Step Functions): ExecutionAlreadyExists for a name
used before with another input or a closed execution (the same name and input while it
runs answers the same execution), StateMachineDoesNotExist, ExecutionDoesNotExist,
InvalidName, InvalidExecutionInput, InvalidArn, InvalidToken for a task token never
issued, TaskTimedOut ("Provided task does not exist anymore") for one no longer awaited
(answered, timed out, or its execution ended). Times are sandbox epoch seconds inside, the caller's clock in
answers (``clock.to_wall``), as the other stand-ins do.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..state import SandboxState
from ..wire import Request, Response
from . import _codec as codec
from ._codec import AwsError

CONTENT_TYPE = "application/x-amz-json-1.0"
OPERATIONS = frozenset({
    "ValidateStateMachineDefinition", "StartExecution", "DescribeExecution", "ListExecutions", "StopExecution",
    "GetExecutionHistory", "DescribeStateMachineForExecution", "SendTaskSuccess", "SendTaskFailure",
    "SendTaskHeartbeat", "ListStateMachineVersions"})
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"})
# AWS: 1-80 characters; no whitespace, brackets, wildcards, special or control characters
NAME = re.compile(r"^[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}$")
MACHINE_ARN = re.compile(r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+$")
EXECUTION_ARN = re.compile(r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$")
MAX_HISTORY_PAGE = 1000
MAX_LIST_PAGE = 1000
DEFAULT_PAGE = 100  # maxResults absent or 0: "the default is 100"


@dataclass
class Run:
    """One execution: the evaluator's ``Execution`` and what the API says about it."""

    arn: str
    machine_arn: str
    name: str
    input_text: str
    start: float  # sandbox epoch seconds
    execution: Any  # cutover.rehearsal.states.Execution
    stop: float | None = None  # sandbox epoch seconds, once it ended
    lock: threading.Lock = field(default_factory=threading.Lock)  # one advance/stop/answer at a time


class StepFunctions:
    signing_name = "states"

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.runs: dict[str, Run] = {}
        self.tokens: dict[str, str] = {}  # every task token issued -> its execution's ARN
        self.tasks: Any = None  # the simulation's Tasks (cutover.rehearsal.states.Tasks): None, nothing runs
        self._lock = threading.Lock()  # its own, held only to read or change the dicts above

    # -- the front door --------------------------------------------------------------------
    def handle(self, request: Request) -> Response | None:
        operation = request.target
        if operation not in OPERATIONS:
            return None
        try:
            params = codec.json_body(request)
            answer = getattr(self, "_" + _snake(operation))(params, request)
            return codec.json_answer(answer, content_type=CONTENT_TYPE)
        except AwsError as error:
            return codec.json_error(error, CONTENT_TYPE)

    def amend(self, request: Request, answer: Response) -> Response:
        """A deleted state machine's running executions end (AWS stops them)."""
        if request.target == "DeleteStateMachine" and answer.status == 200:
            arn = str(codec.json_body(request).get("stateMachineArn", ""))
            for run in self._runs_of(arn):
                with run.lock:
                    now = self.state.clock.time()
                    run.execution.stop(None, "the state machine was deleted", now)
                    self._ended(run, now)
        return answer

    # -- the simulation's side -------------------------------------------------------------
    def advance(self, now_s: float) -> int:
        """Run every execution that is due at ``now_s`` (sandbox seconds since start): started,
        answered, or its Wait (or task timeout) over. Returns how many ran."""
        if self.tasks is None:
            return 0
        epoch = self.state.clock.start_epoch + now_s
        with self._lock:
            due = [run for run in self.runs.values() if _due(run, epoch)]
        for run in due:
            with run.lock:
                if _due(run, epoch):
                    run.execution.advance(epoch, _Issuing(self, run))
                    self._ended(run, epoch)
        return len(due)

    def start(self, machine_arn: str, name: str | None, input_text: str | None) -> Run:
        """StartExecution (also what an EventBridge rule's target does)."""
        from cutover.rehearsal.states import DefinitionError, Execution

        machine = self._machine(machine_arn)
        name = name or str(uuid.uuid4())
        if not NAME.match(name):
            raise AwsError("InvalidName", f"Invalid Name: '{name}'")
        text = "{}" if input_text is None else input_text
        try:
            document = json.loads(text)
        except ValueError:
            raise AwsError("InvalidExecutionInput", f"Invalid State Machine Execution Input: '{text[:200]}'") from None
        arn = machine.arn.replace(":stateMachine:", ":execution:") + f":{name}"
        with self._lock:
            known = self.runs.get(arn)
            if known is not None:
                if known.execution.status == "RUNNING" and known.input_text == text:
                    return known
                raise AwsError("ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'")
            start = self.state.clock.time()
            try:
                execution = Execution(json.loads(machine.definition), document, arn=arn, name=name, start=start)
            except (DefinitionError, ValueError) as exc:
                raise AwsError("InvalidDefinition", f"Invalid State Machine Definition: {exc}") from None
            run = self.runs[arn] = Run(arn, machine.arn, name, text, start, execution)
        return run

    # -- operations ------------------------------------------------------------------------
    def _validate_state_machine_definition(self, params: dict[str, Any], _: Request) -> dict[str, Any]:
        problems = definition_problems(str(params.get("definition", "")))
        diagnostics = [{"severity": "ERROR", "code": code, "message": message, "location": location}
                       for code, message, location in problems]
        return {"result": "FAIL" if diagnostics else "OK", "diagnostics": diagnostics, "truncated": False}

    def _start_execution(self, params: dict[str, Any], _: Request) -> dict[str, Any]:
        run = self.start(_required(params, "stateMachineArn", MACHINE_ARN), params.get("name"), params.get("input"))
        return {"executionArn": run.arn, "startDate": self._wall(run.start)}

    def _describe_execution(self, params: dict[str, Any], _: Request) -> dict[str, Any]:
        run = self._run(params)
        execution = run.execution
        out: dict[str, Any] = {
            "executionArn": run.arn, "stateMachineArn": run.machine_arn, "name": run.name,
            "status": execution.status, "startDate": self._wall(run.start), "input": run.input_text,
            "inputDetails": {"included": True}, "redriveCount": 0, "redriveStatus": "NOT_REDRIVABLE"}
        if run.stop is not None:
            out["stopDate"] = self._wall(run.stop)
        if execution.status == "SUCCEEDED":
            out["output"] = json.dumps(execution.output)
            out["outputDetails"] = {"included": True}
        for key in ("error", "cause"):
            if getattr(execution, key, None) is not None:
                out[key] = getattr(execution, key)
        return out

    def _list_executions(self, params: dict[str, Any], _: Request) -> dict[str, Any]:
        machine = self._machine(_required(params, "stateMachineArn", MACHINE_ARN))
        status = params.get("statusFilter")
        with self._lock:
            runs = [r for r in self.runs.values() if r.machine_arn == machine.arn
                    and (status is None or r.execution.status == status)]
        runs.sort(key=lambda r: (r.start, r.arn), reverse=True)  # newest first, as AWS lists them
        page, token = _page(runs, params, MAX_LIST_PAGE)
        items = []
        for run in page:
            item = {"executionArn": run.arn, "stateMachineArn": run.machine_arn, "name": run.name,
                    "status": run.execution.status, "startDate": self._wall(run.start)}
            if run.stop is not None:
                item["stopDate"] = self._wall(run.stop)
            items.append(item)
        return {"executions": items, **({"nextToken": token} if token else {})}

    def _stop_execution(self, params: dict[str, Any], _: Request) -> dict[str, Any]:
        run = self._run(params)
        with run.lock:
            if run.execution.status == "RUNNING":
                now = self.state.clock.time()
                run.execution.stop(params.get("error"), params.get("cause"), now)
                self._ended(run, now)
        return {"stopDate": self._wall(run.stop if run.stop is not None else self.state.clock.time())}

    def _get_execution_history(self, params: dict[str, Any], _: Request) -> dict[str, Any]:
        run = self._run(params)
        events = [self._event(e, params.get("includeExecutionData", True)) for e in list(run.execution.history)]
        if params.get("reverseOrder"):
            events.reverse()
        page, token = _page(events, params, MAX_HISTORY_PAGE)
        return {"events": page, **({"nextToken": token} if token else {})}

    def _describe_state_machine_for_execution(self, params: dict[str, Any], _: Request) -> dict[str, Any]:
        machine = self._machine(self._run(params).machine_arn)
        out = {"stateMachineArn": machine.arn, "name": machine.name, "definition": machine.definition,
               "roleArn": machine.roleArn, "updateDate": self._wall_of(machine.update_date),
               "loggingConfiguration": machine.loggingConfiguration,
               "tracingConfiguration": machine.tracingConfiguration,
               "encryptionConfiguration": machine.encryptionConfiguration}
        return out

    def _list_state_machine_versions(self, params: dict[str, Any], _: Request) -> dict[str, Any]:
        machine = self._machine(_required(params, "stateMachineArn", MACHINE_ARN))
        versions = sorted(machine.versions.values(), key=lambda v: v.version, reverse=True)
        page, token = _page(versions, params, MAX_LIST_PAGE)
        items = [{"stateMachineVersionArn": v.arn, "creationDate": self._wall_of(v.creation_date)} for v in page]
        return {"stateMachineVersions": items, **({"nextToken": token} if token else {})}

    def _send_task_success(self, params: dict[str, Any], _: Request) -> dict[str, Any]:
        text = str(params.get("output", ""))
        try:
            output = json.loads(text)
        except ValueError:
            raise AwsError("InvalidOutput", f"Invalid Output: '{text[:200]}'") from None
        self._answer(params, lambda execution, token, now: execution.send_task_success(token, output, now))
        return {}

    def _send_task_failure(self, params: dict[str, Any], _: Request) -> dict[str, Any]:
        error, cause = params.get("error"), params.get("cause")
        self._answer(params, lambda execution, token, now: execution.send_task_failure(token, error, cause, now))
        return {}

    def _send_task_heartbeat(self, params: dict[str, Any], _: Request) -> dict[str, Any]:
        token, run = self._open_token(params)
        if run.execution.status != "RUNNING" or not getattr(run.execution, "_tokens", {}).get(token):
            raise AwsError("TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'")
        return {}

    # -- helpers ---------------------------------------------------------------------------
    def _answer(self, params: dict[str, Any], send: Any) -> None:
        """SendTaskSuccess/Failure: the execution takes the answer (the evaluator says whether
        the token is still awaited); it runs on at the next simulated minute."""
        from cutover.rehearsal.states import TokenError

        token, run = self._open_token(params)
        with run.lock:
            now = self.state.clock.time()
            try:
                send(run.execution, token, now)
            except TokenError as refused:
                raise AwsError(refused.code, str(refused).split(": ", 1)[-1]) from None
            self._ended(run, now)

    def _open_token(self, params: dict[str, Any]) -> tuple[str, Run]:
        token = str(params.get("taskToken", ""))
        with self._lock:
            arn = self.tokens.get(token)
            run = self.runs.get(arn) if arn is not None else None
        if run is None:
            raise AwsError("InvalidToken", f"Invalid Token: '{token[:80]}'")
        return token, run

    def _ended(self, run: Run, now: float) -> None:
        if run.execution.status != "RUNNING" and run.stop is None:
            run.stop = now

    def _run(self, params: dict[str, Any]) -> Run:
        arn = _required(params, "executionArn", EXECUTION_ARN)
        with self._lock:
            run = self.runs.get(arn)
        if run is None:
            raise AwsError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")
        return run

    def _runs_of(self, machine_arn: str) -> list[Run]:
        with self._lock:
            return [r for r in self.runs.values() if r.machine_arn == machine_arn and r.execution.status == "RUNNING"]

    def _machine(self, arn: str) -> Any:
        from moto.stepfunctions.models import stepfunctions_backends

        region = arn.split(":")[3] if arn.count(":") >= 6 else self.state.region
        backend = stepfunctions_backends[self.state.account_id][region]
        found = next((m for m in backend.state_machines if m.arn == arn), None)
        if found is None:
            raise AwsError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
        return found

    def _wall(self, sim_epoch: float) -> float:
        return self.state.clock.to_wall(sim_epoch)

    @staticmethod
    def _wall_of(value: Any) -> Any:
        return value.timestamp() if isinstance(value, datetime) else value

    def _event(self, event: dict[str, Any], include_data: bool) -> dict[str, Any]:
        out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in event.items()}
        stamp = out.get("timestamp")
        if isinstance(stamp, datetime):
            out["timestamp"] = self._wall(stamp.timestamp())
        if not include_data:
            for details in (v for k, v in out.items() if k.endswith("EventDetails") and isinstance(v, dict)):
                for key in ("input", "output", "parameters"):
                    details.pop(key, None)
        return out


class _Issuing:
    """The simulation's tasks for one execution: notes which execution each task token
    belongs to, and gives the task the execution's start time as every caller of the
    sandbox sees it (``$$.Execution.StartTime`` is the sandbox's; the function compares it
    with the executions and deployments it lists, whose times are shifted to its clock)."""

    def __init__(self, owner: StepFunctions, run: Run) -> None:
        self.owner, self.run_ = owner, run

    def run(self, resource: str, parameters: dict[str, Any], token: str | None) -> dict[str, Any] | None:
        if token is not None:
            with self.owner._lock:
                self.owner.tokens[token] = self.run_.arn
        start = self.run_.start
        shifted = _shift(parameters, _iso(start), _iso(self.owner.state.clock.to_wall(start)))
        return self.owner.tasks.run(resource, shifted, token)


def _due(run: Run, epoch: float) -> bool:
    wake = run.execution.wake_at
    return run.execution.status == "RUNNING" and wake is not None and wake <= epoch


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _shift(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {k: _shift(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_shift(v, old, new) for v in value]
    return new if value == old else value


def _required(params: dict[str, Any], key: str, pattern: re.Pattern[str]) -> str:
    value = str(params.get(key) or "")
    if not pattern.match(value):
        raise AwsError("InvalidArn", f"Invalid Arn: '{value}'")
    return value


def _page(items: list[Any], params: dict[str, Any], most: int) -> tuple[list[Any], str | None]:
    size = int(params.get("maxResults") or DEFAULT_PAGE)
    if not 0 < size <= most:
        raise AwsError("ValidationException", f"maxResults must be between 0 and {most}")
    try:
        offset = int(params.get("nextToken") or 0)
    except ValueError:
        raise AwsError("InvalidToken", "Invalid Token: the nextToken is not one this API gave") from None
    end = offset + size
    return items[offset:end], (str(end) if end < len(items) else None)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def definition_problems(text: str) -> list[tuple[str, str, str]]:
    """(code, message, location) of what in a definition the sandbox cannot run: the ASL
    evaluator's own check (``check_definition``), which refuses what Step Functions refuses
    and what it does not run."""
    from cutover.rehearsal.states import DefinitionError, check_definition

    try:
        document = json.loads(text)
    except ValueError as exc:
        return [("INVALID_JSON_DESCRIPTION", f"the definition is not JSON: {exc}", "")]
    try:
        check_definition(document)
    except DefinitionError as exc:
        return [("SCHEMA_VALIDATION_FAILED", str(exc), "/" + exc.where.replace(".", "/"))]
    return []
