"""boto3 clients for one environment, and AWS failures turned into plain sentences.

A command never shows a traceback for what an operator can fix: missing credentials,
region, permissions or resources become an `OpsError` (exit code 2) that says what is
missing and how to provide it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

EXIT_MISSING = 2
# The region the running command's clients use, named by the sentences for a missing
# resource: a release looked for in the wrong region looks exactly like one never applied.
REGION: ContextVar[str | None] = ContextVar("cutover_ops_region", default=None)


def not_there(what: str) -> str:
    """'<what> in us-east-1 — was the release applied there ..., or is the region wrong?'"""
    region = REGION.get()
    if not region:
        return f"{what} — was the release applied (`make plan` then `make apply`)?"
    return (f"{what} (looked for in region {region}) — was the release applied there (`make plan` then `make apply`), "
            f"or is it in another region (release.region in the spec, AWS_REGION)?")

DENIED = {
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException",
    "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException",
    "InvalidSignatureException", "SignatureDoesNotMatch", "AuthFailure",
}
MISSING = {
    "ResourceNotFoundException", "ResourceNotFound", "NotFoundException", "NoSuchEntity",
    "ApplicationDoesNotExistException", "DeploymentGroupDoesNotExistException",
    "DeploymentDoesNotExistException", "ResourceNotFoundFault",
}


class OpsError(Exception):
    """Something the operator must provide or fix; the command exits 2 with this text."""

    code = EXIT_MISSING


class Clients:
    """One boto3 client per service, in the release's region.

    `overrides` replaces a service's client (tests attach botocore's Stubber to them);
    `endpoint_url` points every client at an emulator.
    """

    def __init__(self, region: str | None, *, session: boto3.session.Session | None = None,
                 overrides: dict[str, Any] | None = None, endpoint_url: str | None = None):
        self.region = region
        self.session = session or boto3.session.Session()
        self.overrides = dict(overrides or {})
        self.endpoint_url = endpoint_url
        self._cache: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service in self.overrides:
            return self.overrides[service]
        if service not in self._cache:
            self._cache[service] = self.session.client(
                service, region_name=self.region, endpoint_url=self.endpoint_url,
                config=Config(retries={"max_attempts": 3, "mode": "standard"},
                              connect_timeout=5, read_timeout=30),
            )
        return self._cache[service]

    def require_credentials(self) -> None:
        """Fail before the first call when no credentials are configured at all."""
        try:
            creds = self.session.get_credentials()
        except botocore.exceptions.BotoCoreError as exc:
            raise OpsError(f"AWS credentials could not be loaded: {exc}") from None
        if creds is None:
            raise OpsError(
                "no AWS credentials: set AWS_PROFILE (or run `aws sso login`), or "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then run the command again"
            )
        if not self.region and not self.session.region_name:
            raise OpsError("no AWS region: the spec's release.region is empty and AWS_REGION is unset")


def describe(exc: BaseException, action: str) -> str | None:
    """A sentence for an AWS failure an operator can fix, or None for anything else."""
    if isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        return "no usable AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return "no AWS region: set release.region in the spec, or AWS_REGION"
    if isinstance(exc, botocore.exceptions.EndpointConnectionError | botocore.exceptions.ConnectTimeoutError):
        return f"cannot reach AWS while trying to {action}: {exc}"
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", "")
        operation = getattr(exc, "operation_name", "") or "the call"
        if code in DENIED or "AccessDenied" in code:
            return (f"permission missing to {action} ({operation}: {code}): {message} — "
                    "grant it to the role you run cutover with (docs/operations.md, Permissions)")
        if code in MISSING or code.endswith(("NotFoundException", "DoesNotExistException")):
            return not_there(f"resource missing while trying to {action} ({operation}: {code}): {message}")
    return None


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Turn the failures an operator can fix into OpsError; anything else propagates."""
    try:
        yield
    except OpsError:
        raise
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        sentence = describe(exc, action)
        if sentence is None:
            raise OpsError(f"AWS refused to {action}: {exc}") from None
        raise OpsError(sentence) from None


def error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return exc.response.get("Error", {}).get("Code", "")
    return ""


def paginate(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    """Every item of a paginated list call (stubbed clients paginate too)."""
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items += page.get(key, [])
    return items


def optional(call: Callable[[], Any], *missing_codes: str) -> Any:
    """The call's answer, or None when AWS says the resource does not exist."""
    try:
        return call()
    except botocore.exceptions.ClientError as exc:
        code = error_code(exc)
        if code in missing_codes or code in MISSING or code.endswith("NotFoundException"):
            return None
        raise
