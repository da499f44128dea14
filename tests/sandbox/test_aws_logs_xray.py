"""The sandbox's Logs (query definitions, Insights over the log store) and X-Ray (typed
annotation filters over the trace store)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from cutover.sandbox.state import LogEvent, TraceSummary

QUERIES = Path(__file__).resolve().parents[2] / "terraform" / "envs" / "production" / "queries"
GROUP = "/aws/lambda/sandbox-router"


def _events(state, n=10):
    now = state.clock.time()
    for i in range(n):
        line = {"path": "user-read", "event": "REQUEST", "canary": i % 2, "failed": int(i == 3), "fallback": 0,
                "durationMs": 10 + i, "servedBy": "candidate" if i % 2 else "control"}
        state.logs.append(LogEvent(GROUP, "s1", now - 300 + i * 10, json.dumps(line)))


def test_query_definitions_are_kept_and_an_unknown_one_is_refused(sandbox):
    logs = sandbox.client("logs")
    ident = logs.put_query_definition(name="cutover/errors", queryString="fields @timestamp")["queryDefinitionId"]
    listed = logs.describe_query_definitions(queryDefinitionNamePrefix="cutover/")["queryDefinitions"]
    assert [d["queryDefinitionId"] for d in listed] == [ident]
    logs.delete_query_definition(queryDefinitionId=ident)
    with pytest.raises(ClientError) as gone:
        logs.delete_query_definition(queryDefinitionId=ident)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize("path", sorted(QUERIES.glob("*.logsinsights")), ids=lambda p: p.stem)
def test_every_generated_query_runs(sandbox, path):
    logs = sandbox.client("logs")
    if GROUP not in [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]]:
        logs.create_log_group(logGroupName=GROUP)
    _events(sandbox.state)
    now = int(time.time())
    ident = logs.start_query(logGroupNames=[GROUP], startTime=now - 900, endTime=now, queryString=path.read_text())
    answer = logs.get_query_results(queryId=ident["queryId"])
    assert answer["status"] == "Complete"
    assert answer["statistics"]["recordsScanned"] == 10


def test_a_query_of_a_missing_group_or_a_bad_query_is_refused(sandbox):
    logs = sandbox.client("logs")
    now = int(time.time())
    with pytest.raises(ClientError) as missing:
        logs.start_query(logGroupNames=["/no/such/group"], startTime=now - 60, endTime=now, queryString="fields x")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    logs.create_log_group(logGroupName="/aws/lambda/bad-query")
    with pytest.raises(ClientError) as malformed:
        logs.start_query(logGroupNames=["/aws/lambda/bad-query"], startTime=now - 60, endTime=now,
                         queryString="fields a | join b")
    assert malformed.value.response["Error"]["Code"] == "MalformedQueryException"


def test_error_rate_rows_count_the_log_lines(sandbox):
    logs = sandbox.client("logs")
    logs.create_log_group(logGroupName=GROUP + "-rate")
    now = sandbox.state.clock.time()
    for i in range(4):
        sandbox.state.logs.append(LogEvent(GROUP + "-rate", "s", now - 30, json.dumps(
            {"path": "user-read", "event": "REQUEST", "failed": int(i == 0), "fallback": 0})))
    wall = int(time.time())
    ident = logs.start_query(logGroupNames=[GROUP + "-rate"], startTime=wall - 300, endTime=wall,
                             queryString=(QUERIES / "user-read-error-rate.logsinsights").read_text())["queryId"]
    rows = [{f["field"]: f["value"] for f in row} for row in logs.get_query_results(queryId=ident)["results"]]
    assert [(r["requests"], r["errors"], r["error_pct"]) for r in rows] == [("4", "1", "25")]


def test_trace_summaries_filter_typed_annotations(sandbox):
    now = sandbox.state.clock.time()
    for i, canary in enumerate((True, 1, False)):
        sandbox.state.traces.append(TraceSummary(f"1-abc-{i:024d}", now - 60, 0.05, False, False,
                                                 {"canary": canary, "release": "r"}, "router"))
    xray = sandbox.client("xray")
    wall = time.time()
    found = xray.get_trace_summaries(StartTime=wall - 300, EndTime=wall,
                                     FilterExpression='annotation.release = "r" AND annotation.canary = true')
    assert [t["Id"] for t in found["TraceSummaries"]] == ["1-abc-" + "0" * 24]
    with pytest.raises(ClientError) as unsupported:
        xray.get_trace_summaries(StartTime=wall - 300, EndTime=wall, FilterExpression="rootcause.fault.entity")
    assert unsupported.value.response["Error"]["Code"] == "InvalidRequestException"
