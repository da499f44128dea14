"""The sandbox's EventBridge: which applied rules an alarm transition or a schedule fires."""

from __future__ import annotations

import pytest

from cutover.sandbox import eventbridge
from cutover.sandbox.faults import FaultInvalid, parse

ARN = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:rollback"


class _T:
    name, arn, old, new, kind = "rollback", ARN, "OK", "ALARM", "Composite"


def test_the_guards_alarm_rule_matches_its_alarms_state_change_only() -> None:
    pattern = {"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"],
               "resources": [ARN]}
    event = eventbridge.alarm_event(_T(), "123456789012", "eu-west-1", 1_780_000_000.0)
    assert eventbridge.matches(pattern, event)
    other = {**pattern, "resources": [ARN + "-other"]}
    assert not eventbridge.matches(other, event)


def test_content_filters() -> None:
    event = {"detail": {"state": {"value": "ALARM"}, "alarmName": "huntaze-rollback"}}
    assert eventbridge.matches({"detail": {"state": {"value": ["ALARM"]}}}, event)
    assert not eventbridge.matches({"detail": {"state": {"value": ["OK"]}}}, event)
    assert eventbridge.matches({"detail": {"alarmName": [{"prefix": "huntaze-"}]}}, event)
    assert not eventbridge.matches({"detail": {"alarmName": [{"anything-but": "huntaze-rollback"}]}}, event)
    assert eventbridge.matches({"detail": {"missing": [{"exists": False}]}}, event)
    assert not eventbridge.matches({"detail": {"missing": ["x"]}}, event)


@pytest.mark.parametrize(("expression", "minutes"), [("rate(1 minute)", 1), ("rate(5 minutes)", 5),
                                                     ("rate(1 hour)", 60), ("cron(0 * * * ? *)", None), (None, None)])
def test_schedules(expression: str | None, minutes: int | None) -> None:
    assert eventbridge.every_minutes(expression) == minutes


def test_function_name_from_a_target_arn() -> None:
    assert eventbridge.function_name("arn:aws:lambda:eu-west-1:1:function:huntaze-guard:live") == "huntaze-guard"
    assert eventbridge.function_name("huntaze-guard") == "huntaze-guard"


def test_a_fault_is_the_rehearsals_with_what_is_allowed_said() -> None:
    fault = parse("candidate_errors", 120.0, {"rate": 0.5, "for_minutes": 3})
    assert (fault.kind, fault.rate, fault.when.minute, fault.when.for_minutes) == ("candidate_errors", 0.5, 2.0, 3)
    with pytest.raises(FaultInvalid, match="allowed: candidate_errors"):
        parse("meteor", 0.0, {})
    with pytest.raises(FaultInvalid, match="cutover deploy"):
        parse("router_deployment", 0.0, {})
    with pytest.raises(FaultInvalid, match="rate"):
        parse("candidate_errors", 0.0, {"rate": 2})
