"""Faults never reach the router's caller: 10,000 requests, zero errors to the caller."""

from __future__ import annotations

import json
import random

import pytest
from user_profile.mock import mock_profile

from .conftest import SEEDED_USERS, events, flag_values, latencies, metric_totals

OK, FUNCTION_ERROR, MALFORMED, WRONG_SHAPE, TIMEOUT, SERVER_ERROR = range(6)
FAULT_WEIGHTS = [60, 10, 10, 9, 1, 10]


def candidate_profile(user_id: str) -> dict:
    body = mock_profile(user_id)
    body["displayName"] = "From Candidate"
    return body


def faulty_candidate(rng: random.Random):
    def answer(payload):
        fault = rng.choices(range(6), FAULT_WEIGHTS)[0]
        if fault == OK:
            return 200, {}, json.dumps(candidate_profile(payload["userId"])).encode(), 0
        if fault == FUNCTION_ERROR:
            return 200, {"X-Amz-Function-Error": "Unhandled"}, b'{"errorType": "KeyError"}', 0
        if fault == MALFORMED:
            return 200, {}, b'{"userId": "u", "items": [', 0
        if fault == WRONG_SHAPE:
            return 200, {}, b'{"userId": 42, "items": "none"}', 0
        if fault == TIMEOUT:
            return 200, {}, json.dumps(candidate_profile(payload["userId"])).encode(), 0.15
        return 500, {"x-amzn-ErrorType": "ServiceException"}, b'{"Message": "boom"}', 0
    return answer


@pytest.mark.slow
def test_ten_thousand_requests_with_faults_all_get_an_answer(
        router_env, extension, lambda_service, aws_env, capsys):
    # GIVEN a cold start with the extension down, a candidate that fails ~40% of the
    # time in every way it can, and flags that later hang and go stale
    aws_env.setenv("CUTOVER_CANARY_TIMEOUT_MS", "50")
    aws_env.setenv("CUTOVER_FLAGS_TTL_MS", "20")
    aws_env.setenv("CUTOVER_FLAGS_BUDGET_MS", "10")
    router_env.reset()
    rng = random.Random(7)
    lambda_service.answer = faulty_candidate(rng)
    extension.mode = "down"
    extension.hang_s = 0.1
    extension.document = flag_values(percent=50, shadow=True, sample_rate=0.2)
    served_by = {"control": 0, "candidate": 0}
    caller_errors = []
    for i in range(10_000):
        if i == 1_000:
            extension.mode = "ok"
        elif i == 6_000:
            extension.mode = "hang"
        elif i == 6_300:
            extension.mode = "malformed"
        elif i == 7_000:
            extension.mode = "ok"
        user = f"user-{i % 3000}"
        event = ({"userId": user} if i % 2 else
                 {"version": "2.0", "requestContext": {}, "pathParameters": {"userId": user}})
        try:
            response = router_env.lambda_handler(event, None)
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            caller_errors.append(repr(exc))
            continue
        body = response if i % 2 else json.loads(response["body"])
        if not i % 2 and response["statusCode"] != 200:
            caller_errors.append(response)
        if body == mock_profile(user):
            served_by["control"] += 1
        elif body == candidate_profile(user):
            served_by["candidate"] += 1
        else:
            caller_errors.append(body)
    assert router_env.router().shadow.drain(30)
    # THEN nobody saw an error, and every candidate failure was counted for the alarm
    # as a canary error (not a served error: every one of them fell back)
    assert caller_errors == []
    assert served_by["control"] + served_by["candidate"] == 10_000
    assert served_by["candidate"] > 1_000
    out = capsys.readouterr().out
    totals = metric_totals(out)
    assert totals["Requests"] == 10_000
    assert totals["CanaryErrors"] == totals["CanaryFallbacks"] > 500
    assert "Errors" not in totals
    assert len(latencies(out)) == 10_000
    assert totals["CanaryRequests"] == totals["CanaryErrors"] + served_by["candidate"]
    assert totals["ShadowDispatched"] > 500
    reasons = {line["error"] for line in events(out, "CANARY-ERROR")}
    assert {"timeout", "malformed", "FunctionError:Unhandled", "ServiceException"} <= reasons
    assert events(out, "FLAGS-DEFAULT") and events(out, "FLAGS-STALE")


@pytest.mark.postgres
def test_database_down_behind_the_canary_still_answers_every_request(
        router_env, candidate_env, seeded, extension, lambda_service, capsys):
    # GIVEN every user in the canary, and the real candidate behind the Invoke API
    extension.document = flag_values(percent=100)

    def invoke_candidate(payload):
        try:
            body = candidate_env.lambda_handler(payload, None)
        except Exception as exc:  # noqa: BLE001 - what Lambda does with an unhandled error
            return 200, {"X-Amz-Function-Error": "Unhandled"}, json.dumps(
                {"errorType": exc.__class__.__name__}).encode(), 0
        return 200, {}, json.dumps(body).encode(), 0

    lambda_service.answer = invoke_candidate
    answers = []
    for i in range(600):
        if i == 200:
            seeded.stop()
        elif i == 400:
            seeded.start()
        user = SEEDED_USERS[i % len(SEEDED_USERS)]
        answers.append(router_env.lambda_handler({"userId": user}, None) == mock_profile(user))
    # THEN the caller always got the (identical) answer; the outage was counted
    assert all(answers)
    out = capsys.readouterr().out
    errors = events(out, "CANARY-ERROR")
    assert len(errors) == 200 and {e["error"] for e in errors} == {"FunctionError:Unhandled"}
    assert len(events(out, "CANARY-OK")) == 400
