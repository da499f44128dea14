"""What moto forgets of a Lambda function's configuration, put back into its answers.

moto keeps every function, but drops the ``DeadLetterConfig`` and ``LoggingConfig`` that
CreateFunction / UpdateFunctionConfiguration set: GetFunction and GetFunctionConfiguration
answer without them, and Terraform then sees every ``aws_lambda_function`` as changed
(a replan updates each one and publishes a new version of it). This layer records what
was sent, once moto has accepted it, and adds it to moto's function configurations:

- ``DeadLetterConfig``: as sent (an empty ``TargetArn`` in an update removes it).
- ``LoggingConfig``: as sent, over AWS's defaults: "By default, Lambda functions send
  logs to a default log group named /aws/lambda/<function name>", in the ``Text`` format
  (docs/aws-rules.md, The local sandbox's stand-ins).

A published version keeps the settings of the moment it was published; a qualifier that
is an alias reads the version the alias points at.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from ..state import SandboxState
from ..wire import Request, Response

FUNCTIONS = re.compile(r"^/2015-03-31/functions(?:/([^/]+)(/configuration|/versions|/code)?)?/?$")
RECORDED = ("DeadLetterConfig", "LoggingConfig")
LATEST = "$LATEST"


class LambdaSettings:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._lock = threading.Lock()  # its own: the front door never waits on the simulation
        self.settings: dict[tuple[str, str], dict[str, Any]] = {}  # (function name, version) -> settings

    def amend(self, request: Request, answer: Response) -> Response:
        """moto's answer with the recorded settings put back (or recorded, for a write)."""
        match = FUNCTIONS.match(request.path)
        if match is None or not 200 <= answer.status < 300 or not answer.body:
            return answer
        try:
            body = json.loads(answer.body)
        except ValueError:
            return answer
        with self._lock:
            if request.method in ("POST", "PUT"):
                self._record(request, match.group(2) or "", body)
            self._restore(body)
        return Response(answer.status, json.dumps(body).encode(), answer.headers)

    def _record(self, request: Request, part: str, answer: dict[str, Any]) -> None:
        name = str(answer.get("FunctionName", ""))
        if request.method == "POST" and part == "/versions":  # PublishVersion
            self.settings[(name, str(answer.get("Version")))] = dict(self.settings.get((name, LATEST), {}))
            return
        if part not in ("", "/configuration"):
            return
        sent = json.loads(request.body or b"{}")
        current = self.settings.setdefault((name, LATEST), {})
        if "DeadLetterConfig" in sent:
            if (sent["DeadLetterConfig"] or {}).get("TargetArn"):
                current["DeadLetterConfig"] = {"TargetArn": sent["DeadLetterConfig"]["TargetArn"]}
            else:
                current.pop("DeadLetterConfig", None)
        if sent.get("LoggingConfig"):
            current["LoggingConfig"] = {**current.get("LoggingConfig", {}), **sent["LoggingConfig"]}
        if request.method == "POST" and sent.get("Publish") and answer.get("Version") not in (None, LATEST):
            self.settings[(name, str(answer["Version"]))] = dict(current)

    def _restore(self, body: dict[str, Any]) -> None:
        for config in _configurations(body):
            name, version = str(config.get("FunctionName", "")), str(config.get("Version", LATEST))
            recorded = self.settings.get((name, version), self.settings.get((name, LATEST), {}))
            for key in RECORDED:
                if key in recorded and key not in config:
                    config[key] = recorded[key]
            config.setdefault("LoggingConfig", {})
            config["LoggingConfig"].setdefault("LogFormat", "Text")
            config["LoggingConfig"].setdefault("LogGroup", f"/aws/lambda/{name}")


def _configurations(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The function configurations in an answer: itself, GetFunction's, or a listing's."""
    if "Configuration" in body:
        return [body["Configuration"]]
    if "Versions" in body or "Functions" in body:
        return list(body.get("Versions") or body.get("Functions") or [])
    return [body] if "FunctionArn" in body and "FunctionName" in body else []
