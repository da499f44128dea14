"""Lambda's Invoke (signing name ``lambda``) for the functions the simulation runs: moto
keeps every function's configuration, but runs code only in Docker, which the sandbox
does not use. The simulation registers a runner per function name (the real handler,
in-process); an Invoke of a registered function is answered by it, everything else
(and every other Lambda operation) stays with moto, whose answers get back what it drops
of a function's configuration (lambda_settings.py).

As Lambda does: the function and the qualifier (version or alias) must exist (moto says
which: ResourceNotFoundException otherwise); ``Event`` invocations answer 202 with no
payload (the caller never sees the function's answer); ``DryRun`` 204; a function error
is a 200 with ``X-Amz-Function-Error: Unhandled``; ``X-Amz-Executed-Version`` names the
version the alias pointed at (docs/aws-rules.md, Lambda).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from ..state import SandboxState
from ..wire import Request, Response
from . import _codec as codec
from ._codec import AwsError
from .lambda_settings import LambdaSettings

INVOKE = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")


@dataclass(frozen=True)
class Invocation:
    function_name: str
    qualifier: str  # the alias or version asked for ("$LATEST" when none)
    version: str  # the version that runs
    payload: bytes
    invocation_type: str  # RequestResponse | Event


@dataclass(frozen=True)
class Outcome:
    payload: bytes
    function_error: str | None = None  # "Unhandled" when the handler raised


Runner = Callable[[Invocation], Outcome]


class LambdaInvoke:
    signing_name = "lambda"

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.runners: dict[str, Runner] = {}
        self.settings = LambdaSettings(state)

    def register(self, function_name: str, runner: Runner) -> None:
        """Run ``function_name``'s invocations with ``runner`` (the simulation's handler)."""
        self.runners[function_name] = runner

    def call(self, function: str, payload: bytes, invocation_type: str = "RequestResponse") -> tuple[str, Outcome]:
        """An Invoke from inside the sandbox (Step Functions' ``lambda:invoke`` tasks), without
        HTTP: the same checks, then the runner; (the version that ran, its outcome). Raises ``AwsError`` ResourceNotFoundException
        for a function that is not applied or that the simulation does not run."""
        name, qualifier = self._name(function, "")
        if name not in self.runners:
            raise AwsError("ResourceNotFoundException", f"Function not found: {function} (not run by the sandbox)", 404)
        version = self._version(name, qualifier)
        return version, self.runners[name](Invocation(name, qualifier or "$LATEST", version, payload, invocation_type))

    def amend(self, request: Request, answer: Response) -> Response:
        """moto's answer with what it drops of a function's configuration (lambda_settings.py)."""
        return self.settings.amend(request, answer)

    def handle(self, request: Request) -> Response | None:
        match = INVOKE.match(request.path)
        if request.method != "POST" or match is None:
            return None
        name, qualifier = self._name(unquote(match.group(1)), (request.query.get("Qualifier") or [""])[0])
        if name not in self.runners:
            return None
        try:
            version = self._version(name, qualifier)
        except AwsError as error:
            return codec.json_error(error, "application/json")
        kind = request.headers.get("x-amz-invocation-type", "RequestResponse")
        if kind == "DryRun":
            return Response(204)
        outcome = self.runners[name](Invocation(name, qualifier or "$LATEST", version, request.body, kind))
        if kind == "Event":
            return Response(202)
        headers = {"Content-Type": "application/json", "X-Amz-Executed-Version": version}
        if outcome.function_error:
            headers["X-Amz-Function-Error"] = outcome.function_error
        return Response(200, outcome.payload, headers)

    @staticmethod
    def _name(raw: str, qualifier: str) -> tuple[str, str]:
        """(function name, qualifier) from a name, a partial ARN or a full ARN."""
        parts = raw.split(":")
        if raw.startswith("arn:"):
            parts = parts[6:]
        elif len(parts) >= 3:  # ACCOUNT:function:NAME[:QUALIFIER]
            parts = parts[2:]
        name = parts[0]
        return name, qualifier or (parts[1] if len(parts) > 1 else "")

    def _version(self, name: str, qualifier: str) -> str:
        from moto.awslambda.exceptions import LambdaClientError
        from moto.awslambda.models import lambda_backends

        backend = lambda_backends[self.state.account_id][self.state.region]
        try:
            if qualifier and not qualifier.isdigit() and qualifier != "$LATEST":
                return str(backend.get_alias(qualifier, name).function_version)
            return str(backend.get_function(name, qualifier or None).version)
        except LambdaClientError as exc:  # moto's UnknownFunction/UnknownAlias
            raise AwsError("ResourceNotFoundException", f"Function not found: {name}:{qualifier or '$LATEST'} "
                           f"({type(exc).__name__})", 404) from None
