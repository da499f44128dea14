"""An in-process sandbox for the stand-ins' tests: SandboxState, mount, moto and the front
door, no daemon. ``sandbox_front`` (marker moto) is shared by a module; each test gets
fresh stand-ins (``sandbox``) on it, moto's resources are shared."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

REGION = "us-east-1"
ACCOUNT = "123456789012"


@dataclass
class Sandbox:
    state: Any
    aws: Any
    door: Any

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=REGION, endpoint_url=self.door.url,
                            aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture(scope="module")
def sandbox_front() -> Iterator[Any]:
    os.environ.setdefault("MOTO_ACCOUNT_ID", ACCOUNT)
    from cutover.sandbox import front

    moto = front.Moto()
    try:
        yield moto
    finally:
        moto.stop()


@pytest.fixture
def sandbox(sandbox_front: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    from cutover.sandbox import front
    from cutover.sandbox.services import mount
    from cutover.sandbox.state import SandboxClock, SandboxState

    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    state = SandboxState("production", REGION, ACCOUNT, SandboxClock(60.0))
    aws = mount(state)
    door = front.FrontDoor(state, sandbox_front)
    try:
        yield Sandbox(state, aws, door)
    finally:
        door.close()
