"""The flags from AppConfig's data plane (``appconfigdata``), read directly: the second
way to the same document when the AppConfig agent on localhost fails.

Why (docs/functions.md, "When the agent fails"): an execution environment started while
its agent answers nothing has no last good flags; with the safe defaults (canary 0%) the
canary users it serves flip to the control and back, once per environment that comes and
goes. The data plane serves what the agent would have served (the agent is a cache in
front of these same two calls), so the canary users stay where they are, and a canary
the guard turned off is read as off: nothing here is older than AppConfig itself. When
the data plane fails too, nothing is read and the caller keeps its last good flags or
the safe defaults: the control, never a remembered canary.

boto3 is imported on first use only, so a router whose agent answers never loads it
(cold start). The client never retries and its timeouts are the read's budget.
"""

from __future__ import annotations

import json
import os
from typing import Any

from . import aws
from . import env as env_keys

MIN_POLL_INTERVAL_S = 15  # appconfigdata's lowest RequiredMinimumPollIntervalInSeconds



class DirectReadError(Exception):
    """appconfigdata gave no usable document (the reason is what the logs carry)."""


def enabled(environ: Any = None) -> bool:
    """On when the function's environment asks for it (the generator renders it for the
    router), carries the function's credentials as Lambda's does (without them boto3
    would go looking for some, the instance metadata service taking seconds), and is
    Lambda's (``AWS_EXECUTION_ENV``) or names a data-plane endpoint of its own
    (``AWS_ENDPOINT_URL_APPCONFIGDATA``: tests, a rehearsal stand-in). A local run with a
    developer's credentials in the shell never reaches AWS from here."""
    env = os.environ if environ is None else environ
    asked = env.get(env_keys.FLAGS_DIRECT_READ, "off").strip().lower() in ("1", "on", "true", "yes")
    in_lambda = env.get("AWS_EXECUTION_ENV", "").startswith("AWS_Lambda_")
    return asked and bool(env.get("AWS_ACCESS_KEY_ID")) and (in_lambda or bool(env.get("AWS_ENDPOINT_URL_APPCONFIGDATA")))


def _client(timeout_s: float) -> Any:
    """The appconfigdata client of this read budget (`aws.client`): never retried, its
    timeouts the budget."""
    return aws.client("appconfigdata", timeout_s, connect_s=timeout_s, attempts=1)


class DirectFlagReader:
    """One configuration session per execution environment, as the agent keeps one.

    ``read()`` returns the latest document (decoded JSON) or raises. GetLatestConfiguration
    answers an empty body when nothing changed since the session's last answer; the
    document of that last answer is then still the latest. A failed call ends the session
    (its token is single use): the next read starts a new one.
    """

    def __init__(self, application: str, environment: str, profile: str,
                 poll_interval_s: float, timeout_s: float) -> None:
        self._identifiers = {"ApplicationIdentifier": application, "EnvironmentIdentifier": environment,
                             "ConfigurationProfileIdentifier": profile}
        self.poll_interval_s = max(float(MIN_POLL_INTERVAL_S), poll_interval_s)
        self._timeout_s = timeout_s
        self._token: str | None = None
        self._document: Any = None

    def read(self) -> Any:
        try:
            client = _client(self._timeout_s)
            if self._token is None:
                session = client.start_configuration_session(
                    **self._identifiers, RequiredMinimumPollIntervalInSeconds=int(self.poll_interval_s))
                self._token = session["InitialConfigurationToken"]
                self._document = None  # a new session answers the whole document first
            response = client.get_latest_configuration(ConfigurationToken=self._token)
            self._token = response["NextPollConfigurationToken"]
            body = response["Configuration"].read()
        except Exception as exc:  # noqa: BLE001 - any failure is one reason in the logs
            self._token = None
            raise DirectReadError(_reason(exc)) from None
        if body:
            try:
                self._document = json.loads(body)
            except (ValueError, RecursionError):
                raise DirectReadError("appconfigdata answered malformed JSON") from None
        if self._document is None:
            raise DirectReadError("appconfigdata answered no configuration")
        return self._document


def _reason(exc: Exception) -> str:
    """``appconfigdata <AWS error code or exception class>``, or ``appconfigdata timeout``."""
    name = exc.__class__.__name__
    if "Timeout" in name:
        return "appconfigdata timeout"
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return f"appconfigdata {code or name}"
