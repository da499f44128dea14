"""Candidate settings from the environment the generator renders (contracts.md §2)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Amazon's five roots of ACM certificates (RDS Proxy's), shipped in the package by
# functions/build.py. `system` would make libpq load the CA paths compiled into the
# OpenSSL of psycopg's binary wheel, which do not exist on Lambda.
BUNDLED_TRUST_ROOTS = Path(__file__).with_name("rds-proxy-roots.pem")


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
    connect_timeout_s: int = 5

    @classmethod
    def from_env(cls) -> DatabaseSettings:
        env = os.environ
        return cls(
            host=env.get("CUTOVER_DB_HOST", "localhost"),
            port=int(env.get("CUTOVER_DB_PORT", "5432")),
            dbname=env.get("CUTOVER_DB_NAME", "postgres"),
            user=env.get("CUTOVER_DB_USER", "postgres"),
            iam_auth=env.get("CUTOVER_DB_IAM_AUTH", "true").strip().lower() in ("1", "true"),
            sslmode=env.get("CUTOVER_DB_SSLMODE", "verify-full"),
            sslrootcert=env.get("CUTOVER_DB_SSLROOTCERT") or str(BUNDLED_TRUST_ROOTS),
            region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1")),
        )
