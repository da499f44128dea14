"""Feature flags read through the AppConfig Lambda extension's HTTP API on localhost.

No boto3 on this path: one HTTP GET (``http1``: not ``http.client``, which a cold start
would pay ~20 ms to import), cached in the process for a short TTL.
The time budget is a deadline for the whole exchange (connect, request, every byte of
the answer), not a per-read socket timeout. A failed read (including a document with
an attribute of the wrong type) keeps the last good flags; when nothing was ever read,
the safe defaults apply (canary 0%, shadow off). Each refresh leaves a
``FLAGS-LOADED`` / ``FLAGS-STALE`` / ``FLAGS-DEFAULT`` log line.

When the extension fails and a ``DirectFlagReader`` is given (cutover_runtime.flag_direct),
the same document is read from AppConfig's data plane instead, at most once per agent
poll interval (``FLAGS-DIRECT``): an environment started during an agent outage then
routes as every other one does, instead of flipping its canary users to the control.
Nothing is ever read from a copy older than AppConfig: when both fail, the last good
flags or the safe defaults apply as before (docs/functions.md, "When the agent fails").
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

from . import http1
from .flag_direct import DirectFlagReader, DirectReadError
from .telemetry import Identity, log_event

FAILURE_RETRY_MS = 1000  # after a failed read, try again at most this often


class FlagsError(Exception):
    """The extension did not give a usable flag document."""


class Flags(NamedTuple):
    """Immutable. A NamedTuple, not a dataclass: ``dataclasses`` is not imported at a
    cold start for it."""

    percent: float = 0.0
    salt: str = ""
    sticky_key: str = "userId"
    step: float = 0.0
    shadow_enabled: bool = False
    sample_rate: float = 0.0
    shadow_timeout_ms: float = 500.0


SAFE_DEFAULTS = Flags()


MAX_SALT_CHARS = 1024  # hashed on every request


def _number(values: dict, key: str, low: float, high: float, flag: str,
            default: float = 0.0) -> float:
    value = values.get(key, default)
    if type(value) not in (int, float) or not low <= value <= high:  # NaN fails the range
        raise FlagsError(f"flag attribute invalid: flag={flag} attribute={key} "
                         f"value={_shown(value)}")
    return float(value)


def _text(values: dict, key: str, default: str, flag: str, max_chars: int) -> str:
    value = values.get(key, default)
    if type(value) is not str or len(value) > max_chars or not _encodable(value):
        raise FlagsError(f"flag attribute invalid: flag={flag} attribute={key} "
                         f"value={_shown(value)}")
    return value


def _encodable(text: str) -> bool:
    """False for a lone surrogate (JSON can carry one as an escape): it cannot be hashed."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _enabled(values: dict, flag: str) -> bool:
    value = values.get("enabled", False)
    if type(value) is not bool:  # "false" is a string, and truthy
        raise FlagsError(f"flag attribute invalid: flag={flag} attribute=enabled "
                         f"value={_shown(value)}")
    return value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _flag_values(document: dict, key: str) -> dict:
    values = document.get(key, {})  # an absent flag is off
    if type(values) is not dict:
        raise FlagsError(f"flag value is not an object: flag={key} type={type(values).__name__}")
    return values


def parse_flags(document: Any, canary_flag: str, shadow_flag: str) -> Flags:
    """Evaluated flag values (what the extension serves) -> Flags.

    Every attribute present is checked, whether the flag is on or off: a value of the
    wrong type or out of range makes the whole document invalid. Unknown attributes
    and flags are ignored."""
    if type(document) is not dict:
        raise FlagsError(f"flag document is not an object: type={type(document).__name__}")
    canary = _flag_values(document, canary_flag)
    shadow = _flag_values(document, shadow_flag)
    canary_on = _enabled(canary, canary_flag)
    percent = _number(canary, "percent", 0, 100, canary_flag)
    sticky_key = _text(canary, "stickyKey", "userId", canary_flag, 256)
    if not sticky_key:
        raise FlagsError(f"flag attribute invalid: flag={canary_flag} attribute=stickyKey")
    shadow_on = _enabled(shadow, shadow_flag)
    sample_rate = _number(shadow, "sampleRate", 0, 1, shadow_flag)
    return Flags(
        percent=percent if canary_on else 0.0,
        salt=_text(canary, "salt", "", canary_flag, MAX_SALT_CHARS),
        sticky_key=sticky_key,
        step=_number(canary, "step", 0, 100, canary_flag),
        shadow_enabled=shadow_on,
        sample_rate=sample_rate if shadow_on else 0.0,
        shadow_timeout_ms=_number(shadow, "timeoutMs", 1, 900_000, shadow_flag, 500.0),
    )


class FlagCache:
    """In-process cache of the flags with a TTL and a per-read time budget."""

    def __init__(self, base_url: str, application: str, environment: str, profile: str,
                 canary_flag: str, shadow_flag: str, ttl_ms: float, budget_ms: float,
                 identity: Identity, clock: Callable[[], float] = time.monotonic,
                 direct: DirectFlagReader | None = None) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or "localhost"
        self._port = parts.port or 2772
        self._target = "/applications/{}/environments/{}/configurations/{}".format(
            quote(application, safe=""), quote(environment, safe=""), quote(profile, safe=""))
        self._canary_flag = canary_flag
        self._shadow_flag = shadow_flag
        self._ttl = ttl_ms / 1000.0
        self._budget = budget_ms / 1000.0
        self._identity = identity
        self._clock = clock
        self._flags: Flags | None = None
        self._loaded_at = 0.0
        self._next_refresh = 0.0
        self._direct = direct
        self._next_direct = 0.0

    @property
    def ever_loaded(self) -> bool:
        return self._flags is not None

    def expire(self) -> None:
        """Read the extension again on the next request (keeps the last good flags)."""
        self._next_refresh = 0.0

    def get(self) -> Flags:
        now = self._clock()
        if now < self._next_refresh:
            return self._flags or SAFE_DEFAULTS
        return self._refresh(now)

    def _refresh(self, now: float) -> Flags:
        try:
            flags = parse_flags(self._fetch(), self._canary_flag, self._shadow_flag)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the last good flags
            error = exc.__class__.__name__ if not isinstance(exc, FlagsError) else str(exc)
            if isinstance(exc, TimeoutError):
                error = "timeout"
            direct, direct_error = self._read_direct(now, error)
            if direct is not None:
                return direct
            if direct_error:
                error = f"{error}; {direct_error}"
            self._next_refresh = now + min(self._ttl, FAILURE_RETRY_MS / 1000.0)
            current = self._flags or SAFE_DEFAULTS
            event = "FLAGS-STALE" if self._flags is not None else "FLAGS-DEFAULT"
            age = round((now - self._loaded_at) * 1000) if self._flags is not None else None
            self._log(event, "WARN", current, age, error)
            return current
        self._flags = flags
        self._loaded_at = now
        self._next_refresh = now + self._ttl
        self._log("FLAGS-LOADED", "INFO", flags, 0, None)
        return flags

    def _read_direct(self, now: float, agent_error: str) -> tuple[Flags | None, str | None]:
        """The flags from the data plane, when there is a reader and its interval has
        passed; (None, why) when it fails or its document is invalid."""
        if self._direct is None or now < self._next_direct:
            return None, None
        self._next_direct = now + self._direct.poll_interval_s
        try:
            flags = parse_flags(self._direct.read(), self._canary_flag, self._shadow_flag)
        except (DirectReadError, FlagsError) as exc:
            return None, str(exc)
        self._flags = flags
        self._loaded_at = now
        self._next_refresh = now + self._ttl  # the agent again at the usual pace
        self._log("FLAGS-DIRECT", "WARN", flags, 0, agent_error)
        return flags, None

    def _fetch(self) -> Any:
        deadline = time.monotonic() + self._budget
        try:
            response = http1.request(self._host, self._port, "GET", self._target, deadline=deadline)
        except TimeoutError:
            raise TimeoutError("flag read exceeded its budget") from None
        if response.status != 200:
            raise FlagsError(f"extension answered status={response.status}")
        try:
            return json.loads(response.body)
        except (ValueError, RecursionError):
            raise FlagsError("extension answered malformed JSON") from None

    def _log(self, event: str, level: str, flags: Flags, age_ms: Any, error: Any) -> None:
        log_event(self._identity, event, level, percent=flags.percent,
                  shadowEnabled=int(flags.shadow_enabled), sampleRate=flags.sample_rate,
                  ageMs=age_ms, error=error)
