"""The IAM-token path, without a database: the DSN carries a locally signed token."""

from __future__ import annotations

import datetime
import os
import subprocess
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


# (host, region, port, user, session token, time): a role's session token or none; user
# names that must be percent-encoded (space, slash, plus, equals, ampersand, percent,
# non-ASCII, and the unreserved ~ that must not be); https's default port, which the signed
# host leaves out (and then lower-cases), and a host written in capitals
MIXED_CASE = "Huntaze.Proxy-ABC123.eu-central-1.RDS.amazonaws.com"
TOKEN_CASES = [
    (PROXY, "eu-west-1", 5432, "reader", "session-token", datetime.datetime(2026, 12, 1, 12, 0, 0)),
    (PROXY, "us-east-1", 5432, "reader", None, datetime.datetime(2026, 12, 1, 12, 0, 0)),
    (PROXY, "ap-southeast-2", 6432, "app user/ro+x=y&z", "FwoGZXIvYXdzE+/=A==",
     datetime.datetime(2024, 2, 29, 23, 59, 59)),
    (MIXED_CASE, "us-gov-west-1", 443, "jos\u00e9~r\u00e9ader", None,
     datetime.datetime(2027, 1, 1, 0, 0, 0)),
    (MIXED_CASE, "cn-north-1", 5432, "a b%20c", "tok en", datetime.datetime(2025, 7, 4, 9, 5, 3)),
]


@pytest.mark.parametrize(("host", "region", "port", "user", "session_token", "at"), TOKEN_CASES)
def test_the_token_is_the_one_boto3_signs_without_botocore(aws_env, monkeypatch, host, region,
                                                           port, user, session_token, at):
    # GIVEN Lambda's credentials in the environment and a clock that stands still
    import boto3
    import botocore.auth
    from candidate import iam_token
    from candidate.db import _rds_token

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    if session_token:
        monkeypatch.setenv("AWS_SESSION_TOKEN", session_token)
    else:
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: at)
    monkeypatch.setattr(iam_token, "utc_now", lambda: at)
    # WHEN the candidate presigns with the standard library, and boto3's client signs
    ours = _rds_token(settings(host=host, region=region, port=port, user=user))
    rds = boto3.session.Session().client("rds", region_name=region)
    theirs = rds.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user,
                                        Region=region)
    # THEN the tokens are the same, byte for byte
    assert ours == theirs
    assert ("X-Amz-Security-Token=" in ours) == bool(session_token)
    assert parse_qs(urlsplit("https://" + ours).query)["DBUser"] == [user]


def test_the_token_changes_with_the_time_the_key_and_the_user():
    # a signature that ignored any of its inputs would still pass the comparison above
    # for inputs boto3 happened to sign the same way; each input must move it
    from candidate.iam_token import Credentials, rds_auth_token

    at = datetime.datetime(2026, 12, 1, 12, 0, 0)
    base = {"host": PROXY, "port": 5432, "user": "reader", "region": "us-east-1",
            "credentials": Credentials("AKID", "secret"), "now": at}
    signatures = {rds_auth_token(**{**base, **change}).rsplit("X-Amz-Signature=", 1)[1]
                  for change in ({}, {"now": at + datetime.timedelta(seconds=1)},
                                 {"credentials": Credentials("AKID", "secret2")},
                                 {"user": "reader2"}, {"region": "us-east-2"},
                                 {"credentials": Credentials("AKID", "secret", "t")})}
    assert len(signatures) == 6


def test_importing_the_handler_and_signing_loads_no_aws_sdk(tmp_path):
    # GIVEN a fresh interpreter, with IAM auth on (the default) and Lambda's credentials
    from tests.support.example import EXAMPLE

    from .conftest import FUNCTIONS

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(FUNCTIONS), str(EXAMPLE)]),
           "CUTOVER_DB_IAM_AUTH": "true", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
           "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
           "AWS_REGION": "us-east-1", "CUTOVER_DB_HOST": PROXY}
    # WHEN it imports the handler (init loads the driver and the presigner) and signs a token
    code = ("import sys; import candidate.handler; "
            "from candidate.db import _rds_token; from candidate.settings import DatabaseSettings; "
            "assert _rds_token(DatabaseSettings.from_env()).startswith('" + PROXY + ":5432/?'); "
            "assert 'psycopg' in sys.modules and 'candidate.iam_token' in sys.modules; "
            "sdk = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('botocore', 'boto3', 'urllib3', 'six')); "
            "assert not sdk, sdk")
    # THEN neither botocore nor what it loads is in sys.modules
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, env=env)
