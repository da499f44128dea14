"""No raw user data leaves the functions: every log line both functions write is scanned,
and no shadow event of the example's rendered routers (what a dead-letter queue would
keep) carries a user's email or name."""

from __future__ import annotations

import json
import threading

import hcl2
import psycopg
import pytest
from cutover_runtime.compare import CompareRules, compile_paths
from cutover_runtime.shadow import ASYNC_EVENT_LIMIT, build_shadow_event
from user_profile.mock import mock_profile

from .conftest import ROOT, SEEDED_USERS, events, flag_values, log_lines


@pytest.mark.postgres
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


@pytest.mark.postgres
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


# -- the example as rendered -------------------------------------------------------------

ENVS = ROOT / "terraform" / "envs"
# The agent's own settings and the flag read budget stay the fixture's (a local extension,
# generous for loaded CI machines); every other literal the generator rendered is used.
FIXTURE_KEEPS = ("AWS_APPCONFIG_", "CUTOVER_FLAGS_BUDGET_MS")


def _rendered_routers() -> list[tuple[str, dict[str, str]]]:
    """(env/module, literal environment) of every router the example's envs render."""
    found = []
    for main_tf in sorted(ENVS.glob("*/main.tf")):
        with main_tf.open(encoding="utf-8") as handle:
            doc = hcl2.load(handle)
        for entry in doc.get("module", []):
            for name, body in entry.items():
                if body.get("handler") != '"router.handler.lambda_handler"':
                    continue
                env = {key: json.loads(value) for key, value in body["environment"].items()
                       if isinstance(value, str) and value.startswith('"')}
                module = name.strip('"')
                found.append((f"{main_tf.parent.name}/{module}", env))
    return found


ROUTERS = _rendered_routers()


def test_every_env_of_the_example_renders_a_router():
    assert {name.split("/")[0] for name, _ in ROUTERS} == {p.name for p in ENVS.iterdir()}
    assert len(ROUTERS) >= 4  # production, staging and preview's two read paths


def _personal_values(users: list[str]) -> set[str]:
    return {value for user in users for value in (mock_profile(user)["email"],
                                                  mock_profile(user)["displayName"])}


def _strings(node) -> list[str]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (k, *_strings(v))]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


@pytest.mark.parametrize("rendered", [r[1] for r in ROUTERS], ids=[r[0] for r in ROUTERS])
def test_no_shadow_event_of_the_example_carries_a_users_email_or_name(
        router_env, extension, lambda_service, aws_env, capsys, rendered):
    # GIVEN the router with the environment the generator rendered for the example
    for key, value in rendered.items():
        if not key.startswith(FIXTURE_KEEPS):
            aws_env.setenv(key, value)
    document = flag_values(percent=0, shadow=True, sample_rate=1.0)
    extension.document = {rendered["CUTOVER_CANARY_FLAG"]: document["prisma-adapter"],
                          rendered["CUTOVER_SHADOW_FLAG"]: document["prisma-shadow"]}
    router_env.reset()
    # WHEN every seeded user reads through it, each read teed to the candidate
    for user in SEEDED_USERS:
        router_env.lambda_handler({"userId": user}, None)
        # one at a time, as the shadow-drain extension holds an environment until idle
        assert router_env.router().shadow.drain()
    # THEN no event (the async payload, which is what a dead-letter queue keeps) holds
    # an email or a name in clear: each is a salted digest, and the answer is still there
    events_sent = [c["payload"] for c in lambda_service.calls if c["type"] == "Event"]
    assert len(events_sent) == len(SEEDED_USERS)
    personal = _personal_values(SEEDED_USERS)
    for event in events_sent:
        leaked = [value for text in _strings(event) for value in personal if value in text]
        assert not leaked, leaked
        body = event["control"]["body"]
        assert body["email"].startswith("sha256:") and body["displayName"].startswith("sha256:")
        assert body["items"] == mock_profile(event["request"]["userId"])["items"]
    out = capsys.readouterr().out
    assert not any(value in out for value in personal)


@pytest.mark.parametrize("rendered", [r[1] for r in ROUTERS], ids=[r[0] for r in ROUTERS])
def test_an_oversized_shadow_event_sends_fields_already_redacted(rendered):
    # GIVEN the rendered redact paths and an answer too big for one async event
    rules = CompareRules.from_json(rendered["CUTOVER_COMPARE_RULES"])
    user = SEEDED_USERS[0]
    body = mock_profile(user)
    def size(value):
        return len(json.dumps(value, separators=(",", ":")))

    copies = 2 * (ASYNC_EVENT_LIMIT // max(1, size(body["items"]))) + 2  # past the limit, whatever it is
    body = {**body, "items": body["items"] * copies}
    assert size(body) > ASYNC_EVENT_LIMIT
    # WHEN the router builds its event, which then travels by fields
    event = json.loads(build_shadow_event({"userId": user}, body, 1.0, "h", 500.0,
                                          redact_paths=compile_paths(rules.redact_paths)))
    # THEN the fields that travel in clear carry digests of the personal values
    assert event["control"]["body"] is None
    fields = event["control"]["fields"]
    assert fields["$.email"].startswith("sha256:") and fields["$.displayName"].startswith("sha256:")
    personal = _personal_values([user])
    assert not [value for text in _strings(event) for value in personal if value in text]
