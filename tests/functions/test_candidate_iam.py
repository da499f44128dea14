"""The IAM-token path, without a database: the DSN carries a locally signed token."""

from __future__ import annotations

import datetime
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
from candidate.db import connection_kwargs
from candidate.settings import DatabaseSettings

PROXY = "huntaze.proxy-abc123.us-east-1.rds.amazonaws.com"


def settings(**overrides) -> DatabaseSettings:
    values = {"host": PROXY, "port": 5432, "dbname": "huntaze", "user": "reader",
              "iam_auth": True, "sslmode": "verify-full", "sslrootcert": "system",
              "region": "us-east-1"}
    values.update(overrides)
    return DatabaseSettings(**values)


def test_the_password_is_an_rds_auth_token_signed_locally(aws_env):
    kwargs = connection_kwargs(settings())
    token = kwargs["password"]
    assert token.startswith(f"{PROXY}:5432/?Action=connect")
    query = parse_qs(urlsplit("https://" + token).query)
    assert query["DBUser"] == ["reader"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Credential"][0].startswith("testing/")
    assert "X-Amz-Signature" in query
    assert kwargs["sslmode"] == "verify-full" and kwargs["sslrootcert"] == "system"
    assert (kwargs["host"], kwargs["user"], kwargs["dbname"]) == (PROXY, "reader", "huntaze")


def test_iam_auth_refuses_a_connection_without_tls(aws_env):
    with pytest.raises(ValueError, match="sslmode=disable"):
        connection_kwargs(settings(sslmode="disable"))


def test_without_iam_auth_there_is_no_password_and_no_boto3(monkeypatch):
    monkeypatch.delitem(sys.modules, "boto3", raising=False)
    kwargs = connection_kwargs(settings(iam_auth=False, sslmode="disable"))
    assert "password" not in kwargs and "sslrootcert" not in kwargs
    assert "boto3" not in sys.modules


def test_settings_come_from_the_contract_environment(monkeypatch):
    for key, value in {"CUTOVER_DB_HOST": PROXY, "CUTOVER_DB_PORT": "6432",
                       "CUTOVER_DB_NAME": "huntaze", "CUTOVER_DB_USER": "reader",
                       "CUTOVER_DB_IAM_AUTH": "true", "CUTOVER_DB_SSLMODE": "require",
                       "AWS_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(key, value)
    s = DatabaseSettings.from_env()
    assert (s.host, s.port, s.dbname, s.user, s.iam_auth, s.sslmode, s.region) == (
        PROXY, 6432, "huntaze", "reader", True, "require", "eu-west-1")


@pytest.mark.parametrize("session_token", ["session-token", None])
def test_the_token_is_the_one_boto3_signs_without_a_boto3_session(aws_env, monkeypatch, session_token):
    # GIVEN Lambda's credentials in the environment and a clock that stands still
    import boto3
    import botocore.auth
    from candidate.db import _rds_token

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    if session_token:
        monkeypatch.setenv("AWS_SESSION_TOKEN", session_token)
    else:
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    fixed = datetime.datetime(2026, 12, 1, 12, 0, 0)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: fixed)
    # WHEN the candidate signs with botocore's signer alone, and boto3's client signs
    ours = _rds_token(settings(region="eu-west-1"))
    rds = boto3.session.Session().client("rds", region_name="eu-west-1")
    theirs = rds.generate_db_auth_token(DBHostname=PROXY, Port=5432, DBUsername="reader",
                                        Region="eu-west-1")
    # THEN the tokens are the same, byte for byte
    assert ours == theirs
    assert ("X-Amz-Security-Token=session-token" in ours) == bool(session_token)
