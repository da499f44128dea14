"""What the guard decides, as pure functions of what CloudWatch and AppConfig answer.

The guard holds one property: while the composite rollback alarm is in ALARM, the
document AppConfig serves (the latest COMPLETE deployment's, `cutover_runtime.live`)
has every canary flag at 0%. Each run compares that desired state with what is served
and acts on the difference, so a missed event costs one schedule interval, never the
property (docs/aws-rules.md, CloudWatch: composite actions run only on a transition).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from cutover_runtime import live

ALARM = "ALARM"
# EventBridge's detail-types for what triggers a run (the event itself is only a hint).
ALARM_EVENT = "CloudWatch Alarm State Change"
SCHEDULE_EVENT = "Scheduled Event"


def alarm_state(response: Mapping[str, Any], name: str) -> str | None:
    """The state of alarm `name` in a DescribeAlarms answer (composite or metric), or None."""
    for kind in ("CompositeAlarms", "MetricAlarms"):
        for alarm in response.get(kind) or ():
            if alarm.get("AlarmName") == name:
                return str(alarm.get("StateValue"))
    return None


def in_the_way(deployment: Mapping[str, Any]) -> str | None:
    """Why the guard must wait for an in-progress deployment, or None if it stops it.

    The guard never stops its own deployment nor one of `cutover rollback` (both deploy
    the canary-off document), and a deployment already rolling back is on its way to
    the version before it: the guard confirms on a later run. The controller's steps are
    ramps like Terraform's: stopped.
    """
    starter = live.started_by(deployment)
    if starter in live.CANARY_OFF:
        return f"{starter}-deploying"
    if deployment.get("State") == live.ROLLING_BACK:
        return "rolling-back"
    return None


def canary_off_content(document: Mapping[str, Any], flag_keys: Iterable[str]) -> tuple[bytes, list[str]] | None:
    """The hosted-version bytes with every canary flag off, and the flags changed;
    None when what is served already has the canary at 0 (the guard holds)."""
    off = live.canary_off(document, flag_keys)
    if off is None:
        return None
    new, changed = off
    return live.encode(new), changed


def decode(content: bytes) -> dict[str, Any]:
    document = json.loads(content)
    if not isinstance(document, dict):
        raise TypeError("the hosted flag document is not a JSON object")
    return document


def description(alarm: str, version: int) -> str:
    """The deployment's (and the hosted version's) description: starts with GUARD_MARK,
    which is how `live.started_by` recognises the guard's deployments."""
    return f"{live.GUARD_MARK} canary off while {alarm} is in ALARM (from version {version})"[:1024]


def latest_number(deployments: Iterable[Mapping[str, Any]]) -> int | None:
    """The environment's latest deployment number (StartDeployment's LatestDeploymentNumber)."""
    numbers = [int(d["DeploymentNumber"]) for d in deployments if "DeploymentNumber" in d]
    return max(numbers) if numbers else None


def trigger(event: Any) -> str:
    """What invoked this run, for the log line: the alarm's state change, the schedule, or
    anything else (a test, an operator)."""
    kind = event.get("detail-type") if isinstance(event, dict) else None
    if kind == ALARM_EVENT:
        return "alarm-state-change"
    if kind == SCHEDULE_EVENT:
        return "schedule"
    return "direct"
