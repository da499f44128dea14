"""The deploy probe: CodeDeploy's BeforeAllowTraffic hook judges the version it ships.

At a 1% canary the new candidate version sees well under one user request a minute, so
no alarm can judge it while a CodeDeploy deployment runs. The probe
reads through the new version itself before any traffic moves. These tests run the real
hook handler against the functions' local fakes: a fake Lambda Invoke API that runs the
real candidate (or router) handler for each version, and botocore's Stubber for
CodeDeploy, whose ``expected_params`` pin the verdict the hook reports.
"""

from __future__ import annotations

import json
import random
import re
import types
import urllib.parse

import boto3
import pytest
from botocore.stub import Stubber
from cutover_runtime import aws
from cutover_runtime.sequential import FAIL, PASS, ErrorRateTest
from cutover_runtime.telemetry import Identity
from deploy_probe import handler as probe_handler
from deploy_probe.appspec import UnreadableDeployment, shipment
from user_profile.mock import mock_profile

from cutover.ops import codedeploy as ops_codedeploy
from tests.functions.conftest import events, metric_totals

CANDIDATE = "huntaze-prisma-read"
ROUTER = "huntaze-mock-read"
DEPLOYMENT = "d-EXAMPLE123"
HOOK_RUN = "hook-run-1"
USER_IDS = [f"user-{i}" for i in range(1, 41)]
FOREVER = lambda: 10**9  # a Lambda context with time to spare


def broken_for(user_id: str) -> bool:
    """The code change's bug: it breaks the reads of one user in ten (user-10, user-20, ...)."""
    return int(user_id.rsplit("-", 1)[1]) % 10 == 0


class ProfileRows:
    """What the candidate's store returns; the changed code raises for some users."""

    def __init__(self, fails: bool) -> None:
        self.fails = fails

    def profile(self, user_id: str) -> dict:
        if self.fails and broken_for(user_id):
            raise RuntimeError("column items.price is not a number")
        return mock_profile(user_id)


def candidate_version(fails: bool):
    """The real candidate handler over a store with (or without) the change's bug."""
    from candidate.handler import Candidate
    from cutover_runtime.telemetry import Tracer

    reporter = types.SimpleNamespace(identity=Identity("huntaze-prisma-migration", "user-read", "Cutover"))
    return Candidate(ProfileRows(fails), reporter, Tracer.from_env()).handle


def serve(versions: dict[str, object]):
    """The fake Lambda service's answer: run the handler of the version the path names."""
    def answer_at(path: str, payload):
        qualifier = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query).get("Qualifier", [""])[0]
        try:
            body = versions[qualifier](payload)
        except Exception as exc:  # noqa: BLE001 - Lambda reports an unhandled error this way
            return 200, {"X-Amz-Function-Error": "Unhandled"}, json.dumps(
                {"errorMessage": str(exc), "errorType": exc.__class__.__name__}).encode(), 0.0
        return 200, {}, json.dumps(body).encode(), 0.0
    return answer_at


def deployment_info(function: str, current: str, target: str) -> dict:
    """GetDeployment's answer for a deployment `cutover deploy` created (its AppSpec)."""
    content = ops_codedeploy.appspec(function, "live", current, target)
    return {"deploymentInfo": {
        "deploymentId": DEPLOYMENT, "applicationName": "huntaze-prisma-migration-production",
        "deploymentGroupName": function, "computePlatform": "Lambda", "status": "InProgress",
        "revision": ops_codedeploy.revision(content)}}


@pytest.fixture
def probe_env(aws_env, lambda_service):
    aws_env.setenv("AWS_ENDPOINT_URL_LAMBDA", lambda_service.url)
    aws_env.setenv("CUTOVER_PROBE_TARGETS", json.dumps({CANDIDATE: 1500, ROUTER: 10000}))
    aws_env.setenv("CUTOVER_PROBE_USER_IDS", json.dumps(USER_IDS))
    aws_env.setenv("CUTOVER_PROBE_MAX_READS", "600")
    aws_env.setenv("CUTOVER_PROBE_ERROR_RATE_PCT", "2")
    aws_env.setenv("CUTOVER_PROBE_CONFIDENCE", "0.95")
    aws.reset()
    yield aws_env
    aws.reset()


def run_hook(info: dict | None, status: str, remaining=FOREVER):
    """The real hook over a Stubber'd CodeDeploy: GetDeployment, then the verdict."""
    client = boto3.client("codedeploy", region_name="us-east-1")
    with Stubber(client) as stub:
        if info is not None:
            stub.add_response("get_deployment", info, {"deploymentId": DEPLOYMENT})
        stub.add_response("put_lifecycle_event_hook_execution_status",
                          {"lifecycleEventHookExecutionId": HOOK_RUN},
                          {"deploymentId": DEPLOYMENT, "lifecycleEventHookExecutionId": HOOK_RUN,
                           "status": status})
        probe = probe_handler.Probe(probe_handler.ProbeSettings.from_env(), Identity.from_env(), client,
                                    lambda timeout_ms: probe_handler._client("lambda", timeout_ms))
        result = probe.handle({"DeploymentId": DEPLOYMENT, "LifecycleEventHookExecutionId": HOOK_RUN},
                              remaining)
        stub.assert_no_pending_responses()
    return result


def invoked_qualifiers(lambda_service) -> set[str]:
    return {re.search(r"Qualifier=([^&]+)", c["path"]).group(1) for c in lambda_service.calls}


def test_a_candidate_change_failing_one_read_in_ten_is_stopped_before_any_traffic_moves(
        probe_env, lambda_service, capsys):
    # GIVEN version 7 serves the alias and version 8 breaks the reads of one user in ten
    assert sum(map(broken_for, USER_IDS)) == len(USER_IDS) // 10  # 10% of the probe's reads meet the bug
    lambda_service.answer_at = serve({"7": candidate_version(fails=False), "8": candidate_version(fails=True)})
    # WHEN CodeDeploy runs the BeforeAllowTraffic hook of the deployment of 8
    result = run_hook(deployment_info(CANDIDATE, "7", "8"), status="Failed")
    # THEN the hook reports Failed (the Stubber holds it to that), having read only version 8
    assert result["verdict"] == FAIL and result["status"] == "Failed"
    assert invoked_qualifiers(lambda_service) == {"8"}
    assert result["errors"] >= 3 and result["reads"] < 100
    assert result["problems"][0] == "function error: Unhandled"
    out = capsys.readouterr().out
    (line,) = events(out, "PROBE-FAILED")
    assert line["function"] == CANDIDATE and line["version"] == "8" and line["level"] == "WARN"
    # AND the stopped version's failed reads count in none of the candidate's canary metrics:
    # they must not move the rollback alarms of the version users are served by
    assert {"CanaryReads", "CanaryReadErrors"}.isdisjoint(metric_totals(out))


def test_a_healthy_candidate_version_passes_after_the_reads_the_test_needs(probe_env, lambda_service, capsys):
    lambda_service.answer_at = serve({"8": candidate_version(fails=False)})
    result = run_hook(deployment_info(CANDIDATE, "7", "8"), status="Succeeded")
    assert result["verdict"] == PASS and result["errors"] == 0
    assert result["reads"] == ErrorRateTest.against_limit(2, 0.95).reads_to_pass() == 194
    assert invoked_qualifiers(lambda_service) == {"8"}
    assert len(events(capsys.readouterr().out, "PROBE-PASSED")) == 1


def test_a_router_version_is_judged_the_same_way(probe_env, router_env, lambda_service):
    # the real router handler (canary 0, shadow off) answers every user from the control
    lambda_service.answer_at = serve({"12": lambda payload: router_env.lambda_handler(payload, None)})
    result = run_hook(deployment_info(ROUTER, "11", "12"), status="Succeeded")
    assert result["verdict"] == PASS and result["reads"] == 194


def test_answers_that_break_the_read_model_fail_the_version(probe_env, lambda_service):
    def extra_field(payload):
        return {**mock_profile(payload["userId"]), "debug": True}

    lambda_service.answer_at = serve({"8": extra_field})
    result = run_hook(deployment_info(CANDIDATE, "7", "8"), status="Failed")
    assert result["errors"] == result["reads"] and result["problems"][0].startswith("answer breaks the read model")


def test_without_user_ids_a_not_found_is_an_answer_but_a_crash_is_not(probe_env, lambda_service):
    probe_env.setenv("CUTOVER_PROBE_USER_IDS", "[]")
    lambda_service.answer_at = serve({"8": lambda payload: {"error": "not found"}})
    result = run_hook(deployment_info(CANDIDATE, "7", "8"), status="Succeeded")
    assert result["verdict"] == PASS
    assert {c["payload"]["userId"] for c in lambda_service.calls} == {f"cutover-probe-{n}" for n in range(194)}


@pytest.mark.parametrize(("info", "reason"), [
    (deployment_info("someone-elses-function", "1", "2"), "someone-elses-function is not a function this probe judges"),
    ({"deploymentInfo": {"deploymentId": DEPLOYMENT, "revision": {
        "revisionType": "AppSpecContent", "appSpecContent": {"content": "version: 0.0\n"}}}},
     "the AppSpec content is not JSON"),
])
def test_what_the_probe_cannot_judge_fails_without_reading(probe_env, lambda_service, info, reason):
    result = run_hook(info, status="Failed")
    assert result["reason"] == reason and lambda_service.calls == []


def test_no_decision_within_the_invocations_time_fails(probe_env, lambda_service):
    lambda_service.answer_at = serve({"8": candidate_version(fails=False)})
    budget = iter([60_000] * 20 + [0])  # what the Lambda context says is left, read by read
    result = run_hook(deployment_info(CANDIDATE, "7", "8"), status="Failed", remaining=lambda: next(budget))
    assert result["verdict"] == "UNDECIDED" and result["reads"] == 20


def test_an_appspec_must_name_one_lambda_function_and_its_target():
    content = json.dumps({"version": 0.0, "Resources": [{"f": {"Type": "AWS::Lambda::Function",
                                                                "Properties": {"Name": "f", "Alias": "live"}}}]})
    with pytest.raises(UnreadableDeployment, match="TargetVersion"):
        shipment({"revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": content}}})


# -- the sequential test itself -----------------------------------------------------------

def test_the_boundaries_are_wald_s():
    t = ErrorRateTest.against_limit(2, 0.95)
    assert (t.p0, t.p1, t.alpha, t.beta) == pytest.approx((0.005, 0.02, 0.05, 0.05))
    assert t.upper == pytest.approx(2.944, abs=1e-3) and t.lower == pytest.approx(-2.944, abs=1e-3)
    assert t.decide(193, 0) is None and t.decide(194, 0) == PASS
    assert t.decide(3, 3) == FAIL and t.decide(2, 2) is None


@pytest.mark.parametrize(("rate", "verdict", "at_least"), [(0.10, FAIL, 0.95), (0.001, PASS, 0.95)])
def test_error_chances_hold_over_200_seeded_versions(rate, verdict, at_least):
    # seeds 0..199: a version failing `rate` of its reads, truncated at 600 reads like the probe
    t = ErrorRateTest.against_limit(2, 0.95)
    right = 0
    for seed in range(200):
        rng, reads, errors, decided = random.Random(seed), 0, 0, None
        while decided is None and reads < 600:
            reads += 1
            errors += rng.random() < rate
            decided = t.decide(reads, errors)
        right += decided == verdict
    assert right / 200 >= at_least
