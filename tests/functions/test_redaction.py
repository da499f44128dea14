"""No raw user data in any log line: every line both functions write is scanned."""

from __future__ import annotations

import json
import threading

import psycopg
import pytest
from cutover_runtime.contract import mock_profile

from .conftest import SEEDED_USERS, events, flag_values, log_lines

pytestmark = pytest.mark.postgres


def test_no_log_line_carries_a_user_id_or_a_redacted_value(
        router_env, candidate_env, seeded, extension, lambda_service, aws_env, capsys):
    # GIVEN candidate rows whose redacted field (email) and plan differ from the control
    aws_env.setenv("CUTOVER_TRACE_USER_ID", "raw")  # traces may; logs never do
    users = SEEDED_USERS[:30]
    changed_emails = {}
    with psycopg.connect(seeded.url, autocommit=True) as conn:
        for user in users[::3]:
            changed_emails[user] = f"{user}.moved@example.org"
            conn.execute("UPDATE users SET email = %s WHERE user_id = %s",
                         (changed_emails[user], user))
    lock = threading.Lock()

    def deliver(event):  # the async invoke reaches the real candidate
        with lock:
            candidate_env.lambda_handler(event, None)

    def invoke(payload):
        with lock:
            if payload["userId"].endswith("7"):
                return 200, {"X-Amz-Function-Error": "Unhandled"}, b'{"errorType": "X"}', 0
            return 200, {}, json.dumps(candidate_env.lambda_handler(payload, None)).encode(), 0

    lambda_service.on_event = deliver
    lambda_service.answer = invoke
    # WHEN traffic goes through every route: control + shadow, canary ok, canary fallback
    for percent in (0, 30, 100):
        extension.document = flag_values(percent=percent, shadow=True, sample_rate=1.0)
        router_env.reset()
        for user in users:
            router_env.lambda_handler({"userId": user}, None)
        assert router_env.router().shadow.drain()
    out = capsys.readouterr().out
    # THEN the comparisons happened and found the redacted differences ...
    diffs = events(out, "SHADOW-DIFF")
    assert len(diffs) >= len(changed_emails)
    assert {"path": "$.email", "kind": "changed", "control": "<redacted>",
            "candidate": "<redacted>"} in diffs[0]["diffs"]
    assert events(out, "CANARY-OK") and events(out, "CANARY-FALLBACK")
    # ... and no line contains a raw user id or any email, old or new
    raw_values = set(users) | set(changed_emails.values()) | {
        mock_profile(u)["email"] for u in users}
    lines = out.splitlines()
    assert len(lines) > 200
    for line in lines:
        for value in raw_values:
            assert value not in line, (value, line[:200])
    assert all(isinstance(entry, dict) for entry in log_lines(out))


REDACT_RULES = {"ignore_paths": [], "numeric_tolerance": 0.0001,
                "timestamp_tolerance_seconds": 1.0, "unordered_lists": ["$.items"],
                "redact_paths": ["$.email", "$.items[*].name"]}


def test_shadow_events_carry_digests_never_redacted_values(
        router_env, candidate_env, seeded, extension, lambda_service, aws_env, capsys):
    # GIVEN the spec redacts the email and the item names, for the router and the candidate
    aws_env.setenv("CUTOVER_COMPARE_RULES", json.dumps(REDACT_RULES))
    router_env.reset()
    candidate_env.reset()
    users = SEEDED_USERS[:12]
    moved = users[0]
    with psycopg.connect(seeded.url, autocommit=True) as conn:
        conn.execute("UPDATE users SET email = %s WHERE user_id = %s",
                     (f"{moved}.moved@example.org", moved))
    lock = threading.Lock()
    delivered = []
    all_delivered = threading.Event()

    def deliver(event):  # one invocation at a time, as in an execution environment
        with lock:
            candidate_env.lambda_handler(event, None)
            delivered.append(event["eventId"])
            if len(delivered) == len(users):
                all_delivered.set()

    lambda_service.on_event = deliver
    extension.document = flag_values(percent=0, shadow=True, sample_rate=1.0, timeout_ms=60_000)
    # WHEN every user's read is teed to the candidate
    for user in users:
        router_env.lambda_handler({"userId": user}, None)
    assert router_env.router().shadow.drain()
    assert all_delivered.wait(30)
    # THEN no serialized event (what a DLQ would keep) holds a redacted value in clear
    redacted_values = {f"{moved}.moved@example.org"}
    for user in users:
        profile = mock_profile(user)
        redacted_values.add(profile["email"])
        redacted_values.update(item["name"] for item in profile["items"])
    payloads = [json.dumps(c["payload"], ensure_ascii=False) for c in lambda_service.calls]
    assert len(payloads) == len(users)
    for payload in payloads:
        for value in redacted_values:
            assert value not in payload, (value, payload[:200])
        body = json.loads(payload)["control"]["body"]
        assert body["email"].startswith("sha256:")
        assert all(item["name"].startswith("sha256:") for item in body["items"])
    # ... and the candidate compared those paths by digest: the one moved email differs
    out = capsys.readouterr().out
    assert {e["event"] for e in log_lines(out) if e.get("event", "").startswith("SHADOW-")} == {
        "SHADOW-OK", "SHADOW-DIFF"}
    [diff] = events(out, "SHADOW-DIFF")
    assert diff["diffs"] == [{"path": "$.email", "kind": "changed", "control": "<redacted>",
                              "candidate": "<redacted>"}]
    assert len(events(out, "SHADOW-OK")) == len(users) - 1
