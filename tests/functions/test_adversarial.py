"""The functions against hostile and odd input, table-driven: input -> expected answer,
metrics and log lines.

Tables:
1. router events (shapes, types, sizes, where the id comes from, ids that cannot exist);
2. flag documents as the extension serves them (bytes), cold start and warm;
3. candidate answers behind the canary (shape, size, encoding, errors), fallback on/off;
4. candidate events against the real PostgreSQL (ids, injections, shadow event shapes);
5. concurrency: the flag cache under threads, the canary worker pool saturated.

``Errors`` (what counts there: docs/contracts.md section 5) is not asserted for canary
failures that fell back, ``Latency`` is never asserted, and the candidate's direct reads
are checked for their shadow metrics only: every table asserts the metrics that say
what happened.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

import pytest
from cutover_runtime.assignment import user_hash
from cutover_runtime.flag_reader import SAFE_DEFAULTS, FlagCache
from cutover_runtime.telemetry import Identity
from user_profile.mock import mock_profile

from .conftest import SALT, events, flag_values, metric_totals


def profile(user_id: str) -> dict:
    return mock_profile(user_id)


def http(path: dict | None = None, query: dict | None = None, headers: dict | None = None,
         **extra: Any) -> dict:
    event = {"version": "2.0", "routeKey": "GET /users/{userId}", "rawPath": "/users",
             "headers": headers, "queryStringParameters": query, "pathParameters": path,
             "requestContext": {"http": {"method": "GET"}, "requestId": "r-1"}}
    event.update(extra)
    return event


def outcome(response: Any) -> tuple[int, Any]:
    """(status, body) for an HTTP answer or a direct one (whose status is implied)."""
    if isinstance(response, dict) and "statusCode" in response:
        return response["statusCode"], json.loads(response["body"])
    if isinstance(response, dict) and response.get("error") == "candidate failed":
        return 502, response
    return (400 if isinstance(response, dict) and "error" in response else 200), response


def counts(out: str) -> dict[str, float]:
    """The Count metrics of the output (a latency is a measure, not an outcome)."""
    return {k: v for k, v in metric_totals(out).items() if k != "Latency"}


def _no_nan(constant: str) -> Any:
    raise AssertionError(f"served a body that is not JSON: {constant}")


REQUIRED = {"error": "userId is required"}
INVALID = {"error": "userId is invalid"}
CLIENT_ERROR = {"Requests": 1}  # a 4xx: counted as a request, never as an error
SERVED = {"Requests": 1}

# -- 1. router events ------------------------------------------------------------------------
# (id, event, status, body, metrics)
ROUTER_EVENTS = [
    ("none", None, 400, REQUIRED, CLIENT_ERROR),
    ("list", [{"userId": "user-1"}], 400, REQUIRED, CLIENT_ERROR),
    ("string", "user-1", 400, REQUIRED, CLIENT_ERROR),
    ("number", 42, 400, REQUIRED, CLIENT_ERROR),
    ("empty-object", {}, 400, REQUIRED, CLIENT_ERROR),
    ("id-null", {"userId": None}, 400, REQUIRED, CLIENT_ERROR),
    ("id-empty", {"userId": ""}, 400, REQUIRED, CLIENT_ERROR),
    ("id-number", {"userId": 42}, 400, INVALID, CLIENT_ERROR),
    ("id-bool", {"userId": True}, 400, INVALID, CLIENT_ERROR),
    ("id-list", {"userId": ["user-1"]}, 400, INVALID, CLIENT_ERROR),
    ("id-operator-object", {"userId": {"$ne": ""}}, 400, INVALID, CLIENT_ERROR),
    ("id-nul", {"userId": "user\x00-1"}, 400, INVALID, CLIENT_ERROR),
    ("id-lone-surrogate", {"userId": "user-\udc00"}, 400, INVALID, CLIENT_ERROR),
    ("id-rtl-override", {"userId": "user-\u202e1"}, 400, INVALID, CLIENT_ERROR),
    ("id-256-chars", {"userId": "u" * 256}, 200, profile("u" * 256), SERVED),
    ("id-257-chars", {"userId": "u" * 257}, 400, INVALID, CLIENT_ERROR),
    ("id-1mb", {"userId": "u" * 1_000_000}, 400, INVALID, CLIENT_ERROR),
    ("id-sql", {"userId": "' OR 1=1 --"}, 200, profile("' OR 1=1 --"), SERVED),
    ("id-unicode", {"userId": "用户-7"}, 200, profile("用户-7"), SERVED),
    ("id-with-spaces", {"userId": " user-7 "}, 200, profile(" user-7 "), SERVED),
    ("huge-extra-field", {"userId": "user-1", "pad": "x" * 5_000_000}, 200, profile("user-1"),
     SERVED),
    ("deep-extra-field", {"userId": "user-1", "pad": json.loads("[" * 900 + "]" * 900)}, 200,
     profile("user-1"), SERVED),
    ("http-path", http(path={"userId": "user-1"}), 200, profile("user-1"), SERVED),
    ("http-query", http(query={"userId": "user-2"}), 200, profile("user-2"), SERVED),
    ("http-header-lowercased", http(headers={"userid": "user-3"}), 200, profile("user-3"),
     SERVED),
    ("http-header-any-case", http(headers={"USERID": "user-3"}), 200, profile("user-3"), SERVED),
    ("http-path-wins-over-query", http(path={"userId": "user-1"}, query={"userId": "user-2"}),
     200, profile("user-1"), SERVED),
    ("http-query-wins-over-header", http(query={"userId": "user-2"},
                                         headers={"userid": "user-3"}), 200, profile("user-2"),
     SERVED),
    ("http-query-is-case-sensitive", http(query={"userid": "user-2"}), 400, REQUIRED,
     CLIENT_ERROR),
    ("http-duplicate-query-joined", http(query={"userId": "a,b"}), 200, profile("a,b"), SERVED),
    ("http-nothing", http(), 400, REQUIRED, CLIENT_ERROR),
    ("http-body-is-ignored", http(body=json.dumps({"userId": "user-1"})), 400, REQUIRED,
     CLIENT_ERROR),
    ("http-base64-body-is-ignored", http(body=base64.b64encode(b'{"userId":"user-1"}').decode(),
                                         isBase64Encoded=True), 400, REQUIRED, CLIENT_ERROR),
    ("http-headers-not-an-object", http(headers=["userid", "user-1"]), 400, REQUIRED,
     CLIENT_ERROR),
    ("http-path-not-an-object", http(path="user-1"), 400, REQUIRED, CLIENT_ERROR),
    ("http-id-list", http(query={"userId": ["user-1"]}), 400, INVALID, CLIENT_ERROR),
    ("http-id-nul", http(path={"userId": "user\x00"}), 400, INVALID, CLIENT_ERROR),
    ("http-id-lone-surrogate", http(headers={"userid": "\ud800"}), 400, INVALID, CLIENT_ERROR),
    ("version-1-event-is-direct", {"version": "1.0", "requestContext": {},
                                   "pathParameters": {"userId": "user-1"}}, 400, REQUIRED,
     CLIENT_ERROR),
    ("version-2-without-context-is-direct", {"version": "2.0", "userId": "user-4"}, 200,
     profile("user-4"), SERVED),
]


@pytest.mark.parametrize("event,status,body,metrics", [c[1:] for c in ROUTER_EVENTS],
                         ids=[c[0] for c in ROUTER_EVENTS])
def test_router_events(router_env, extension, capsys, event, status, body, metrics):
    # canary 0 % (test_router covers impossible ids at 100 %: they never reach the candidate)
    extension.document = flag_values(percent=0)
    got_status, got_body = outcome(router_env.lambda_handler(event, None))
    out = capsys.readouterr().out
    assert (got_status, got_body) == (status, body)
    assert counts(out) == metrics
    [request] = events(out, "REQUEST")
    assert (request["failed"], request["servedBy"]) == (0, "control")
    if isinstance(body, dict) and "error" not in body:
        assert request["userHash"] == user_hash(SALT, body["userId"])
    assert "\x00" not in out and "user\\u0000" not in out  # raw ids are never logged


def test_a_sticky_header_that_cannot_be_hashed_routes_to_the_control(
        router_env, extension, lambda_service, capsys):
    extension.document = flag_values(percent=100, sticky_key="x-session-id")
    event = http(path={"userId": "user-1"}, headers={"X-Session-Id": "\ud800"})
    assert outcome(router_env.lambda_handler(event, None)) == (200, profile("user-1"))
    assert lambda_service.calls == []
    assert counts(capsys.readouterr().out) == SERVED


# -- 2. flag documents -------------------------------------------------------------------------
def doc(**changes: Any) -> bytes:
    values = flag_values(percent=30, shadow=True, sample_rate=0.5)
    for flag, attributes in changes.items():
        key = {"canary": "prisma-adapter", "shadow": "prisma-shadow"}[flag]
        values[key] = attributes if not isinstance(attributes, dict) else {
            **values[key], **attributes}
    return json.dumps(values).encode()


def raw(text: str) -> bytes:
    return text.encode()


GOOD = doc()
# (id, body served, log event, error contains, percent, shadow on)
FLAG_DOCUMENTS = [
    ("good", GOOD, "FLAGS-LOADED", None, 30.0, True),
    ("empty-object", b"{}", "FLAGS-LOADED", None, 0.0, False),
    ("canary-only", json.dumps({"prisma-adapter": {"enabled": True, "percent": 5}}).encode(),
     "FLAGS-LOADED", None, 5.0, False),
    ("extra-attributes", doc(canary={"owner": "team-a", "ttl": [1, 2]}), "FLAGS-LOADED", None,
     30.0, True),
    ("extra-flags", json.dumps({**json.loads(GOOD), "other": {"enabled": "x"}}).encode(),
     "FLAGS-LOADED", None, 30.0, True),
    ("percent-boundary-100", doc(canary={"percent": 100}), "FLAGS-LOADED", None, 100.0, True),
    ("percent-below-range", doc(canary={"percent": -1}), "FLAGS-DEFAULT", "attribute=percent",
     0.0, False),
    ("percent-above-range", doc(canary={"percent": 100.0001}), "FLAGS-DEFAULT",
     "attribute=percent", 0.0, False),
    ("percent-nan", GOOD.replace(b'"percent": 30', b'"percent": NaN'), "FLAGS-DEFAULT",
     "attribute=percent", 0.0, False),
    ("percent-infinity", GOOD.replace(b'"percent": 30', b'"percent": Infinity'),
     "FLAGS-DEFAULT", "attribute=percent", 0.0, False),
    ("percent-bool", doc(canary={"percent": True}), "FLAGS-DEFAULT", "attribute=percent", 0.0,
     False),
    ("percent-string", doc(canary={"percent": "30"}), "FLAGS-DEFAULT", "attribute=percent",
     0.0, False),
    ("percent-null", doc(canary={"percent": None}), "FLAGS-DEFAULT", "attribute=percent", 0.0,
     False),
    ("percent-huge-int", GOOD.replace(b'"percent": 30', b'"percent": 1' + b"0" * 400),
     "FLAGS-DEFAULT", "attribute=percent", 0.0, False),
    ("enabled-string-false", doc(canary={"enabled": "false"}), "FLAGS-DEFAULT",
     "attribute=enabled", 0.0, False),
    ("shadow-enabled-string", doc(shadow={"enabled": "no"}), "FLAGS-DEFAULT",
     "attribute=enabled", 0.0, False),
    ("sample-rate-nan", GOOD.replace(b'"sampleRate": 0.5', b'"sampleRate": NaN'),
     "FLAGS-DEFAULT", "attribute=sampleRate", 0.0, False),
    ("salt-1024-chars", doc(canary={"salt": "s" * 1024}), "FLAGS-LOADED", None, 30.0, True),
    ("salt-huge", doc(canary={"salt": "s" * 1_000_000}), "FLAGS-DEFAULT", "attribute=salt",
     0.0, False),
    ("salt-lone-surrogate", GOOD.replace(b'"salt": "test-salt"', b'"salt": "\\ud800"'),
     "FLAGS-DEFAULT", "attribute=salt", 0.0, False),
    ("sticky-key-empty", doc(canary={"stickyKey": ""}), "FLAGS-DEFAULT", "attribute=stickyKey",
     0.0, False),
    ("flag-null", doc(canary=None), "FLAGS-DEFAULT", "not an object", 0.0, False),
    ("flag-false", doc(shadow=False), "FLAGS-DEFAULT", "not an object", 0.0, False),
    ("document-list", b"[]", "FLAGS-DEFAULT", "not an object", 0.0, False),
    ("document-null", b"null", "FLAGS-DEFAULT", "not an object", 0.0, False),
    ("document-string", b'"flags"', "FLAGS-DEFAULT", "not an object", 0.0, False),
    ("truncated", GOOD[:-5], "FLAGS-DEFAULT", "malformed JSON", 0.0, False),
    ("not-utf8", b"\xff\xfe{}", "FLAGS-DEFAULT", "malformed JSON", 0.0, False),
    ("empty-body", b"", "FLAGS-DEFAULT", "malformed JSON", 0.0, False),
    ("too-deep", b"[" * 100_000 + b"]" * 100_000, "FLAGS-DEFAULT", "malformed JSON", 0.0, False),
    ("duplicate-keys-last-wins", raw('{"prisma-adapter": {"enabled": true, "percent": 5}, '
                                     '"prisma-adapter": {"enabled": true, "percent": 50}}'),
     "FLAGS-LOADED", None, 50.0, False),
]


@pytest.mark.parametrize("body,log,error,percent,shadow_on", [c[1:] for c in FLAG_DOCUMENTS],
                         ids=[c[0] for c in FLAG_DOCUMENTS])
def test_flag_documents_on_a_cold_start(extension, capsys, body, log, error, percent, shadow_on):
    extension.mode, extension.raw = "raw", body
    cache = FlagCache(extension.url, "a", "e", "p", "prisma-adapter", "prisma-shadow", 5000,
                      1000, Identity("rel", "user-read", "Cutover"))
    flags = cache.get()
    assert (flags.percent, flags.shadow_enabled) == (percent, shadow_on)
    if log == "FLAGS-DEFAULT":
        assert flags == SAFE_DEFAULTS
    [line] = events(capsys.readouterr().out, log)
    assert (line["error"] is None) if error is None else (error in line["error"])
    assert len(json.dumps(line)) < 1000  # a huge bad value is not copied into the log


@pytest.mark.parametrize("body,error", [(c[1], c[3]) for c in FLAG_DOCUMENTS if c[2] != "FLAGS-LOADED"],
                         ids=[c[0] for c in FLAG_DOCUMENTS if c[2] != "FLAGS-LOADED"])
def test_a_bad_flag_document_keeps_the_last_good_flags(extension, capsys, body, error):
    clock = [1000.0]
    cache = FlagCache(extension.url, "a", "e", "p", "prisma-adapter", "prisma-shadow", 5000,
                      1000, Identity("rel", "user-read", "Cutover"), clock=lambda: clock[0])
    extension.mode, extension.raw = "raw", GOOD
    assert cache.get().percent == 30
    extension.raw = body
    clock[0] += 10
    assert cache.get().percent == 30
    [stale] = events(capsys.readouterr().out, "FLAGS-STALE")
    assert error in stale["error"] and stale["percent"] == 30


# -- 3. candidate answers behind the canary ---------------------------------------------------
def answer(body: Any = None, status: int = 200, headers: dict | None = None, delay: float = 0.0,
           raw_body: bytes | None = None):
    payload = raw_body if raw_body is not None else json.dumps(body).encode()
    return lambda p: (status, headers or {}, payload, delay)


def with_items(user_id: str, items: list) -> dict:
    return {**profile(user_id), "items": items}


ITEM = {"sku": "SKU-1", "name": "Lamp", "price": 19.9, "quantity": 2}
# (id, candidate answer, served by, CANARY-ERROR reason)
CANARY_ANSWERS = [
    ("valid", answer(profile("user-7")), "candidate", None),
    ("valid-wrong-content-type", answer(profile("user-7"), headers={"Content-Type": "text/html"}),
     "candidate", None),
    ("valid-large", answer(with_items("user-7", [ITEM] * 5_000)), "candidate", None),
    ("valid-unicode", answer({**profile("user-7"), "displayName": "Ådä Lövelace 🚀"}),
     "candidate", None),
    ("truncated", answer(raw_body=json.dumps(profile("user-7")).encode()[:-3]), "control",
     "malformed"),
    ("extra-top-level-field", answer({**profile("user-7"), "passwordHash": "x"}), "control",
     "malformed"),
    ("extra-item-field", answer(with_items("user-7", [{**ITEM, "cost": 1}])), "control",
     "malformed"),
    ("missing-field", answer({k: v for k, v in profile("user-7").items() if k != "email"}),
     "control", "malformed"),
    ("another-user", answer(profile("user-8")), "control", "wrong-user"),
    ("nan-price", answer(raw_body=json.dumps(with_items("user-7", [{**ITEM, "price": 1.5}]))
                         .replace("1.5", "NaN").encode()), "control", "malformed"),
    ("infinite-price", answer(raw_body=json.dumps(with_items("user-7", [{**ITEM, "price": 1.5}]))
                              .replace("1.5", "-Infinity").encode()), "control", "malformed"),
    ("huge-int-price", answer(raw_body=json.dumps(with_items("user-7", [{**ITEM, "price": 1}]))
                              .replace('"price": 1', '"price": 1' + "0" * 400).encode()),
     "candidate", None),
    ("price-string", answer(with_items("user-7", [{**ITEM, "price": "19.9"}])), "control",
     "malformed"),
    ("quantity-bool", answer(with_items("user-7", [{**ITEM, "quantity": True}])), "control",
     "malformed"),
    ("quantity-float", answer(with_items("user-7", [{**ITEM, "quantity": 2.0}])), "control",
     "malformed"),
    ("unknown-plan", answer({**profile("user-7"), "plan": "enterprise"}), "control", "malformed"),
    ("bad-timestamp", answer({**profile("user-7"), "createdAt": "yesterday"}), "control",
     "malformed"),
    ("deep", answer(raw_body=b"[" * 200_000 + b"]" * 200_000), "control", "malformed"),
    ("large-garbage", answer(raw_body=b"x" * 1_000_000), "control", "malformed"),
    ("not-found-answer", answer({"error": "not found"}), "control", "malformed"),
    ("http-shaped-answer", answer({"statusCode": 200, "body": json.dumps(profile("user-7"))}),
     "control", "malformed"),
    ("function-error-unhandled", answer({"errorType": "KeyError"},
                                        headers={"X-Amz-Function-Error": "Unhandled"}),
     "control", "FunctionError:Unhandled"),
    ("function-error-handled-with-a-profile", answer(profile("user-7"),
                                                     headers={"X-Amz-Function-Error": "Handled"}),
     "control", "FunctionError:Handled"),
    ("throttled", answer({"Message": "Rate exceeded"}, status=429,
                         headers={"x-amzn-ErrorType": "TooManyRequestsException"}), "control",
     "TooManyRequestsException"),
    ("service-error", answer({"Message": "x"}, status=500,
                             headers={"x-amzn-ErrorType": "ServiceException"}), "control",
     "ServiceException"),
    ("slow", answer(profile("user-7"), delay=1.0), "control", "timeout"),
]


@pytest.mark.parametrize("fallback", [True, False], ids=["fallback", "no-fallback"])
@pytest.mark.parametrize("candidate,served_by,reason", [c[1:] for c in CANARY_ANSWERS],
                         ids=[c[0] for c in CANARY_ANSWERS])
def test_candidate_answers_behind_the_canary(router_env, extension, lambda_service, aws_env,
                                             capsys, candidate, served_by, reason, fallback):
    aws_env.setenv("CUTOVER_CANARY_FALLBACK", "true" if fallback else "false")
    # a generous deadline unless the case is about it: a loaded CI machine must not turn
    # "malformed" into "timeout"
    aws_env.setenv("CUTOVER_CANARY_TIMEOUT_MS", "300" if reason == "timeout" else "10000")
    router_env.reset()
    extension.document = flag_values(percent=100)
    lambda_service.answer = candidate
    response = router_env.lambda_handler(http(path={"userId": "user-7"}), None)
    status, body_text = response["statusCode"], response["body"]
    out = capsys.readouterr().out
    totals = counts(out)
    assert totals["Requests"] == totals["CanaryRequests"] == 1
    [request] = events(out, "REQUEST")
    if reason is None:  # served as the candidate answered it
        assert status == 200 and "CanaryErrors" not in totals
        assert json.loads(body_text, parse_constant=_no_nan)["userId"] == "user-7"
        assert events(out, "CANARY-OK") and request["servedBy"] == "candidate"
        return
    assert totals["CanaryErrors"] == 1
    assert events(out, "CANARY-ERROR")[0]["error"] == reason
    if fallback:
        assert (status, json.loads(body_text, parse_constant=_no_nan)) == (200, profile("user-7"))
        assert totals["CanaryFallbacks"] == 1 and events(out, "CANARY-FALLBACK")
        assert (request["servedBy"], request["failed"], request["fallback"]) == ("control", 1, 1)
    else:
        assert (status, json.loads(body_text)) == (502, {"error": "candidate failed"})
        assert "CanaryFallbacks" not in totals and not events(out, "CANARY-FALLBACK")
        assert (request["servedBy"], request["failed"], request["fallback"]) == ("candidate", 1, 0)


# -- 4. candidate events against the real PostgreSQL ------------------------------------------
def shadow(user_id: str = "user-3", **changes: Any) -> dict:
    from cutover_runtime.compare import compile_paths, redact
    from cutover_runtime.shadow import build_shadow_event

    # as the router builds it for the candidate fixture's rules (conftest: $.email redacted)
    redacted = compile_paths(["$.email"])
    event = json.loads(build_shadow_event({"userId": user_id}, profile(user_id), 1.0, "h",
                                          60_000, redact_paths=redacted))
    for key, value in changes.items():
        if key == "control" and isinstance(value, dict) and isinstance(value.get("body"), dict):
            value = {**value, "body": redact(value["body"], redacted, event["eventId"])}
        if value is _DROP:
            event.pop(key)
        else:
            event[key] = value
    return event


_DROP = object()
NOT_FOUND = {"error": "not found"}
# (id, event, expected answer, metrics, log event)
CANDIDATE_EVENTS = [
    ("known", {"userId": "user-1"}, profile("user-1"), {}, None),
    ("unknown", {"userId": "nobody"}, NOT_FOUND, {}, None),
    ("unknown-256-chars", {"userId": "n" * 256}, NOT_FOUND, {}, None),
    ("sql-injection", {"userId": "user-1' OR '1'='1"}, NOT_FOUND, {}, None),
    ("like-wildcards", {"userId": "user-%"}, NOT_FOUND, {}, None),
    ("unicode-unknown", {"userId": "用户-1"}, NOT_FOUND, {}, None),
    ("nul", {"userId": "user-1\x00"}, INVALID, {}, None),
    ("lone-surrogate", {"userId": "\udfff"}, INVALID, {}, None),
    ("too-long", {"userId": "n" * 257}, INVALID, {}, None),
    ("id-number", {"userId": 1}, INVALID, {}, None),
    ("none", None, REQUIRED, {}, None),
    ("list", ["user-1"], REQUIRED, {}, None),
    ("http-lowercased-header", http(headers={"userid": "user-2"}),
     {"statusCode": 200, "headers": {"content-type": "application/json"},
      "body": json.dumps(profile("user-2"), separators=(",", ":"))}, {}, None),
    ("shadow-ok", shadow(), {"status": "ok", "diffCount": 0}, {"ShadowComparisons": 1},
     "SHADOW-OK"),
    ("shadow-without-event-id", shadow(eventId=_DROP), {"status": "error"},
     {"ShadowErrors": 1}, "SHADOW-ERROR"),
    ("shadow-empty-event-id", shadow(eventId=""), {"status": "error"}, {"ShadowErrors": 1},
     "SHADOW-ERROR"),
    ("shadow-without-control", shadow(control=_DROP), {"status": "error"},
     {"ShadowErrors": 1}, "SHADOW-ERROR"),
    ("shadow-control-not-an-object", shadow(control="x"), {"status": "error"},
     {"ShadowErrors": 1}, "SHADOW-ERROR"),
    ("shadow-without-request", shadow(request=_DROP), {"status": "error"},
     {"ShadowErrors": 1}, "SHADOW-ERROR"),
    ("shadow-timeout-not-a-number", shadow(timeoutMs="soon"), {"status": "error"},
     {"ShadowErrors": 1}, "SHADOW-ERROR"),
    ("shadow-impossible-id", shadow(request={"userId": "\x00"}), {"status": "diff",
                                                                 "diffCount": 1},
     {"ShadowComparisons": 1, "ShadowMismatches": 1}, "SHADOW-DIFF"),
    ("shadow-control-with-nan", shadow(control={"digest": "", "body": {
        **profile("user-3"), "score": float("nan")}}), {"status": "diff", "diffCount": 1},
     {"ShadowComparisons": 1, "ShadowMismatches": 1}, "SHADOW-DIFF"),
    ("shadow-deep-control", shadow(control={"digest": "", "body": {
        **profile("user-3"), "meta": json.loads("[" * 900 + "]" * 900)}}),
     {"status": "diff", "diffCount": 1}, {"ShadowComparisons": 1, "ShadowMismatches": 1},
     "SHADOW-DIFF"),
]


@pytest.mark.postgres
@pytest.mark.parametrize("event,expected,metrics,log", [c[1:] for c in CANDIDATE_EVENTS],
                         ids=[c[0] for c in CANDIDATE_EVENTS])
def test_candidate_events(candidate_env, capsys, event, expected, metrics, log):
    result = candidate_env.lambda_handler(event, None)
    out = capsys.readouterr().out
    assert result == expected
    assert {k: v for k, v in counts(out).items() if k.startswith("Shadow")} == metrics
    if log is not None:
        assert len(events(out, log)) == 1
    assert "\x00" not in out


@pytest.mark.postgres
def test_injection_attempts_leave_the_tables_intact(candidate_env):
    for user_id in ("x'; DROP TABLE users; --", "x\"; DELETE FROM user_items; --"):
        assert candidate_env.lambda_handler({"userId": user_id}, None) == NOT_FOUND
    assert candidate_env.lambda_handler({"userId": "user-1"}, None) == profile("user-1")


# -- 5. concurrency ----------------------------------------------------------------------------
def test_the_flag_cache_under_threads_serves_whole_documents(extension):
    # GIVEN a flag cache whose TTL expires on every read, and documents that change
    documents = [flag_values(percent=p, shadow=bool(p % 2), sample_rate=p / 100)
                 for p in (10, 20, 30, 40)]
    extension.document = documents[0]
    cache = FlagCache(extension.url, "a", "e", "p", "prisma-adapter", "prisma-shadow", 0, 1000,
                      Identity("rel", "user-read", "Cutover"))
    seen, errors = [], []

    def reader() -> None:
        for i in range(100):
            try:
                seen.append(cache.get())
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(repr(exc))
            extension.document = documents[i % 4]

    threads = [threading.Thread(target=reader) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN no reader failed, and every Flags is one whole document (never a mix)
    assert errors == []
    assert len(seen) == 600
    for flags in seen:
        p = flags.percent
        assert flags == SAFE_DEFAULTS or (p in (10, 20, 30, 40) and flags.shadow_enabled == bool(
            p % 2) and flags.sample_rate == (p / 100 if p % 2 else 0.0))


def test_a_saturated_canary_pool_still_answers_every_request_at_its_deadline(
        router_env, extension, lambda_service, capsys, aws_env):
    # GIVEN a candidate that trickles every answer (~5 s each), a 300 ms canary timeout,
    # and more canary requests than the pool has workers
    aws_env.setenv("CUTOVER_CANARY_TIMEOUT_MS", "300")
    extension.document = flag_values(percent=100)
    lambda_service.answer = answer(profile("user-7"))
    lambda_service.trickle_s = 0.02
    results = []
    for _ in range(6):
        results.append(router_env.lambda_handler({"userId": "user-7"}, None))
        results.append(lambda_service.completed)
    # THEN each request got the control's answer before any candidate answer completed
    assert results == [profile("user-7"), 0] * 6
    out = capsys.readouterr().out
    assert [e["error"] for e in events(out, "CANARY-ERROR")] == ["timeout"] * 6
    assert counts(out)["CanaryFallbacks"] == 6


def test_concurrent_canary_requests_are_each_answered_and_counted(
        router_env, extension, lambda_service, capsys):
    extension.document = flag_values(percent=100)
    lambda_service.answer = lambda p: (200, {}, json.dumps(profile(p["userId"])).encode(), 0.01)
    router = router_env.router()
    router.flags.get()  # warm, so that threads do not race the first read
    answers: dict[str, Any] = {}

    def ask(user_id: str) -> None:
        answers[user_id] = router.handle({"userId": user_id})

    threads = [threading.Thread(target=ask, args=(f"user-{i}",)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == {f"user-{i}": profile(f"user-{i}") for i in range(16)}
    out = capsys.readouterr().out
    totals = counts(out)
    assert totals["Requests"] == totals["CanaryRequests"] == 16
    assert len(events(out, "CANARY-OK")) + totals.get("CanaryErrors", 0) == 16
    assert len(events(out, "REQUEST")) == 16
