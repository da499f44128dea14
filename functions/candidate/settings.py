"""Candidate settings from the environment the generator renders (contracts.md §2)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from cutover_runtime import env as env_keys

# Amazon's five roots of ACM certificates (RDS Proxy's), shipped in the package by
# functions/build.py. `system` would make libpq load the CA paths compiled into the
# OpenSSL of psycopg's binary wheel, which do not exist on Lambda.
BUNDLED_TRUST_ROOTS = Path(__file__).with_name("rds-proxy-roots.pem")

# libpq (and psycopg, which follows it) counts connect_timeout in whole seconds, with a
# floor of 2, per host address tried.
LIBPQ_MIN_CONNECT_TIMEOUT_S = 2


@dataclass(frozen=True)
class DatabaseSettings:
    host: str
    port: int
    dbname: str
    user: str
    iam_auth: bool
    sslmode: str
    sslrootcert: str
    region: str
    connect_timeout_ms: float = 1500.0  # CUTOVER_DB_CONNECT_TIMEOUT_MS = the canary timeout

    def connect_timeout_s(self) -> int:
        """libpq's ``connect_timeout``: the setting rounded up to whole seconds, at least 2."""
        return max(LIBPQ_MIN_CONNECT_TIMEOUT_S, math.ceil(self.connect_timeout_ms / 1000))

    @staticmethod
    def iam_auth_from_env() -> bool:
        return os.environ.get(env_keys.DB_IAM_AUTH, "true").strip().lower() in ("1", "true")

    @classmethod
    def from_env(cls) -> DatabaseSettings:
        env = os.environ
        return cls(
            host=env.get(env_keys.DB_HOST, "localhost"),
            port=int(env.get(env_keys.DB_PORT, "5432")),
            dbname=env.get(env_keys.DB_NAME, "postgres"),
            user=env.get(env_keys.DB_USER, "postgres"),
            iam_auth=cls.iam_auth_from_env(),
            sslmode=env.get(env_keys.DB_SSLMODE, "verify-full"),
            sslrootcert=env.get(env_keys.DB_SSLROOTCERT) or str(BUNDLED_TRUST_ROOTS),
            region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1")),
            connect_timeout_ms=float(env.get(env_keys.DB_CONNECT_TIMEOUT_MS, "1500")),
        )
