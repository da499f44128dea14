"""Tests of generator/terraform/emulator.py: credential detection and the moto server's lifecycle."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request

import boto3
import pytest
from cutover.generator.terraform import emulator
from cutover.generator.terraform.emulator import (
    EmulatorError,
    LocalAWS,
    has_aws_credentials,
    prepare_backend,
)

# --- has_aws_credentials: no network, decided from the environment and ~/.aws ------------


def test_no_credentials_anywhere(no_aws_credentials):
    assert has_aws_credentials() is False


def test_environment_keys_count(no_aws_credentials, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert has_aws_credentials() is True


def test_access_key_without_secret_does_not_count(no_aws_credentials, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    assert has_aws_credentials() is False


@pytest.mark.parametrize("name", ["AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
                                  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"])
def test_explicit_intent_counts(no_aws_credentials, monkeypatch, name):
    # GIVEN a profile or role the user asked for, even one that does not resolve
    monkeypatch.setenv(name, "something")
    # THEN it is AWS: a broken profile must fail loudly, not plan against the emulator
    assert has_aws_credentials() is True


def test_shared_credentials_file_counts(no_aws_credentials):
    (no_aws_credentials / ".aws" / "credentials").write_text(
        "[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = secret\n"
    )
    assert has_aws_credentials() is True


def test_role_in_config_file_counts_without_calling_sts(no_aws_credentials):
    (no_aws_credentials / ".aws" / "credentials").write_text(
        "[base]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = secret\n"
    )
    (no_aws_credentials / ".aws" / "config").write_text(
        "[default]\nrole_arn = arn:aws:iam::111111111111:role/deploy\nsource_profile = base\n"
    )
    assert has_aws_credentials() is True  # deferred: nothing is fetched


# --- LocalAWS -------------------------------------------------------------------------


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


@pytest.mark.moto
def test_two_emulators_run_side_by_side_on_ports_the_os_picked(no_aws_credentials):
    with LocalAWS() as first, LocalAWS() as second:
        assert first.port != second.port
        assert _answers(f"{first.endpoint}/moto-api/") and _answers(f"{second.endpoint}/moto-api/")


@pytest.mark.moto
@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_the_emulator_serves_the_appconfig_agent_layer_s_public_parameter(no_aws_credentials, architecture):
    # moto serves no AppConfig public parameter, and PutParameter refuses names under /aws/:
    # `make plan` reads it (terraform/modules/feature_flags), so the emulator seeds it
    from cutover.generator.spec.model import AGENT_LAYER_PARAMETER

    name = AGENT_LAYER_PARAMETER.replace("{architecture}", architecture)
    with LocalAWS(region="eu-west-3", account_id="210987654321") as aws:
        ssm = boto3.client("ssm", endpoint_url=aws.endpoint, region_name="eu-west-3",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    suffix = "-Arm64" if architecture == "arm64" else ""
    assert value == f"arn:aws:lambda:eu-west-3:210987654321:layer:AWS-AppConfig-Extension{suffix}:1"


def test_a_server_that_dies_before_listening_is_reported_with_its_log(no_aws_credentials, monkeypatch):
    monkeypatch.setattr(emulator, "SERVE", "import sys; print('no moto here', file=sys.stderr); sys.exit(3)")
    with pytest.raises(EmulatorError, match="did not start(.|\n)*no moto here"), LocalAWS():
        pass


def test_the_cli_does_not_load_moto_until_a_plan_needs_the_emulator():
    code = "import sys, cutover.cli, cutover.generator.terraform.run; print(sorted(m for m in sys.modules if m.startswith('moto')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.moto
def test_local_aws_runs_moto_and_always_stops_it(no_aws_credentials, monkeypatch):
    with pytest.raises(RuntimeError, match="boom"), LocalAWS(region="eu-central-1") as aws:
        endpoint = aws.endpoint
        assert endpoint.startswith("http://127.0.0.1:")
        assert _answers(f"{endpoint}/moto-api/")
        env = aws.env()
        assert env["AWS_ENDPOINT_URL"] == endpoint
        assert env["AWS_ACCESS_KEY_ID"] == env["AWS_SECRET_ACCESS_KEY"] == "testing"
        assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-central-1"
        assert env["AWS_EC2_METADATA_DISABLED"] == "true"
        raise RuntimeError("boom")
    assert not _answers(f"{endpoint}/moto-api/")


@pytest.mark.moto
def test_environ_drops_the_callers_own_aws_settings(no_aws_credentials, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "prod")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "https://s3.example")
    with LocalAWS() as aws:
        environ = aws.environ()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        assert name not in environ
    assert environ["AWS_ENDPOINT_URL"] == aws.endpoint


@pytest.mark.moto
def test_prepare_backend_creates_bucket_and_lock_table_once(no_aws_credentials):
    with LocalAWS(region="eu-west-1") as aws:
        prepare_backend(aws, "cutover-state", "eu-west-1", lock_table="cutover-locks")
        prepare_backend(aws, "cutover-state", "eu-west-1", lock_table="cutover-locks")
        session = boto3.session.Session("testing", "testing", region_name="eu-west-1")
        s3 = session.client("s3", endpoint_url=aws.endpoint)
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["cutover-state"]
        location = s3.get_bucket_location(Bucket="cutover-state")["LocationConstraint"]
        assert location == "eu-west-1"
        tables = session.client("dynamodb", endpoint_url=aws.endpoint).list_tables()
        assert tables["TableNames"] == ["cutover-locks"]


@pytest.mark.moto
def test_local_aws_pretends_to_be_the_given_account(no_aws_credentials):
    with LocalAWS(account_id="111111111111") as aws:
        sts = boto3.client("sts", endpoint_url=aws.endpoint, region_name="eu-west-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        assert sts.get_caller_identity()["Account"] == "111111111111"
        assert aws.log_file.exists()
    assert not aws.log_file.exists()  # the log goes with the server
