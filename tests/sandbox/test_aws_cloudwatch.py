"""The sandbox's CloudWatch: alarms evaluated from what Put*Alarm stored over the metric
store, in the JSON protocol (boto3) and the query protocol (the Terraform provider)."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

RATE = [{"Id": "errors", "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": "Cutover", "MetricName": "Errors", "Dimensions": [{"Name": "Path", "Value": "p"}]},
            "Period": 60, "Stat": "Sum"}},
        {"Id": "requests", "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": "Cutover", "MetricName": "Requests", "Dimensions": [{"Name": "Path", "Value": "p"}]},
            "Period": 60, "Stat": "Sum"}},
        {"Id": "rate", "Expression": "errors / requests", "ReturnData": True}]


def _alarms(cloudwatch):
    cloudwatch.put_metric_alarm(AlarmName="rate", Metrics=RATE, EvaluationPeriods=2, DatapointsToAlarm=1,
                                Threshold=0.1, ComparisonOperator="GreaterThanThreshold", TreatMissingData="missing")
    cloudwatch.put_composite_alarm(AlarmName="rollback", AlarmRule='ALARM("rate")')


def test_new_alarms_are_insufficient_data_and_composites_only_when_asked_for(sandbox):
    cloudwatch = sandbox.client("cloudwatch")
    _alarms(cloudwatch)
    plain = cloudwatch.describe_alarms()
    assert [a["AlarmName"] for a in plain["MetricAlarms"]] == ["rate"] and plain["CompositeAlarms"] == []
    both = cloudwatch.describe_alarms(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    assert [a["StateValue"] for a in both["CompositeAlarms"]] == ["INSUFFICIENT_DATA"]
    with pytest.raises(ClientError) as unknown:
        cloudwatch.put_composite_alarm(AlarmName="x", AlarmRule='ALARM("no-such-alarm")')
    assert unknown.value.response["Error"]["Code"] == "ValidationError"


def test_metric_math_alarm_and_its_composite_go_to_alarm_on_errors(sandbox):
    cloudwatch = sandbox.client("cloudwatch")
    _alarms(cloudwatch)
    metrics = sandbox.state.metrics
    for minute in range(3):
        metrics.put("Cutover", "Requests", {"Path": "p"}, minute * 60 + 5, 10.0)
        metrics.put("Cutover", "Errors", {"Path": "p"}, minute * 60 + 5, 0.0 if minute < 2 else 5.0)
    transitions = sandbox.aws.tick(120)
    assert {(t.name, t.new, t.kind) for t in transitions} == {("rate", "OK", "Metric"), ("rollback", "OK", "Composite")}
    transitions = sandbox.aws.tick(180)
    assert [(t.name, t.old, t.new, t.at_s) for t in transitions] == [
        ("rate", "OK", "ALARM", 180), ("rollback", "OK", "ALARM", 180)]
    history = cloudwatch.describe_alarm_history(AlarmName="rate", HistoryItemType="StateUpdate")
    assert history["AlarmHistoryItems"][0]["HistorySummary"] == "Alarm updated from OK to ALARM"


def test_get_metric_data_reads_the_store_on_the_callers_clock(sandbox):
    cloudwatch = sandbox.client("cloudwatch")
    cloudwatch.put_metric_data(Namespace="Custom", MetricData=[
        {"MetricName": "Latency", "Values": [10, 20, 30, 40], "Unit": "Milliseconds"}])
    now = time.time()
    answer = cloudwatch.get_metric_data(StartTime=now - 600, EndTime=now + 60, MetricDataQueries=[
        {"Id": "p", "MetricStat": {"Metric": {"Namespace": "Custom", "MetricName": "Latency"}, "Period": 60,
                                   "Stat": "Sum"}},
        {"Id": "double", "Expression": "p * 2"}])
    results = {r["Id"]: r["Values"] for r in answer["MetricDataResults"]}
    assert results == {"p": [100.0], "double": [200.0]}
    with pytest.raises(ClientError) as reserved:
        cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=[{"MetricName": "Errors", "Value": 1}])
    assert reserved.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_the_query_protocol_answers_in_xml(sandbox):
    headers = {"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260105/us-east-1/monitoring/aws4_request",
               "Content-Type": "application/x-www-form-urlencoded"}
    body = (b"Action=PutMetricAlarm&Version=2010-08-01&AlarmName=q&Namespace=N&MetricName=M&Statistic=Sum"
            b"&Period=60&EvaluationPeriods=1&Threshold=1&ComparisonOperator=GreaterThanThreshold"
            b"&Dimensions.member.1.Name=D&Dimensions.member.1.Value=v")
    assert sandbox.door.answer("POST", "/", headers, body).status == 200
    answer = sandbox.door.answer("POST", "/", headers, b"Action=DescribeAlarms&Version=2010-08-01&AlarmNames.member.1=q")
    text = answer.body.decode()
    assert answer.status == 200 and "<AlarmName>q</AlarmName>" in text and "<Name>D</Name>" in text
    assert "<StateValue>INSUFFICIENT_DATA</StateValue>" in text
    missing = sandbox.door.answer("POST", "/", headers, b"Action=SetAlarmState&AlarmName=zz&StateValue=OK&StateReason=r")
    assert missing.status == 404 and b"<Code>ResourceNotFound</Code>" in missing.body


def test_a_window_on_the_callers_clock_reads_the_last_simulated_minutes(sandbox):
    """An hour simulated ahead: the caller's last 15 minutes are the sandbox's last 15,
    and each value comes back at the caller's own period boundaries (as `cutover analyze`
    looks them up)."""
    sandbox.state.clock.set(3600)
    sandbox.state.metrics.put("Cutover", "Requests", {}, 3600 - 150, 7.0)  # 2.5 simulated minutes ago
    end = int(time.time()) // 300 * 300 + 300
    answer = sandbox.client("cloudwatch").get_metric_data(
        StartTime=end - 900, EndTime=end, ScanBy="TimestampAscending", MetricDataQueries=[
            {"Id": "r", "MetricStat": {"Metric": {"Namespace": "Cutover", "MetricName": "Requests"},
                                       "Period": 300, "Stat": "Sum"}}])
    result = answer["MetricDataResults"][0]
    assert result["Values"] == [7.0]
    assert int(result["Timestamps"][0].timestamp()) % 300 == 0
    assert end - 900 <= result["Timestamps"][0].timestamp() < end


def test_metric_math_in_any_order_and_an_undefined_id_is_refused(sandbox):
    """Metrics is a set to AWS: the Terraform provider sends its metric_query blocks in no
    particular order, an expression may come before the one it reads."""
    cloudwatch = sandbox.client("cloudwatch")
    shuffled = [{"Id": "rate", "Expression": "double / 2", "ReturnData": True},
                {"Id": "double", "Expression": "errors * 2", "ReturnData": False}, RATE[0]]
    cloudwatch.put_metric_alarm(AlarmName="shuffled", Metrics=shuffled, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching")
    sandbox.state.metrics.put("Cutover", "Errors", {"Path": "p"}, 5, 4.0)
    assert [(t.name, t.new) for t in sandbox.aws.tick(60)] == [("shuffled", "ALARM")]
    with pytest.raises(ClientError) as undefined:
        cloudwatch.put_metric_alarm(AlarmName="bad", Metrics=[{"Id": "e", "Expression": "nothing * 2"}],
                                    EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    assert undefined.value.response["Error"]["Code"] == "ValidationError"
