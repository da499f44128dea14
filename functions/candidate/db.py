"""One PostgreSQL connection per execution environment, through RDS Proxy.

The password is an IAM auth token presigned locally with botocore's SigV4 query signer
alone (what ``rds.generate_db_auth_token`` does, without a boto3 session or client, so a
cold start pays neither), never a secret in the environment; TLS is required whenever
IAM auth is on. ``load_drivers`` imports psycopg and the signer at init: the first
request needs them, and Lambda's init (or a SnapStart snapshot) pays for them instead. The
connection is reused across invocations; a query that fails on a connection opened by
an earlier read closes it, and the read is tried once more on a fresh connection
(reads are idempotent). A connection that cannot be opened is not tried again in the
same read: the connect timeout (derived from the canary timeout) is spent once.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

from cutover_runtime.request import usable_id
from user_profile.read_model import format_timestamp

from .settings import DatabaseSettings

PROFILE_SQL = """
SELECT u.user_id, u.display_name, u.email, u.plan, u.created_at,
       COALESCE((SELECT json_agg(json_build_object('sku', i.sku, 'name', i.name,
                                                   'price', i.price, 'quantity', i.quantity)
                                 ORDER BY i.position)
                   FROM user_items i WHERE i.user_id = u.user_id), '[]'::json) AS items
  FROM users u
 WHERE u.user_id = %(user_id)s
"""


class UserNotFound(LookupError):
    """No row for the user id."""


class MalformedRow(ValueError):
    """The row cannot be shaped into a profile (a NULL quantity, a price that is not a
    number): the data's fault. The message names the field, never its value."""


def connection_kwargs(settings: DatabaseSettings, token_signer: Any = None) -> dict[str, Any]:
    """libpq parameters; with IAM auth, a fresh token as password and TLS enforced."""
    kwargs: dict[str, Any] = {
        "host": settings.host, "port": settings.port, "dbname": settings.dbname,
        "user": settings.user, "connect_timeout": settings.connect_timeout_s(),
        "sslmode": settings.sslmode, "application_name": "cutover-candidate",
    }
    if settings.iam_auth:
        if settings.sslmode in ("disable", "allow", "prefer"):
            raise ValueError(f"IAM auth needs TLS: sslmode={settings.sslmode}")
        signer = token_signer or _rds_token
        kwargs["password"] = signer(settings)
    if settings.sslmode in ("verify-ca", "verify-full") and settings.sslrootcert:
        kwargs["sslrootcert"] = settings.sslrootcert
    return kwargs


TOKEN_EXPIRES_S = 900  # what RDS accepts, and what generate_db_auth_token signs


def load_drivers(iam_auth: bool) -> None:
    """Import what the first read needs (psycopg; the signer with IAM auth), at init."""
    import psycopg  # noqa: F401

    if iam_auth:
        import botocore.auth
        import botocore.awsrequest  # noqa: F401


class _Credentials(NamedTuple):
    """What the SigV4 signer reads: Lambda's role credentials from the environment."""

    access_key: str
    secret_key: str
    token: str | None


def _credentials() -> Any:
    env = os.environ
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return _Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"],
                            env.get("AWS_SESSION_TOKEN") or None)
    import botocore.session  # elsewhere than Lambda: the whole provider chain

    found = botocore.session.get_session().get_credentials()
    if found is None:
        raise RuntimeError("no AWS credentials to sign the IAM auth token with")
    return found.get_frozen_credentials()


def _rds_token(settings: DatabaseSettings) -> str:
    """``rds-db:connect`` presigned for 15 minutes, as ``generate_db_auth_token`` signs it:
    ``host:port/?Action=connect&DBUser=...&X-Amz-...`` without the scheme."""
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(method="GET", url=f"https://{settings.host}:{settings.port}/",
                         data={"Action": "connect", "DBUser": settings.user})
    SigV4QueryAuth(_credentials(), "rds-db", settings.region, expires=TOKEN_EXPIRES_S).add_auth(request)
    return request.url[len("https://"):]


class ProfileStore:
    """Reads profiles; owns the execution environment's connection."""

    def __init__(self, settings: DatabaseSettings, token_signer: Any = None) -> None:
        self.settings = settings
        self._token_signer = token_signer
        self._conn: Any = None
        self.connects = 0

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            import psycopg  # ~90 ms: loaded by the first read, not at import

            # prepare_threshold=None: no server-side prepared statements, which would
            # pin the client to one backend connection behind RDS Proxy.
            self._conn = psycopg.connect(**connection_kwargs(self.settings, self._token_signer),
                                         autocommit=True, prepare_threshold=None)
            self.connects += 1
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def profile(self, user_id: str) -> dict[str, Any]:
        """The user's profile; UserNotFound when there is none, or when ``user_id`` cannot
        name a user (a NUL byte or a lone surrogate would make the driver raise)."""
        if not usable_id(user_id):
            raise UserNotFound("no profile: the id cannot name a user")
        import psycopg

        for attempt in (1, 2):
            reused = self._conn is not None and not self._conn.closed
            try:
                with self._connection().cursor() as cur:
                    cur.execute(PROFILE_SQL, {"user_id": user_id})
                    row = cur.fetchone()
                break
            except (psycopg.OperationalError, psycopg.InterfaceError):
                self.close()
                if attempt == 2 or not reused:  # a fresh connection failing: no second wait
                    raise
        if row is None:
            raise UserNotFound(f"no profile: userHash={_hash(user_id)}")
        return _shaped(row)


def _shaped(row: tuple) -> dict[str, Any]:
    user_id_db, display_name, email, plan, created_at, items = row
    try:
        return {
            "userId": user_id_db,
            "displayName": display_name,
            "email": email,
            "plan": plan,
            "createdAt": format_timestamp(created_at),
            "items": [{"sku": i["sku"], "name": i["name"], "price": float(i["price"]),
                       "quantity": int(i["quantity"])} for i in items],
        }
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise MalformedRow(f"row cannot be shaped: {exc.__class__.__name__}") from None


def _hash(value: str) -> str:
    from hashlib import sha256

    return sha256(value.encode()).hexdigest()[:16]
