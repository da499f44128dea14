"""Invoke of a function the simulation registered runs its runner; through an alias the
executed version is the alias's; Event answers 202 without the function's answer."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from botocore.exceptions import ClientError

from cutover.sandbox.services import Outcome


def _function(sandbox, name: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    iam = sandbox.client("iam")
    try:
        role = iam.get_role(RoleName="sandbox-fn")["Role"]["Arn"]
    except ClientError:
        role = iam.create_role(RoleName="sandbox-fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = sandbox.client("lambda")
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handler",
                        Code={"ZipFile": buffer.getvalue()}, Publish=True)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")


def test_invoke_runs_the_registered_runner_as_lambda_answers(sandbox):
    _function(sandbox, "sandbox-echo")
    seen = []

    def runner(invocation):
        seen.append((invocation.qualifier, invocation.version, invocation.invocation_type))
        event = json.loads(invocation.payload)
        return Outcome(json.dumps({"errorMessage": "boom"}).encode(), "Unhandled") if event.get("fail") \
            else Outcome(json.dumps({"echo": event}).encode())

    sandbox.aws.lambda_.register("sandbox-echo", runner)
    lam = sandbox.client("lambda")
    answer = lam.invoke(FunctionName="sandbox-echo", Qualifier="live", Payload=b'{"a": 1}')
    assert json.loads(answer["Payload"].read()) == {"echo": {"a": 1}} and answer["ExecutedVersion"] == "1"
    failed = lam.invoke(FunctionName="sandbox-echo:live", Payload=b'{"fail": true}')
    assert failed["FunctionError"] == "Unhandled"
    event = lam.invoke(FunctionName="sandbox-echo", Qualifier="live", InvocationType="Event", Payload=b"{}")
    assert event["StatusCode"] == 202 and event["Payload"].read() == b""
    assert seen == [("live", "1", "RequestResponse"), ("live", "1", "RequestResponse"), ("live", "1", "Event")]
    with pytest.raises(ClientError) as missing:
        lam.invoke(FunctionName="sandbox-echo", Qualifier="nope", Payload=b"{}")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
