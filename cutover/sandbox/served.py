"""What the sandbox's release serves, by the project's one rule (``cutover.runtime.live``):
the configuration version of the environment's latest COMPLETE deployment, read from the
AppConfig stand-in's deployments as its API lists them (the rehearsal's ``ControlPlane``
summaries), and the canary percent each read path's flag gives in that document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cutover.rehearsal.appconfig_api import ControlPlane
from cutover.runtime import live


def canary_percents(appconfig: Any, clock: Any, flags: dict[str, str]) -> dict[str, float]:
    """Per read path, the canary percent served now (0 when nothing is applied or served)."""
    document = served_document(appconfig, clock)
    if document is None:
        return {path: 0.0 for path in flags}
    return live.canary_percents(document, flags)


def served_document(appconfig: Any, clock: Any) -> dict[str, Any] | None:
    if appconfig is None:
        return None
    plane = ControlPlane(appconfig, clock, lambda deployment: None)
    version = live.live_version([plane.summary(d) for d in list(appconfig.deployments)])
    return None if version is None else appconfig.versions.get(version)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
