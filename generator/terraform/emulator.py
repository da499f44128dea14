"""The local AWS emulator (moto's server) that plans run against when there is no AWS account.

What Terraform 1.11 and the AWS provider 5.x need to talk to it (tested in
tests/tooling/test_terraform_e2e.py):

- ``AWS_ENDPOINT_URL=http://127.0.0.1:PORT`` is honoured by the provider and by the
  ``s3`` backend alike (for S3, STS and DynamoDB), so no override file is needed.
- the backend also gets ``-backend-config=use_path_style=true``: without it the backend
  asks for ``BUCKET.localhost`` when the endpoint is a host name (an IP address happens to
  fall back to path style); service-specific ``AWS_ENDPOINT_URL_S3`` needs it too.
- fake static credentials, ``AWS_EC2_METADATA_DISABLED=true``, and the caller's own AWS
  settings (profile, session token, config files, per-service endpoints) removed.
- moto answers STS GetCallerIdentity, so no ``skip_*`` option is needed.
- moto serves some AWS public parameters (``/aws/service/...``) but not the AppConfig agent
  layer's, which the plan reads: the emulator seeds it (``public_parameters``).

The server is moto's ``ThreadedMotoServer`` on port 0 (the OS picks a free port, the
server reports it once it listens: no port race, no retries, no polling), but in a child
process rather than a thread of ours, for two reasons: moto keeps its state and reads
``MOTO_ACCOUNT_ID`` process-wide, so an in-process server would share its resources with
any other moto use in the same process (tests that ``mock_aws``) and could not pretend to
be another account without changing our own environment. moto is imported only by
that child, so it stays out of the CLI's cold path (``cutover render`` never loads it).
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

FAKE_ACCESS_KEY = "testing"
DEFAULT_REGION = "eu-west-1"
DEFAULT_ACCOUNT_ID = "123456789012"
START_TIMEOUT_SECONDS = 30.0

# The caller's own AWS settings that would send requests elsewhere or to a real account.
CONFLICTING_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


# botocore credential providers that would ask a metadata endpoint over the network.
NETWORK_PROVIDERS = frozenset({"iam-role", "container-role", "container"})


class EmulatorError(RuntimeError):
    """The emulator could not be started."""


@dataclass(frozen=True)
class RunningEmulator:
    endpoint: str
    region: str
    account_id: str
    log_file: Path

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])

    def env(self) -> dict[str, str]:
        """Variables that point the AWS SDKs, the provider and the s3 backend at the emulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": FAKE_ACCESS_KEY,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            # Keep ~/.aws out: a profile there could carry its own endpoint or role.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }

    def unset(self) -> tuple[str, ...]:
        """Variables to remove from the caller's environment before using env()."""
        per_service = tuple(k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_"))
        return CONFLICTING_ENV + per_service

    def environ(self) -> dict[str, str]:
        """The caller's environment with the emulator's settings applied."""
        drop = set(self.unset())
        environ = {k: v for k, v in os.environ.items() if k not in drop}
        environ.update(self.env())
        return environ


# AWS public parameters a plan reads that moto does not serve, seeded in the emulator's
# region: the AppConfig agent layer (terraform/modules/feature_flags). The values are
# stand-ins of the form AWS publishes (a layer version ARN), not AWS's real ARNs.
def public_parameters(region: str, account_id: str) -> dict[str, str]:
    from cutover.generator.spec.model import AGENT_LAYER_PARAMETER

    layers = {"x86_64": "AWS-AppConfig-Extension", "arm64": "AWS-AppConfig-Extension-Arm64"}
    return {AGENT_LAYER_PARAMETER.replace("{architecture}", arch): f"arn:aws:lambda:{region}:{account_id}:layer:{name}:1"
            for arch, name in layers.items()}


def seed_public_parameters(region: str, account_id: str) -> None:
    """Put ``public_parameters`` into moto's SSM backend of this process (moto's server in
    this process, or ``mock_aws``). Names under /aws/ are reserved: PutParameter refuses
    them, so they go into the backend directly. Used by the emulator's process below and by
    the local sandbox's (cutover.sandbox.daemon)."""
    import datetime

    from moto.ssm.models import Parameter, ssm_backends

    ssm = ssm_backends[account_id][region]
    for name, value in public_parameters(region, account_id).items():
        ssm._parameters[name].append(Parameter(
            account_id=account_id, name=name, value=value, parameter_type="String", description=None,
            allowed_pattern=None, keyid=None, last_modified_date=datetime.datetime.now(datetime.UTC),
            version=1, data_type="text"))


# The emulator process: moto's ThreadedMotoServer binds port 0, seeds the public
# parameters, prints the port it got once it listens, and serves until its stdin closes
# (the parent ends the block, or dies).
SERVE = (
    "import os, sys\n"
    "from moto.server import ThreadedMotoServer\n"
    "from cutover.generator.terraform.emulator import seed_public_parameters\n"
    "server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)\n"
    "server.start()\n"
    "seed_public_parameters(os.environ['CUTOVER_EMULATOR_REGION'], os.environ['MOTO_ACCOUNT_ID'])\n"
    "print(server.get_host_and_port()[1], flush=True)\n"
    "sys.stdin.read()\n"
    "server.stop()\n"
)


@contextmanager
def LocalAWS(
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT_ID,
    timeout: float = START_TIMEOUT_SECONDS,
) -> Iterator[RunningEmulator]:
    """Run moto's server on a port of 127.0.0.1 the OS picks, for the duration of the block."""
    log_dir = Path(tempfile.mkdtemp(prefix="cutover-moto-"))
    log_file = log_dir / "moto.log"
    with log_file.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", SERVE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
            # without the caller's profile and the like: seeding loads moto's SSM backend,
            # which opens a boto3 session (a missing profile would stop the server)
            env={**{k: v for k, v in os.environ.items() if k not in CONFLICTING_ENV},
                 "MOTO_ACCOUNT_ID": account_id, "CUTOVER_EMULATOR_REGION": region},
        )
    try:
        port = _reported_port(process, timeout)
        if port is None:
            tail = log_file.read_text(errors="replace")[-2000:]
            raise EmulatorError(
                f"moto server did not start on 127.0.0.1 within {timeout:.0f}s "
                f"(log={log_file}); is moto[server] installed (make setup)?\n{tail}"
            )
        yield RunningEmulator(f"http://127.0.0.1:{port}", region, account_id, log_file)
    finally:
        _stop(process)
    shutil.rmtree(log_dir, ignore_errors=True)


def _reported_port(process: subprocess.Popen[bytes], timeout: float) -> int | None:
    """The port the server printed once listening; None if it exited or stayed silent."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    line = process.stdout.readline() if ready else b""
    return int(line) if line.strip().isdigit() else None


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.stdin is not None and not process.stdin.closed:
        try:
            process.stdin.close()  # the server's cue to stop
        except OSError:
            pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def has_aws_credentials() -> bool:
    """Whether AWS credentials are configured, decided without network where possible.

    Environment credentials, a web identity token, a container credentials endpoint or
    AWS_PROFILE count at once (an explicit profile shows intent to use AWS, so a broken one
    should fail loudly rather than fall back to the emulator). Otherwise botocore's own
    resolver runs with the instance-metadata and container providers removed, so nothing is
    fetched: roles, SSO and profiles from ~/.aws resolve lazily.
    """
    env = os.environ
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return True
    if any(env.get(k) for k in (
        "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    )):
        return True
    import botocore.exceptions
    import botocore.session

    session = botocore.session.Session()
    resolver = session.get_component("credential_provider")
    resolver.providers = [p for p in resolver.providers if p.METHOD not in NETWORK_PROVIDERS]
    try:
        return resolver.load_credentials() is not None
    except botocore.exceptions.BotoCoreError:
        return False


def prepare_backend(
    emulator: RunningEmulator, bucket: str, region: str, lock_table: str | None = None
) -> None:
    """Create the state bucket (and DynamoDB lock table) that the s3 backend expects."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=FAKE_ACCESS_KEY, aws_secret_access_key=FAKE_ACCESS_KEY,
        region_name=region,
    )
    s3 = session.client("s3", endpoint_url=emulator.endpoint)
    kwargs = {} if region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": region}
    }
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket, **kwargs)
    if lock_table:
        dynamodb = session.client("dynamodb", endpoint_url=emulator.endpoint)
        if lock_table not in dynamodb.list_tables()["TableNames"]:
            dynamodb.create_table(
                TableName=lock_table,
                KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
