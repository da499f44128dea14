"""EventBridge in the sandbox: the APPLIED rules decide what runs.

Each simulated minute the rules are read back from the sandbox's own EventBridge (boto3
``events`` through the front door: ListRules, ListTargetsByRule), as Terraform applied
them. An alarm state change (a ``Transition`` of the AWS stand-ins' ``tick``) becomes the
"CloudWatch Alarm State Change" event AWS sends; every rule whose pattern matches it
invokes its targets. A rule with ``rate(N minutes)`` invokes its targets every N
simulated minutes with a "Scheduled Event". A target that is the release's guard runs
in-process (``GuardRunner``); a target that is a state machine starts an execution (its
input: the target's ``Input`` when it has one, else the event, as EventBridge sends it);
other targets are not simulated (named in the status).

Deliveries happen at the end of the minute of the transition (AWS says "some seconds":
the rehearsal models the delay; here the next evaluation is a minute away anyway).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_MINUTES = {"minute": 1, "minutes": 1, "hour": 60, "hours": 60, "day": 1440, "days": 1440}


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: dict[str, Any] | None
    every_minutes: int | None  # a rate() schedule; None: not a schedule we run
    targets: tuple[str, ...]  # target ARNs
    enabled: bool = True
    inputs: tuple[tuple[str, str], ...] = ()  # (target ARN, its constant Input) for the targets that have one

    def input_of(self, arn: str) -> str | None:
        return next((text for target, text in self.inputs if target == arn), None)


def every_minutes(expression: str | None) -> int | None:
    """``rate(1 minute)`` -> 1; cron() and anything else -> None (not run)."""
    found = _RATE.match((expression or "").strip())
    return int(found.group(1)) * _UNIT_MINUTES[found.group(2)] if found else None


def matches(pattern: Any, event: Any) -> bool:
    """EventBridge's content matching (the subset rules use: exact values, ``prefix``,
    ``anything-but``, ``exists``), field by field; an event's list matches when any of
    its values does."""
    if not isinstance(pattern, dict):
        return False
    for key, wanted in pattern.items():
        present = isinstance(event, dict) and key in event
        value = event.get(key) if isinstance(event, dict) else None
        if isinstance(wanted, dict):
            if not present or not matches(wanted, value):
                return False
        elif not _matches_values(wanted, value, present):
            return False
    return True


def _matches_values(wanted: Any, value: Any, present: bool) -> bool:
    candidates = value if isinstance(value, list) else [value]
    for option in wanted if isinstance(wanted, list) else [wanted]:
        if isinstance(option, dict):
            if _operator(option, candidates, present):
                return True
        elif present and option in candidates:
            return True
    return False


def _operator(option: dict[str, Any], candidates: list[Any], present: bool) -> bool:
    if "exists" in option:
        return bool(option["exists"]) == present
    if not present:
        return False
    if "prefix" in option:
        return any(isinstance(c, str) and c.startswith(option["prefix"]) for c in candidates)
    if "anything-but" in option:
        excluded = option["anything-but"]
        excluded = excluded if isinstance(excluded, list) else [excluded]
        return all(c not in excluded for c in candidates)
    return False


def read_rules(events: Any) -> list[Rule]:
    """Every rule of the default bus and its targets (all pages)."""
    rules = []
    for page in _pages(events.list_rules, "Rules"):
        for rule in page:
            found = [t for p in _pages(events.list_targets_by_rule, "Targets", Rule=rule["Name"]) for t in p]
            pattern = json.loads(rule["EventPattern"]) if rule.get("EventPattern") else None
            rules.append(Rule(rule["Name"], pattern, every_minutes(rule.get("ScheduleExpression")),
                              tuple(t["Arn"] for t in found), rule.get("State", "ENABLED") == "ENABLED",
                              tuple((t["Arn"], t["Input"]) for t in found if t.get("Input") is not None)))
    return rules


def _pages(call: Any, key: str, **kwargs: Any) -> Any:
    token = None
    while True:
        answer = call(**kwargs, **({"NextToken": token} if token else {}))
        yield answer.get(key, [])
        token = answer.get("NextToken")
        if not token:
            return


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def alarm_event(transition: Any, account: str, region: str, epoch: float) -> dict[str, Any]:
    """The "CloudWatch Alarm State Change" event of one transition (EventBridge, aws.cloudwatch)."""
    when = _iso(epoch)
    return {"version": "0", "id": f"sandbox-{transition.name}-{int(epoch)}",
            "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
            "account": account, "time": when, "region": region, "resources": [transition.arn],
            "detail": {"alarmName": transition.name,
                       "state": {"value": transition.new, "reason": "sandbox", "timestamp": when},
                       "previousState": {"value": transition.old},
                       "configuration": {"type": getattr(transition, "kind", "Metric")}}}


def scheduled_event(rule: Rule, account: str, region: str, epoch: float) -> dict[str, Any]:
    return {"version": "0", "id": f"sandbox-schedule-{rule.name}-{int(epoch)}", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": account, "time": _iso(epoch), "region": region,
            "resources": [f"arn:aws:events:{region}:{account}:rule/{rule.name}"], "detail": {}}


def is_state_machine(arn: str) -> bool:
    return ":states:" in arn and ":stateMachine:" in arn


def function_name(arn: str) -> str:
    """``arn:aws:lambda:r:a:function:NAME[:QUALIFIER]`` -> NAME (a bare name stays)."""
    return arn.split(":function:", 1)[-1].split(":", 1)[0]
