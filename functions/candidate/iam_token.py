"""The RDS IAM auth token, presigned with the standard library alone.

An authentication token is a SigV4 query-string presigned URL for the action ``connect``
of the service ``rds-db``, without its scheme, valid 15 minutes (docs/aws-rules.md, "RDS
IAM auth token"): ``host:port/?Action=connect&DBUser=...&X-Amz-Algorithm=...``. It is
the string ``rds.generate_db_auth_token`` gives, byte for byte (the order of the
parameters included; tests/functions/test_candidate_iam.py compares the two), without
importing botocore, whose signer loads urllib3, six and botocore.utils (~40 ms at a cold
start). Only hmac, hashlib and urllib.parse.quote, which a fresh process has mostly
loaded already.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from typing import NamedTuple
from urllib.parse import quote

SERVICE = "rds-db"
ALGORITHM = "AWS4-HMAC-SHA256"
EXPIRES_S = 900  # what RDS accepts, and what generate_db_auth_token signs
# the payload hash of a GET without a body, as the SDK's presigner signs it
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class Credentials(NamedTuple):
    """An access key pair and, for a role's temporary credentials, the session token."""

    access_key: str
    secret_key: str
    token: str | None = None


def _quote(value: str) -> str:
    """RFC 3986: everything but the unreserved characters A-Z a-z 0-9 - _ . ~ percent-encoded
    (UTF-8, upper-case hex; a space is %20, never +)."""
    return quote(value, safe="-_.~")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _signing_key(secret_key: str, day: str, region: str) -> bytes:
    key = _hmac(f"AWS4{secret_key}".encode(), day)
    for part in (region, SERVICE, "aws4_request"):
        key = _hmac(key, part)
    return key


def _canonical_host(host: str, port: int) -> str:
    """The signed ``host`` header: the host lower-cased (as the SDK writes it), the port
    left out only when it is https's default (the token itself keeps both as given)."""
    return host.lower() if port == 443 else f"{host.lower()}:{port}"


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def rds_auth_token(host: str, port: int, user: str, region: str, credentials: Credentials,
                   now: datetime.datetime | None = None) -> str:
    """``rds-db:connect`` for ``user`` at ``host:port``, presigned for EXPIRES_S seconds at
    ``now`` (UTC; the current time by default)."""
    when = now or utc_now()
    stamp, day = when.strftime("%Y%m%dT%H%M%SZ"), when.strftime("%Y%m%d")
    scope = f"{day}/{region}/{SERVICE}/aws4_request"
    # the operation's parameters, then the signature's, in the order the SDK writes them
    params = [("Action", "connect"), ("DBUser", user), ("X-Amz-Algorithm", ALGORITHM),
              ("X-Amz-Credential", f"{credentials.access_key}/{scope}"),
              ("X-Amz-Date", stamp), ("X-Amz-Expires", str(EXPIRES_S)),
              ("X-Amz-SignedHeaders", "host")]
    if credentials.token:
        params.append(("X-Amz-Security-Token", credentials.token))
    pairs = [(_quote(k), _quote(v)) for k, v in params]
    query = "&".join(f"{k}={v}" for k, v in pairs)
    canonical = "\n".join([
        "GET", "/", "&".join(f"{k}={v}" for k, v in sorted(pairs)),
        f"host:{_canonical_host(host, port)}", "", "host", EMPTY_SHA256])
    to_sign = "\n".join([ALGORITHM, stamp, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    signature = hmac.new(_signing_key(credentials.secret_key, day, region),
                         to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{host}:{port}/?{query}&X-Amz-Signature={signature}"
