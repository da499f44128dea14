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
