"""The metric contract (contracts.md §5), read from the EMF lines the handlers print.

* router ``Errors``: served 5xx answers only; a canary failure that fell back is
  ``CanaryErrors`` + ``CanaryFallbacks``;
* router ``Latency``: one value per request, in a second directive of the same EMF
  document, dimensions Release/Path/Route, Route = where the request was routed;
* candidate ``CanaryReads`` / ``CanaryReadErrors``: every non-shadow invocation / those
  that raised or answered 5xx (a 404 is an answer).
"""

from __future__ import annotations

import json

import pytest
from cutover_runtime.assignment import assign
from user_profile.mock import mock_profile

from .conftest import (
    SALT,
    SEEDED_USERS,
    emf_documents,
    events,
    flag_values,
    latencies,
    metric_totals,
    router_shadow_event,
)


def test_each_request_prints_one_emf_document_with_its_latency_by_route(
        router_env, extension, lambda_service, aws_env, capsys):
    # GIVEN a 30% canary whose candidate answers malformed for users ending in 3
    aws_env.setenv("CUTOVER_CANARY_TIMEOUT_MS", "10000")  # no timeouts on a busy machine
    router_env.reset()
    extension.document = flag_values(percent=30)

    def invoke(payload):
        if payload["userId"].endswith("3"):
            return 200, {}, b"{not json", 0
        return 200, {}, json.dumps(mock_profile(payload["userId"])).encode(), 0

    lambda_service.answer = invoke
    users = [f"user-{i}" for i in range(120)]
    # WHEN every user reads once
    for user in users:
        router_env.lambda_handler({"userId": user}, None)
    out = capsys.readouterr().out
    # THEN one EMF document per request, each with both directives
    docs = emf_documents(out)
    assert len(docs) == len(users)
    for doc in docs:
        directives = doc["_aws"]["CloudWatchMetrics"]
        assert [d["Dimensions"] for d in directives] == [[["Release", "Path"]],
                                                         [["Release", "Path", "Route"]]]
        assert {d["Namespace"] for d in directives} == {"Cutover"}
    # ... Route is where the request was routed, fallbacks included
    routed = ["canary" if assign(SALT, u, 30).canary else "control" for u in users]
    assert [route for route, _ in latencies(out)] == routed
    assert "control" in routed and "canary" in routed
    # ... the latency is the one the REQUEST line reports
    assert [value for _, value in latencies(out)] == [r["durationMs"] for r in events(out, "REQUEST")]
    # ... and the REQUEST line is that document (one write a request), with every field
    # the saved queries read (generator/render/templates/queries) and no raw user id
    requests = events(out, "REQUEST")
    assert requests == docs
    fields = {"event", "release", "path", "level", "servedBy", "canary", "shadow", "failed",
              "fallback", "durationMs", "userHash"}
    for line, user in zip(requests, users, strict=True):
        assert fields <= set(line) and line["userHash"] == assign(SALT, user, 30).user_hash
        assert user not in json.dumps(line)
        # members whose names differ only in letter case carry the same value (`Release`
        # and `release`), so `Route` (routed) and who served cannot share a name: AWS does
        # not say whether Logs Insights tells such fields apart
        by_folded: dict[str, set[str]] = {}
        for name, value in line.items():
            by_folded.setdefault(name.lower(), set()).add(json.dumps(value))
        assert all(len(values) == 1 for values in by_folded.values()), by_folded
    # ... and the failures that fell back are canary errors, not served errors
    totals = metric_totals(out)
    failed = [u for u, r in zip(users, routed) if r == "canary" and u.endswith("3")]
    assert failed
    assert totals["CanaryErrors"] == totals["CanaryFallbacks"] == len(failed)
    assert {e["error"] for e in events(out, "CANARY-ERROR")} == {"malformed"}
    assert "Errors" not in totals
    assert totals["Requests"] == len(users)


def test_only_served_5xx_answers_are_errors(router_env, extension, lambda_service, aws_env, capsys):
    # GIVEN canary fallback off and a candidate that times out
    aws_env.setenv("CUTOVER_CANARY_FALLBACK", "false")
    router_env.reset()
    extension.document = flag_values(percent=100)
    lambda_service.answer = lambda p: (200, {}, b"{}", 1.0)
    # WHEN a user reads, and a request without userId comes in (400)
    assert router_env.lambda_handler({"userId": "user-1"}, None) == {"error": "candidate failed"}
    assert router_env.lambda_handler({}, None) == {"error": "userId is required"}
    out = capsys.readouterr().out
    # THEN the 502 is the one error; the 400 is not
    assert metric_totals(out) == {"Requests": 2, "CanaryRequests": 1, "CanaryErrors": 1,
                                  "Errors": 1}
    assert [route for route, _ in latencies(out)] == ["canary", "control"]


# -- candidate --------------------------------------------------------------------------


@pytest.mark.postgres
def test_candidate_counts_its_reads_and_read_errors_but_not_shadow_events(
        candidate_env, monkeypatch, capsys):
    import psycopg

    handler = candidate_env
    user = SEEDED_USERS[0]
    # a read, an unknown user (404 over HTTP), a request without userId
    assert handler.lambda_handler({"userId": user}, None) == mock_profile(user)
    http = {"version": "2.0", "requestContext": {}, "pathParameters": {"userId": "nobody"}}
    assert handler.lambda_handler(http, None)["statusCode"] == 404
    assert handler.lambda_handler({}, None) == {"error": "userId is required"}
    # a shadow event
    shadow = router_shadow_event(user)
    assert handler.lambda_handler(shadow, None)["status"] == "ok"
    out = capsys.readouterr().out
    assert metric_totals(out) == {"CanaryReads": 3, "ShadowComparisons": 1}
    # a read whose database fails raises (Lambda Errors, the router falls back) and counts
    store = handler.candidate().store

    def broken(user_id):
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(store, "profile", broken)
    with pytest.raises(psycopg.OperationalError):
        handler.lambda_handler({"userId": user}, None)
    assert metric_totals(capsys.readouterr().out) == {"CanaryReads": 1, "CanaryReadErrors": 1}


def test_the_rehearsal_reads_the_request_document_as_the_line_and_the_metrics(router_env, capsys):
    # GIVEN what the router prints for three requests, one of them without a user id
    from cutover.rehearsal.telemetry import Telemetry

    for event in ({"userId": "user-1"}, {"userId": "user-2"}, {}):
        router_env.lambda_handler(event, None)
    out = capsys.readouterr().out
    # WHEN the rehearsal's sink ingests it as the Lambda stand-in hands it over
    telemetry = Telemetry(publish=lambda *a: None, stored=set())
    telemetry.ingest("router", "invoke", [line + "\n" for line in out.splitlines()])
    # THEN every REQUEST is counted once, and so is every request's metric and latency
    assert telemetry.events["REQUEST"] == 3
    assert sum(m["Requests"] for m in telemetry.minutes.values()) == 3
    assert sum(sum(h.values()) for h in telemetry.latency["control"].values()) == 3
