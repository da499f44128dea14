"""Feature flags read through the AppConfig Lambda extension's HTTP API on localhost.

No boto3 on this path: one ``http.client`` GET, bounded by a time budget, cached in
the process for a short TTL. A failed read keeps the last good flags; when nothing was
ever read, the safe defaults apply (canary 0%, shadow off). Each refresh leaves a
``FLAGS-LOADED`` / ``FLAGS-STALE`` / ``FLAGS-DEFAULT`` log line.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from .telemetry import Identity, log_event

FAILURE_RETRY_MS = 1000  # after a failed read, try again at most this often


class FlagsError(Exception):
    """The extension did not give a usable flag document."""


@dataclass(frozen=True, slots=True)
class Flags:
    percent: float = 0.0
    salt: str = ""
    sticky_key: str = "userId"
    step: float = 0.0
    shadow_enabled: bool = False
    sample_rate: float = 0.0
    shadow_timeout_ms: float = 500.0


SAFE_DEFAULTS = Flags()


def _number(values: dict, key: str, low: float, high: float, flag: str) -> float:
    value = values.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise FlagsError(f"flag attribute invalid: flag={flag} attribute={key} value={value!r}")
    return float(value)


def parse_flags(document: Any, canary_flag: str, shadow_flag: str) -> Flags:
    """Evaluated flag values (what the extension serves) -> Flags."""
    if not isinstance(document, dict):
        raise FlagsError(f"flag document is not an object: type={type(document).__name__}")
    canary = document.get(canary_flag) or {}
    shadow = document.get(shadow_flag) or {}
    if not isinstance(canary, dict) or not isinstance(shadow, dict):
        raise FlagsError(f"flag value is not an object: canary={canary_flag} shadow={shadow_flag}")
    percent = _number(canary, "percent", 0, 100, canary_flag) if canary.get("enabled") else 0.0
    salt = canary.get("salt", "")
    sticky_key = canary.get("stickyKey", "userId")
    if not isinstance(salt, str) or not isinstance(sticky_key, str) or not sticky_key:
        raise FlagsError(f"flag attribute invalid: flag={canary_flag} attribute=salt/stickyKey")
    shadow_on = bool(shadow.get("enabled"))
    return Flags(
        percent=percent,
        salt=salt,
        sticky_key=sticky_key,
        step=_number(canary, "step", 0, 100, canary_flag) if "step" in canary else 0.0,
        shadow_enabled=shadow_on,
        sample_rate=_number(shadow, "sampleRate", 0, 1, shadow_flag) if shadow_on else 0.0,
        shadow_timeout_ms=(_number(shadow, "timeoutMs", 1, 900_000, shadow_flag)
                           if "timeoutMs" in shadow else 500.0),
    )


class FlagCache:
    """In-process cache of the flags with a TTL and a per-read time budget."""

    def __init__(self, base_url: str, application: str, environment: str, profile: str,
                 canary_flag: str, shadow_flag: str, ttl_ms: float, budget_ms: float,
                 identity: Identity, clock: Callable[[], float] = time.monotonic) -> None:
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

    def _fetch(self) -> Any:
        deadline = time.monotonic() + self._budget
        conn = http.client.HTTPConnection(self._host, self._port, timeout=self._budget)
        try:
            conn.request("GET", self._target)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("flag read exceeded its budget")
            if conn.sock is not None:
                conn.sock.settimeout(remaining)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise FlagsError(f"extension answered status={response.status}")
            if time.monotonic() > deadline:
                raise TimeoutError("flag read exceeded its budget")
            try:
                return json.loads(body)
            except ValueError:
                raise FlagsError("extension answered malformed JSON") from None
        finally:
            conn.close()

    def _log(self, event: str, level: str, flags: Flags, age_ms: Any, error: Any) -> None:
        log_event(self._identity, event, level, percent=flags.percent,
                  shadowEnabled=int(flags.shadow_enabled), sampleRate=flags.sample_rate,
                  ageMs=age_ms, error=error)
