"""Router settings from the environment the generator renders (contracts.md §2).

Defaults are for a local run only and name nothing of a particular release.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from cutover_runtime import env as env_keys
from cutover_runtime import flag_direct


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


class RouterSettings(NamedTuple):
    """Immutable. A NamedTuple, not a dataclass: ``dataclasses`` (with ``inspect``) is
    not imported at a cold start for it."""

    appconfig_url: str
    appconfig_application: str
    appconfig_environment: str
    appconfig_profile: str
    canary_flag: str
    shadow_flag: str
    flags_ttl_ms: float
    flags_budget_ms: float
    candidate_arn: str
    canary_timeout_ms: float
    canary_fallback: bool
    shadow_dispatch_budget_ms: float
    compare_rules: str | None = None  # CUTOVER_COMPARE_RULES, parsed by the first shadow tee
    # the agent's own poll interval: the data plane is read no more often when it fails
    flags_poll_interval_s: float = 45.0
    flags_direct_read: bool = False  # cutover_runtime.flag_direct.enabled()

    @classmethod
    def from_env(cls) -> RouterSettings:
        env = os.environ
        return cls(
            appconfig_url=env.get(env_keys.APPCONFIG_URL, "http://localhost:2772"),
            appconfig_application=env.get(env_keys.APPCONFIG_APPLICATION, ""),
            appconfig_environment=env.get(env_keys.APPCONFIG_ENVIRONMENT, ""),
            appconfig_profile=env.get(env_keys.APPCONFIG_PROFILE, ""),
            # no release's flag names: unset reads no flag, so canary and shadow stay off
            canary_flag=env.get(env_keys.CANARY_FLAG, ""),
            shadow_flag=env.get(env_keys.SHADOW_FLAG, ""),
            flags_ttl_ms=float(env.get(env_keys.FLAGS_TTL_MS, "5000")),
            flags_budget_ms=float(env.get(env_keys.FLAGS_BUDGET_MS, "50")),
            candidate_arn=env.get(env_keys.CANDIDATE_ARN, ""),
            canary_timeout_ms=float(env.get(env_keys.CANARY_TIMEOUT_MS, "1500")),
            canary_fallback=_flag(env.get(env_keys.CANARY_FALLBACK, "true")),
            shadow_dispatch_budget_ms=float(env.get(env_keys.SHADOW_DISPATCH_BUDGET_MS, "0")),
            compare_rules=env.get(env_keys.COMPARE_RULES),
            flags_poll_interval_s=float(env.get("AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS", "45")),
            flags_direct_read=flag_direct.enabled(env),
        )
