"""`cutover query` (Logs Insights through the Stubber), `cutover traces` (X-Ray through
the Stubber) and `cutover cost` (no AWS call at all)."""

from __future__ import annotations

import json

import pytest
from botocore.stub import ANY
from cutover.runtime import assignment

from cutover.cli import main
from cutover.ops import cost
from cutover.ops.traces import filter_expression


def _json(project, em, capsys, *argv) -> tuple[int, dict]:
    env = [] if "--env" in argv else ["--env", "production"]
    code = main(["--root", str(project), *argv, *env, "--json"],
                clients=em.clients() if em else None)
    return code, json.loads(capsys.readouterr().out)


# --- query ----------------------------------------------------------------------------


def test_query_runs_the_generated_text_on_its_log_groups(project, emulated, capsys, monkeypatch):
    from tests.conftest import ROOT

    text = (ROOT / "terraform/envs/production/queries/user-read-error-rate.logsinsights").read_text()
    logs = emulated.stub("logs")
    logs.add_response("start_query", {"queryId": "q-1"}, {
        "logGroupNames": ["/aws/lambda/huntaze-mock-read"], "startTime": ANY, "endTime": ANY,
        "queryString": text, "limit": 1000})
    logs.add_response("get_query_results", {"status": "Running", "results": []}, {"queryId": "q-1"})
    logs.add_response("get_query_results", {"status": "Complete", "statistics": {"recordsScanned": 120.0},
                                            "results": [[{"field": "minute", "value": "2026-11-29 09:00:00.000"},
                                                         {"field": "requests", "value": "60"},
                                                         {"field": "error_pct", "value": "0"},
                                                         {"field": "@ptr", "value": "x"}]]}, {"queryId": "q-1"})
    monkeypatch.setattr("cutover.ops.query.POLL_SECONDS", 0.0)
    code, out = _json(project, emulated, capsys, "query", "error-rate", "--since", "30m")
    assert code == 0
    assert out["query"] == "user-read-error-rate"
    assert out["rows"] == [{"minute": "2026-11-29 09:00:00.000", "requests": "60", "error_pct": "0"}]


def test_query_reads_both_log_groups_when_the_plan_says_so(project, emulated, capsys):
    logs = emulated.stub("logs")
    logs.add_response("start_query", {"queryId": "q-2"}, {
        "logGroupNames": ["/aws/lambda/huntaze-mock-read", "/aws/lambda/huntaze-prisma-read"],
        "startTime": ANY, "endTime": ANY, "queryString": ANY, "limit": 1000})
    logs.add_response("get_query_results", {"status": "Complete", "results": []}, {"queryId": "q-2"})
    code, out = _json(project, emulated, capsys, "query", "user-read-errors")
    assert code == 0 and out["rows"] == []


def test_unknown_query_lists_the_known_ones(project, emulated, capsys):
    code = main(["--root", str(project), "query", "nope", "--env", "production"], clients=emulated.clients())
    err = capsys.readouterr().err
    assert code == 2
    assert "no query 'nope'" in err and "user-read-shadow-diffs" in err


def test_bad_since_is_refused(project, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--root", str(project), "query", "errors", "--since", "soon"])
    assert exc.value.code == 2
    assert "not a duration" in capsys.readouterr().err


# --- traces ---------------------------------------------------------------------------


def test_filter_expression_hashes_the_user_as_the_functions_do(names):
    path = names.paths[0]
    expected_hash = assignment.user_hash("huntaze-2025-10", "user-42")
    assert len(expected_hash) == 16
    assert filter_expression(names, path, canary=True, errors=True, slow=0.5, user="user-42") == (
        'annotation.release = "huntaze-prisma-migration" AND annotation.path = "user-read" AND '
        'annotation.canary = true AND (error = true OR fault = true) AND duration >= 0.5 AND '
        f'annotation.userId = "{expected_hash}"')


def test_traces_are_listed_with_console_links(project, emulated, names, capsys):
    xray = emulated.stub("xray")
    expression = filter_expression(names, names.paths[0], canary=True, errors=True)
    xray.add_response("get_trace_summaries", {"TraceSummaries": [
        {"Id": "1-abc-def", "Duration": 1.2, "HasError": True,
         "Annotations": {"canary": [{"AnnotationValue": {"BooleanValue": True}}]}}], "NextToken": "n"},
        {"StartTime": ANY, "EndTime": ANY, "FilterExpression": expression, "Sampling": False})
    xray.add_response("get_trace_summaries", {"TraceSummaries": []},
                      {"StartTime": ANY, "EndTime": ANY, "FilterExpression": expression, "Sampling": False,
                       "NextToken": "n"})
    code, out = _json(project, emulated, capsys, "traces", "--canary", "--errors", "--since", "2h")
    assert code == 0
    assert out["filterExpression"] == expression
    [trace] = out["traces"]
    assert trace["error"] is True
    assert trace["link"] == "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#xray:traces/1-abc-def"


def test_traces_by_user_when_the_functions_write_none(project, emulated, capsys):
    spec = project / "config" / "production.release.yaml"
    spec.write_text(spec.read_text().replace("user_id: hashed", "user_id: \"off\""))
    code = main(["--root", str(project), "traces", "--user", "u1", "--env", "production"], clients=emulated.clients())
    assert code == 2
    assert "user_id: off" in capsys.readouterr().err


# --- cost -----------------------------------------------------------------------------


def test_cost_needs_no_aws(project, capsys, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    code, out = _json(project, None, capsys, "cost", "--requests-per-month", "1000000")
    assert code == 1  # over the spec's $60 budget: the endpoints and the KMS key the plan creates
    assert out["pricesChecked"] == cost.prices()["checked"] and out["sources"]["lambda"].startswith("https://")
    items = {r["item"]: r["monthly"] for r in out["release"]}
    assert items["RDS Proxy"] == pytest.approx(2 * 730 * 0.015)
    # 1M router invocations at 256 MB arm64, 25 ms + 1% x 60 ms
    assert items["router (control) Lambda"] == pytest.approx(0.2 + 1e6 * 0.25 * 0.0256 * 0.0000133334, abs=1e-4)
    assert out["total"] > out["budget"] == 60
    assert out["baselineTotal"] < out["total"]
    assert {r["item"] for r in out["baseline"]} == {"control Lambda", "CloudWatch Logs", "X-Ray traces"}


@pytest.mark.parametrize("percent", ["-5", "250", "100.5"])
def test_cost_refuses_a_percent_that_is_not_a_share(project, capsys, percent):
    code = main(["--root", str(project), "cost", "--percent", percent, "--env", "production"])
    assert code == 2
    assert f"--percent {float(percent):g} is not a canary share: allowed 0 to 100" in capsys.readouterr().err


def test_cost_grows_with_the_canary_and_the_traffic(project, capsys):
    _, one = _json(project, None, capsys, "cost", "--percent", "1")
    _, hundred = _json(project, None, capsys, "cost", "--percent", "100")
    _, ten_m = _json(project, None, capsys, "cost", "--requests-per-month", "10000000")
    canary = lambda out: {r["item"]: r["monthly"] for r in out["release"]}["candidate Lambda, canary"]
    assert canary(hundred) > canary(one)
    assert ten_m["total"] > one["total"]


def test_cost_over_budget_exits_1(project, capsys):
    code, out = _json(project, None, capsys, "cost", "--requests-per-month", "100000000")
    assert out["withinBudget"] is False and code == 1


def test_cost_rejects_an_unknown_instance(project, capsys):
    code = main(["--root", str(project), "cost", "--env", "production", "--db-instance", "db.x1.huge"])
    assert code == 2
    assert "db.t3.micro" in capsys.readouterr().err


def test_a_complete_release_keeps_its_entry_and_drops_router_and_shadow(project, capsys):
    spec = project / "config" / "production.release.yaml"
    spec.write_text(spec.read_text().replace("phase: canary", "phase: complete").replace("    enabled: true\n    schedule:", "    enabled: false\n    schedule:").replace("percent: 1\n", "percent: 100\n"))
    from cutover.ops.names import load

    names = load(project, "production")[0]
    path = names.paths[0]
    # The entry keeps its name (it now runs the candidate's code); flags stay at 100%.
    assert (path.router, path.entrypoint, path.shadow_enabled) == ("huntaze-mock-read", "huntaze-mock-read", False)
    assert names.complete and names.appconfig_application == "huntaze-flags"
    assert all("router-error-rate" not in a for a in names.alarms)
    code, out = _json(project, None, capsys, "cost")
    items = {r["item"]: r["monthly"] for r in out["release"]}
    assert code == 1 and items["candidate Lambda, shadow"] == 0 and items["AppConfig agent polls"] == 0
    assert "router (control) Lambda" not in items and items["candidate Lambda, every request"] > 0


def test_cost_prices_what_the_plan_creates_and_fails_over_the_budget(project, capsys):
    """The X-Ray interface endpoint in the candidate's 2 subnets (AZs) and the KMS key
    come from the plan; with them the example is over its $60 budget (spec cost.budget_usd)."""
    code, out = _json(project, None, capsys, "cost")
    items = {r["item"]: r for r in out["release"]}
    endpoint = items["VPC interface endpoints (xray) in vpc-0a1b2c3d4e5f60000"]
    assert endpoint["monthly"] == pytest.approx(2 * 730 * 0.01) and endpoint["usage"] == "1 x 2 AZ x 730 h"
    assert items["KMS customer managed key"]["monthly"] == 1.0
    assert items["CloudWatch custom metrics (EMF)"]["usage"] == "16 metrics"  # ShadowInconclusive counted
    assert (out["budget"], out["usersEstimate"], out["withinBudget"], code) == (60, 36.53, False, 1)
    assert out["total"] == pytest.approx(69.12, abs=0.01)
    main(["--root", str(project), "cost", "--env", "production"])
    text = capsys.readouterr().out
    assert "budget $60: over by $9.12 (exit 1)" in text and "the team's estimate $36.53" in text
    assert "assumptions" in text and "one trace per sampled request" in text


def test_cost_takes_the_budget_from_the_environment_spec(project, capsys):
    spec = project / "config" / "production.release.yaml"
    spec.write_text(spec.read_text().replace("budget_usd: 60", "budget_usd: 80"))
    code, out = _json(project, None, capsys, "cost")
    assert (code, out["budget"], out["withinBudget"]) == (0, 80, True)
    spec.write_text(spec.read_text().replace("budget_usd: 80", "budget_usd: -3"))
    code = main(["--root", str(project), "cost", "--env", "production"])
    assert code == 2 and "cost.budget_usd" in capsys.readouterr().err


def test_cost_of_staging_says_its_prices_are_us_east_1(project, capsys):
    """staging runs in eu-west-1, checks existing endpoints (nothing created) and has no budget."""
    code, out = _json(project, None, capsys, "cost", "--env", "staging")
    assert (code, out["region"], out["pricesRegion"], out["budget"]) == (0, "eu-west-1", "us-east-1", None)
    assert not any(r["item"].startswith("VPC interface endpoints") for r in out["release"])
    assert out["assumed"]["region"].startswith("staging runs in eu-west-1; these are us-east-1 prices")
    main(["--root", str(project), "cost", "--env", "staging"])
    assert "no budget in the spec (cost.budget_usd)" in capsys.readouterr().out


def test_xray_counts_one_trace_per_request_not_per_invocation(project, capsys):
    """10M requests: the canary (1%) and shadow (10% of the rest) invocations add no trace;
    the canary sampling rule (fixed rate 1) records the canary requests the default left out."""
    _, out = _json(project, None, capsys, "cost", "--requests-per-month", "10000000")
    xray = {r["item"]: r["monthly"] for r in out["release"]}["X-Ray traces"]
    default = cost.SECONDS_PER_MONTH + 0.05 * (10_000_000 - cost.SECONDS_PER_MONTH)
    traces = default + (1 - default / 10_000_000) * 100_000
    assert xray == pytest.approx(traces * 0.000005, abs=1e-4)


def _query_text(project, emulated, capsys, status: str, results: list) -> tuple[int, str]:
    """The text view (Logs Insights through the Stubber: moto has no query results)."""
    logs = emulated.stub("logs")
    logs.add_response("start_query", {"queryId": "q-3"}, {
        "logGroupNames": ANY, "startTime": ANY, "endTime": ANY, "queryString": ANY, "limit": 1000})
    logs.add_response("get_query_results", {"status": status, "results": results}, {"queryId": "q-3"})
    code = main(["--root", str(project), "query", "error-rate", "--env", "production", "--since", "30m"],
                clients=emulated.clients())
    return code, capsys.readouterr().out


def test_query_that_failed_says_so_and_exits_1(project, emulated, capsys):
    code, out = _query_text(project, emulated, capsys, "Failed", [])
    assert code == 1
    assert "query user-read-error-rate ended Failed" in out and "CloudWatch console" in out


def test_query_with_no_rows_says_the_window_was_empty(project, emulated, capsys):
    code, out = _query_text(project, emulated, capsys, "Complete", [])
    assert code == 0
    assert "no rows in the window (the last 30 min" in out
