"""Router end to end in-process: real boto3 against a local Invoke API, or Stubber."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from cutover_runtime import aws, lambda_client
from cutover_runtime.assignment import assign, user_hash
from cutover_runtime.compare import digest
from cutover_runtime.shadow import ASYNC_EVENT_LIMIT, ASYNC_PAYLOAD_LIMIT, build_shadow_event
from user_profile.mock import mock_profile
from user_profile.read_model import validate_profile

from .conftest import CANDIDATE_ARN, SALT, events, flag_values, latencies, metric_totals


def http_event(user_id: str | None, headers: dict | None = None) -> dict:
    return {"version": "2.0", "routeKey": "GET /users/{userId}", "rawPath": f"/users/{user_id}",
            "headers": headers or {"accept": "application/json"},
            "pathParameters": {"userId": user_id} if user_id else None,
            "requestContext": {"http": {"method": "GET"}, "requestId": "r-1"}}


def candidate_profile(user_id: str) -> dict:
    body = mock_profile(user_id)
    body["displayName"] = "From Candidate"
    return body


def test_direct_invoke_serves_the_deterministic_control_answer(router_env, capsys):
    response = router_env.lambda_handler({"userId": "user-7"}, None)
    assert response == mock_profile("user-7") == router_env.lambda_handler(
        {"userId": "user-7"}, None)
    validate_profile(response)
    out = capsys.readouterr().out
    request = events(out, "REQUEST")[0]
    assert request["servedBy"] == "control" and request["canary"] == 0
    assert request["userHash"] == user_hash(SALT, "user-7")
    assert metric_totals(out) == {"Requests": 2}


def test_http_api_event_gets_an_http_response_with_the_same_body(router_env):
    response = router_env.lambda_handler(http_event("user-7"), None)
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/json"
    assert json.loads(response["body"]) == mock_profile("user-7")


def test_missing_user_id_is_a_client_error_not_an_exception(router_env, capsys):
    assert router_env.lambda_handler(http_event(None), None)["statusCode"] == 400
    assert router_env.lambda_handler({}, None) == {"error": "userId is required"}
    assert "Errors" not in metric_totals(capsys.readouterr().out)


def test_canary_users_are_served_by_the_candidate_synchronously(
        router_env, extension, lambda_service, capsys):
    extension.document = flag_values(percent=100)
    lambda_service.answer = lambda p: (200, {}, json.dumps(candidate_profile(p["userId"])).encode(), 0)
    response = router_env.lambda_handler({"userId": "user-7"}, None)
    assert response["displayName"] == "From Candidate"
    assert lambda_service.calls == [{
        "path": f"/2015-03-31/functions/{CANDIDATE_ARN.replace(':', '%3A')}/invocations",
        "type": "RequestResponse", "payload": {"userId": "user-7"}}]
    out = capsys.readouterr().out
    assert metric_totals(out) == {"Requests": 1, "CanaryRequests": 1}
    assert events(out, "CANARY-OK")[0]["userHash"] == user_hash(SALT, "user-7")
    assert events(out, "REQUEST")[0]["servedBy"] == "candidate"


def test_only_users_below_the_threshold_go_to_the_candidate(router_env, extension, lambda_service):
    extension.document = flag_values(percent=25)
    users = [f"user-{i}" for i in range(200)]
    for user in users:
        router_env.lambda_handler({"userId": user}, None)
    invoked = [c["payload"]["userId"] for c in lambda_service.calls]
    assert invoked == [u for u in users if assign(SALT, u, 25).canary]
    assert 20 < len(invoked) < 80


def test_the_sticky_key_comes_from_the_flag_and_its_absence_means_control(
        router_env, extension, lambda_service):
    extension.document = flag_values(percent=100, sticky_key="x-session-id")
    router_env.lambda_handler(http_event("user-7"), None)
    assert lambda_service.calls == []
    router_env.lambda_handler(http_event("user-7", {"x-session-id": "s-1"}), None)
    assert len(lambda_service.calls) == 1


def test_canary_invoke_parameters_with_stubber(router_env, extension, aws_env):
    extension.document = flag_values(percent=100)
    client = boto3.client("lambda", region_name="us-east-1")
    body = json.dumps(candidate_profile("user-7")).encode()
    with Stubber(client) as stub:
        stub.add_response("invoke", {"StatusCode": 200,
                                     "Payload": StreamingBody(io.BytesIO(body), len(body))},
                          expected_params={"FunctionName": CANDIDATE_ARN,
                                           "InvocationType": "RequestResponse",
                                           "Payload": b'{"userId": "user-7"}'})
        aws.inject("lambda", client, "canary")
        assert router_env.lambda_handler({"userId": "user-7"}, None)["displayName"] == \
            "From Candidate"
        stub.assert_no_pending_responses()


@pytest.mark.parametrize("fault,reason", [
    (lambda p: (200, {"X-Amz-Function-Error": "Unhandled"},
                b'{"errorMessage": "boom", "errorType": "OperationalError"}', 0),
     "FunctionError:Unhandled"),
    (lambda p: (200, {}, b"{not json", 0), "malformed"),
    (lambda p: (200, {}, b'{"userId": "user-7"}', 0), "malformed"),
    (lambda p: (200, {}, b"{}", 1.0), "timeout"),
    (lambda p: (500, {"x-amzn-ErrorType": "ServiceException"}, b'{"Message": "x"}', 0),
     "ServiceException"),
])
def test_a_failing_candidate_falls_back_to_the_control_and_is_counted(
        router_env, extension, lambda_service, capsys, fault, reason, aws_env):
    # only the timeout case is about the deadline (a 1 s answer against 300 ms): the
    # others keep the fixture's generous timeout, so a loaded machine cannot turn
    # "malformed" into "timeout"
    if reason == "timeout":
        aws_env.setenv("CUTOVER_CANARY_TIMEOUT_MS", "300")
    extension.document = flag_values(percent=100)
    lambda_service.answer = fault
    assert router_env.lambda_handler({"userId": "user-7"}, None) == mock_profile("user-7")
    out = capsys.readouterr().out
    # a failure that fell back is a canary error, not a served error (contracts.md §5)
    assert metric_totals(out) == {"Requests": 1, "CanaryRequests": 1, "CanaryErrors": 1,
                                  "CanaryFallbacks": 1}
    assert [route for route, _ in latencies(out)] == ["canary"]
    assert events(out, "CANARY-ERROR")[0]["error"] == reason
    assert events(out, "CANARY-FALLBACK")[0]["error"] == reason
    request = events(out, "REQUEST")[0]
    assert (request["servedBy"], request["failed"], request["fallback"]) == ("control", 1, 1)


def test_with_fallback_off_the_candidate_failure_is_served(
        router_env, extension, lambda_service, aws_env, capsys):
    aws_env.setenv("CUTOVER_CANARY_FALLBACK", "false")
    router_env.reset()
    extension.document = flag_values(percent=100)
    lambda_service.answer = lambda p: (200, {}, b"{not json", 0)
    assert router_env.lambda_handler(http_event("user-7"), None)["statusCode"] == 502
    out = capsys.readouterr().out
    totals = metric_totals(out)
    assert totals["Errors"] == 1 and "CanaryFallbacks" not in totals
    assert [route for route, _ in latencies(out)] == ["canary"]


def test_shadow_dispatch_sends_the_request_and_the_control_answer(
        router_env, extension, lambda_service, capsys):
    extension.document = flag_values(percent=0, shadow=True, sample_rate=1.0, timeout_ms=250)
    response = router_env.lambda_handler({"userId": "user-7"}, None)
    assert response == mock_profile("user-7")
    assert router_env.router().shadow.drain()
    [call] = lambda_service.calls
    assert call["type"] == "Event"
    event = call["payload"]
    assert event["cutover"] == "shadow" and len(event["eventId"]) == 36
    assert event["request"] == {"userId": "user-7"}
    assert event["control"]["body"] == response
    assert event["control"]["digest"] == digest(response)
    assert event["control"]["durationMs"] >= 0
    assert event["userHash"] == user_hash(SALT, "user-7") and event["timeoutMs"] == 250
    totals = metric_totals(capsys.readouterr().out)
    assert totals == {"Requests": 1, "ShadowDispatched": 1}


def test_shadow_is_sampled_and_never_tees_canary_users(router_env, extension, lambda_service):
    extension.document = flag_values(percent=100, shadow=True, sample_rate=1.0)
    router_env.lambda_handler({"userId": "user-7"}, None)
    extension.document = flag_values(percent=0, shadow=True, sample_rate=0.0)
    router_env.reset()
    for i in range(50):
        router_env.lambda_handler({"userId": f"user-{i}"}, None)
    assert [c["type"] for c in lambda_service.calls] == ["RequestResponse"]


def test_shadow_dispatch_failures_are_counted_never_raised(router_env, extension, aws_env, capsys):
    aws_env.setenv("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:9")
    extension.document = flag_values(shadow=True, sample_rate=1.0)
    assert router_env.lambda_handler({"userId": "user-7"}, None) == mock_profile("user-7")
    assert router_env.router().shadow.drain()
    out = capsys.readouterr().out
    assert metric_totals(out) == {"Requests": 1, "ShadowDispatchFailures": 1}
    failed = events(out, "SHADOW-DISPATCH-FAILED")[0]
    assert failed["error"] and failed["dispatchMs"] >= 0


def test_shadow_dispatch_params_with_stubber(router_env, extension):
    extension.document = flag_values(shadow=True, sample_rate=1.0)
    client = boto3.client("lambda", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response("invoke", {"StatusCode": 202},
                          expected_params={"FunctionName": CANDIDATE_ARN,
                                           "InvocationType": "Event",
                                           "Payload": stub_any_bytes()})
        aws.inject("lambda", client, "shadow")
        router_env.lambda_handler({"userId": "user-7"}, None)
        assert router_env.router().shadow.drain()
        stub.assert_no_pending_responses()


def stub_any_bytes():
    from botocore.stub import ANY

    return ANY


def test_an_oversized_control_answer_travels_as_fields_and_digests():
    body = {"userId": "u", "plan": "pro", "items": [{"sku": str(i)} for i in range(20_000)]}
    payload = build_shadow_event({"userId": "u"}, body, 1.0, "h", 500, limit=200 * 1024)
    assert len(payload) <= 200 * 1024
    control = json.loads(payload)["control"]
    assert control["body"] is None and control["digest"] == digest(body)
    assert control["fields"] == {"$.userId": "u", "$.plan": "pro"}
    assert control["fieldDigests"] == {"$.items": digest(body["items"])}


def test_shadow_events_use_lambda_s_1_mb_async_payload_limit():
    # Lambda takes asynchronous payloads of up to 1 MB (docs/aws-rules.md, Lambda): a
    # 750 KB answer, cut to fields at the old 240 KB, now travels whole; a 1.5 MB one is
    # cut to fit, with room left for the on-failure record.
    assert ASYNC_PAYLOAD_LIMIT == 1024 * 1024 and ASYNC_EVENT_LIMIT == ASYNC_PAYLOAD_LIMIT - 16 * 1024
    whole = {"userId": "u", "items": [{"sku": f"{i:08d}"} for i in range(36_000)]}
    assert 500_000 < len(json.dumps(whole)) < 800_000
    assert json.loads(build_shadow_event({"userId": "u"}, whole, 1.0, "h", 500))["control"]["body"] == whole
    cut = {"userId": "u", "items": [{"sku": f"{i:08d}"} for i in range(72_000)]}
    payload = build_shadow_event({"userId": "u"}, cut, 1.0, "h", 500)
    assert len(payload) <= ASYNC_EVENT_LIMIT and json.loads(payload)["control"]["body"] is None


def test_a_slow_lambda_api_never_holds_requests_and_overflow_is_counted(
        router_env, extension, lambda_service, capsys):
    # GIVEN an Invoke API that takes 300 ms per async invoke
    from cutover_runtime.shadow import ShadowDispatcher
    from cutover_runtime.telemetry import Identity

    lambda_service.event_delay_s = 0.3
    dispatcher = ShadowDispatcher(CANDIDATE_ARN, 5, Identity("r", "p", "Cutover"),
                                  lambda: lambda_client.lambda_client("shadow", 3.0),
                                  max_workers=2, max_backlog=4)
    # WHEN ten invokes are dispatched at once
    results = [dispatcher.dispatch(b'{"cutover": "shadow"}') for _ in range(10)]
    assert dispatcher.drain(10)
    # THEN the ones beyond the backlog are dropped and counted, the rest are sent
    out = capsys.readouterr().out
    totals = metric_totals(out)
    assert totals == {"ShadowDispatched": 4, "ShadowDispatchFailures": 6}
    assert {e["error"] for e in events(out, "SHADOW-DISPATCH-FAILED")} == {"backlog"}
    assert results[4:] == [False] * 6
    assert len(lambda_service.calls) == 4


def test_with_a_zero_budget_the_request_never_waits_but_the_invoke_is_sent(
        router_env, lambda_service, capsys):
    from cutover_runtime.shadow import ShadowDispatcher
    from cutover_runtime.telemetry import Identity

    dispatcher = ShadowDispatcher(CANDIDATE_ARN, 0, Identity("r", "p", "Cutover"),
                                  lambda: lambda_client.lambda_client("shadow", 3.0))
    assert dispatcher.dispatch(lambda: b'{"cutover": "shadow", "eventId": "e-1"}') is False
    assert dispatcher.drain(10)
    assert [c["payload"] for c in lambda_service.calls] == [{"cutover": "shadow",
                                                             "eventId": "e-1"}]
    assert metric_totals(capsys.readouterr().out) == {"ShadowDispatched": 1}


def test_an_event_that_cannot_be_built_is_a_counted_dispatch_failure(router_env, capsys):
    from cutover_runtime.shadow import ShadowDispatcher
    from cutover_runtime.telemetry import Identity

    def broken() -> bytes:
        raise TypeError("not serializable")

    dispatcher = ShadowDispatcher(CANDIDATE_ARN, 5, Identity("r", "p", "Cutover"),
                                  lambda: lambda_client.lambda_client("shadow", 3.0))
    dispatcher.dispatch(broken)
    assert dispatcher.drain(10)
    out = capsys.readouterr().out
    assert metric_totals(out) == {"ShadowDispatchFailures": 1}
    assert events(out, "SHADOW-DISPATCH-FAILED")[0]["error"] == "TypeError"


def test_a_defect_in_routing_still_serves_the_control_answer_and_counts_an_error(
        router_env, capsys, monkeypatch):
    router = router_env.router()

    def broken():
        raise RuntimeError("bug in the flag cache")

    monkeypatch.setattr(router.flags, "get", broken)
    assert router_env.lambda_handler({"userId": "user-7"}, None) == mock_profile("user-7")
    assert router_env.lambda_handler(http_event("user-7"), None)["statusCode"] == 200
    assert router_env.lambda_handler(http_event(None), None)["statusCode"] == 500
    out = capsys.readouterr().out
    # every routing defect is an error of the router's code, served (500) or not (fallback)
    assert metric_totals(out) == {"Requests": 3, "Errors": 3}
    request = events(out, "REQUEST")[0]
    assert (request["failed"], request["fallback"], request["error"]) == (1, 1, "RuntimeError")
    assert [r["fallback"] for r in events(out, "REQUEST")] == [1, 1, 0]
    assert [route for route, _ in latencies(out)] == ["control"] * 3
    assert "user-7" not in out


# -- hostile and odd input -----------------------------------------------------------------

def _deep_json(depth: int) -> bytes:
    return b'{"userId": "user-7", "items": ' + b"[" * depth + b"]" * depth + b"}"


def test_a_trickling_candidate_is_cut_off_at_the_canary_timeout(
        router_env, extension, lambda_service, capsys, aws_env):
    # item 2: GIVEN a candidate whose (valid) answer arrives one byte every 20 ms (~5 s)
    aws_env.setenv("CUTOVER_CANARY_TIMEOUT_MS", "300")
    extension.document = flag_values(percent=100)
    lambda_service.answer = lambda p: (200, {}, json.dumps(mock_profile(p["userId"])).encode(), 0)
    lambda_service.trickle_s = 0.02
    # WHEN a canary user asks, with a 300 ms canary timeout
    response = router_env.lambda_handler({"userId": "user-7"}, None)
    # THEN the control's answer is served before the candidate's answer is complete
    assert lambda_service.completed == 0
    assert response == mock_profile("user-7")
    out = capsys.readouterr().out
    assert events(out, "CANARY-ERROR")[0]["error"] == "timeout"
    assert metric_totals(out)["CanaryFallbacks"] == 1


UNUSABLE_ANSWERS = [
    (_deep_json(100_000), "malformed"),  # RecursionError while parsing
    (b'{"userId": "user-7", "price": NaN}', "malformed"),
    (json.dumps({**mock_profile("user-7"), "items": [
        {"sku": "S", "name": "n", "price": float("inf"), "quantity": 1}]}).encode(), "malformed"),
    (json.dumps({**mock_profile("user-7"), "passwordHash": "x"}).encode(), "malformed"),
    (json.dumps(mock_profile("user-8")).encode(), "wrong-user"),
    (b"\xff\xfe{}", "malformed"),
    (b"", "malformed"),
    (b"null", "malformed"),
    (b'{"error": "malformed row"}', "malformed"),  # the candidate's answer to a NaN row
]


@pytest.mark.parametrize("payload,reason", UNUSABLE_ANSWERS,
                         ids=["deep", "nan", "infinity", "extra-field", "other-user",
                              "not-utf8", "empty", "null", "candidate-error-answer"])
@pytest.mark.parametrize("fallback", [True, False])
def test_every_unusable_candidate_answer_is_a_canary_failure(
        router_env, extension, lambda_service, aws_env, capsys, payload, reason, fallback):
    # items 3, 4, 5: GIVEN a candidate answering something the caller must not get
    aws_env.setenv("CUTOVER_CANARY_FALLBACK", "true" if fallback else "false")
    aws_env.setenv("CUTOVER_CANARY_TIMEOUT_MS", "10000")  # not a case about the deadline
    router_env.reset()
    extension.document = flag_values(percent=100)
    lambda_service.answer = lambda p: (200, {}, payload, 0)
    # WHEN a canary user asks over HTTP
    response = router_env.lambda_handler(http_event("user-7"), None)
    out = capsys.readouterr().out
    totals = metric_totals(out)
    # THEN it is counted and logged as a canary failure; the caller gets the control's
    # answer (valid JSON, no NaN) or, with fallback off, a 502
    assert totals["CanaryErrors"] == 1
    assert events(out, "CANARY-ERROR")[0]["error"] == reason
    if fallback:
        assert response["statusCode"] == 200 and totals["CanaryFallbacks"] == 1
        assert json.loads(response["body"], parse_constant=_refuse) == mock_profile("user-7")
    else:
        assert response["statusCode"] == 502 and "CanaryFallbacks" not in totals


def _refuse(constant):
    raise AssertionError(f"not JSON: {constant}")


@pytest.mark.parametrize("header", ["userid", "USERID", "UserId", "userId"])
def test_header_names_match_in_any_case(router_env, header):
    # item 8: API Gateway HTTP API (payload 2.0) lowercases header names
    event = http_event(None, {header: "user-7"})
    response = router_env.lambda_handler(event, None)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == mock_profile("user-7")


def test_a_lowercased_sticky_header_still_assigns_the_canary(router_env, extension, lambda_service):
    extension.document = flag_values(percent=100, sticky_key="X-Session-Id")
    router_env.lambda_handler(http_event("user-7", {"x-session-id": "s-1"}), None)
    assert len(lambda_service.calls) == 1


INVALID_IDS = ["bad\x00id", "\ud800", "a" * 257, "tab\there", "line\nbreak", "\u200b"]


@pytest.mark.parametrize("user_id", INVALID_IDS,
                         ids=["nul", "lone-surrogate", "too-long", "tab", "newline", "zero-width"])
def test_an_id_that_cannot_exist_is_a_client_error_not_an_error_of_ours(
        router_env, extension, lambda_service, capsys, user_id):
    # item 6: whatever the canary percent, the router answers 400 and counts no Errors
    extension.document = flag_values(percent=100)
    assert router_env.lambda_handler({"userId": user_id}, None) == {"error": "userId is invalid"}
    response = router_env.lambda_handler(http_event(None, {"userid": user_id}), None)
    assert response["statusCode"] == 400
    assert json.loads(response["body"]) == {"error": "userId is invalid"}
    out = capsys.readouterr().out
    assert metric_totals(out) == {"Requests": 2}
    assert lambda_service.calls == []
    assert [line["failed"] for line in events(out, "REQUEST")] == [0, 0]
