"""`cutover preflight`: every check passes on a healthy release, and each fails on purpose.

Lambda, CloudWatch, Logs, SQS, EC2, IAM and CodeDeploy are moto's; AppConfig
(environments), AppConfig data and X-Ray are stubbed with their expected parameters:
the checks pin what they send (the data-plane session preflight opens with the router's
identifiers and minimum poll interval, the environment whose monitors it reads, the trace
filter), and the environment's monitors are not modelled by AppConfig's shared fake.
"""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY

from cutover.cli import main
from cutover.ops import preflight
from tests.ops.conftest import APP, ENV_ID, REGION, expect_resolve, flags_with
from tests.support.example import mock_profile

CHECK_IDS = [c[0] for c in preflight.CHECKS]


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def lambda_handler(event, context):\n    return event\n")
    return buf.getvalue()


def _policy(resource: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["cloudwatch:DescribeAlarms"], "Resource": resource}]})


TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                           "Principal": {"Service": "lambda.amazonaws.com"}}]})


def build_world(em, names, broken: str | None) -> None:
    """The production release as `make apply` leaves it, with one thing broken on purpose."""
    path = names.paths[0]
    iam, lam, logs, sqs, ec2, cw, cd = (em.client(s) for s in ("iam", "lambda", "logs", "sqs", "ec2", "cloudwatch", "codedeploy"))
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    layer = lam.publish_layer_version(LayerName="AWS-AppConfig-Extension-Arm64", Content={"ZipFile": _zip()})["LayerVersionArn"]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    if broken != "candidate-vpc-routes":
        for service in ("dynamodb", "xray"):
            ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.{service}",
                                    VpcEndpointType="Gateway" if service == "dynamodb" else "Interface",
                                    RouteTableIds=[table] if service == "dynamodb" else [],
                                    SubnetIds=[] if service == "dynamodb" else [subnet])
    sg = ec2.create_security_group(GroupName="candidate", Description="candidate", VpcId=vpc)["GroupId"]
    dlq_arns = {}
    for fn in (path.router, path.candidate):
        dlq = sqs.create_queue(QueueName=f"{fn}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        dlq_arns[fn] = dlq_arn
        extra = {}
        if fn == path.candidate:
            extra["VpcConfig"] = {"SubnetIds": [subnet], "SecurityGroupIds": [sg]}
        if fn == path.router and broken != "agent-layer":
            extra["Layers"] = [layer]
        mode = "PassThrough" if (broken == "tracing-active" and fn == path.candidate) else "Active"
        if broken == "candidate-exists" and fn == path.candidate:
            continue
        lam.create_function(FunctionName=fn, Runtime="python3.12", Role=role, Handler="handler.lambda_handler",
                            Code={"ZipFile": _zip()}, TracingConfig={"Mode": mode},
                            DeadLetterConfig={"TargetArn": dlq_arn}, **extra)
        lam.publish_version(FunctionName=fn)
        if not (broken == "alias-exists" and fn == path.candidate):
            lam.create_alias(FunctionName=fn, Name=path.alias, FunctionVersion="1")
        logs.create_log_group(logGroupName=path.log_group(fn))
        if broken == "dlq-empty" and fn == path.candidate:
            sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"cutover": "shadow"}))
    if broken != "candidate-exists":
        lam.put_function_event_invoke_config(
            FunctionName=path.candidate, Qualifier=path.alias, MaximumRetryAttempts=2 if broken == "shadow-retries" else 0,
            DestinationConfig={"OnFailure": {"Destination": dlq_arns[path.candidate]}})
    if broken != "annotations":
        logs.create_log_stream(logGroupName=path.log_group(path.router), logStreamName="s")
        import time
        logs.put_log_events(logGroupName=path.log_group(path.router), logStreamName="s", logEvents=[{
            "timestamp": int(time.time() * 1000), "message": json.dumps({
                "event": "REQUEST", "servedBy": "control", "canary": 0, "userHash": "ab12", "release": names.release})}])
    alarms = [a for a in names.alarms[1:] if not (broken == "error-rate-alarm" and a == names.alarms[-1])]
    for alarm in alarms:
        cw.put_metric_alarm(AlarmName=alarm, MetricName="Errors", Namespace="Cutover", Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    cw.put_composite_alarm(AlarmName=names.rollback_alarm, AlarmRule=" OR ".join(f'ALARM("{a}")' for a in alarms))
    if broken == "rollback-alarm-ok":
        cw.set_alarm_state(AlarmName=names.rollback_alarm, StateValue="ALARM", StateReason="test")
    if broken != "dashboard":
        cw.put_dashboard(DashboardName=names.dashboard, DashboardBody=json.dumps({"widgets": []}))
    cd_role = iam.create_role(RoleName="codedeploy", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    scope = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:x" if broken == "roles-read-composite" else "*"
    iam.put_role_policy(RoleName="codedeploy", PolicyName="alarms", PolicyDocument=_policy(scope))
    if names.guard_function:  # the guard reads the composite too (DescribeAlarms on *)
        guard_role = iam.create_role(RoleName="guard", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        iam.put_role_policy(RoleName="guard", PolicyName="alarms", PolicyDocument=_policy("*"))
        lam.create_function(FunctionName=names.guard_function, Runtime="python3.12", Role=guard_role,
                            Handler="guard.handler.lambda_handler", Code={"ZipFile": _zip()})
    if broken != "codedeploy-application":
        cd.create_application(applicationName=names.codedeploy_application, computePlatform="Lambda")
        for group in names.deployment_groups:
            cd.create_deployment_group(applicationName=names.codedeploy_application, deploymentGroupName=group,
                                       serviceRoleArn=cd_role)
    answer = mock_profile(preflight.PREFLIGHT_USER)
    if broken == "response-contract":
        answer = {"userId": 7}
    elif broken == "router-answers":
        answer = {"statusCode": 502, "body": json.dumps({"error": "backend unavailable"})}
    em.lambda_answers(answer)
    _stubs(em, names, broken)


def _stream(doc: dict) -> StreamingBody:
    raw = json.dumps(doc).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def _stubs(em, names, broken) -> None:
    xray = em.stub("xray")
    xray.add_response("get_trace_summaries", {"TraceSummaries": []}, {
        "StartTime": ANY, "EndTime": ANY, "Sampling": False,
        "FilterExpression": 'annotation.release = "huntaze-prisma-migration" AND annotation.path = "user-read"'})
    data = em.stub("appconfigdata")
    data.add_response("start_configuration_session", {"InitialConfigurationToken": "tok"}, {
        "ApplicationIdentifier": "huntaze-flags", "EnvironmentIdentifier": "production",
        "ConfigurationProfileIdentifier": "feature-flags", "RequiredMinimumPollIntervalInSeconds": 15})
    evaluated = flags_with(names, 5 if broken == "canary-percent" else 1)["values"]
    if broken == "flags-retrievable":
        evaluated.pop(names.paths[0].shadow_flag)
    data.add_response("get_latest_configuration", {"Configuration": _stream(evaluated), "ContentType": "application/json",
                                                   "NextPollConfigurationToken": "tok2"}, {"ConfigurationToken": "tok"})
    ac = em.stub("appconfig")
    if broken == "appconfig-application":
        ac.add_response("list_applications", {"Items": []}, {})
        return
    expect_resolve(ac, names)
    # No monitor (the guard is the only automatic flag rollback); "appconfig-monitor" adds one.
    monitors = [{"AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:r",
                 "AlarmRoleArn": "arn:aws:iam::123456789012:role/monitor"}] if broken == "appconfig-monitor" else []
    ac.add_response("get_environment", {"ApplicationId": APP, "Id": ENV_ID, "Name": "production", "State": "READY_FOR_DEPLOYMENT",
                                        "Monitors": monitors},
                    {"ApplicationId": APP, "EnvironmentId": ENV_ID})


def _preflight(project, em, capsys) -> tuple[int, dict[str, dict]]:
    code = main(["--root", str(project), "preflight", "--env", "production", "--json"], clients=em.clients())
    out = json.loads(capsys.readouterr().out)
    return code, {c["id"]: c for c in out["checks"]}


def test_an_unknown_check_is_refused_not_passed_by_running_nothing(project, emulated, capsys):
    code = main(["--root", str(project), "preflight", "--env", "production", "--check", "dashbord"],
                clients=emulated.clients())
    err = capsys.readouterr().err
    assert code == 2
    assert "no preflight check 'dashbord'; allowed: " in err and "dashboard" in err


def test_every_check_passes_on_a_healthy_release(project, emulated, names, capsys):
    build_world(emulated, names, None)
    code, checks = _preflight(project, emulated, capsys)
    assert {k: c["detail"] for k, c in checks.items() if not c["ok"]} == {}
    assert code == 0
    assert list(checks) == CHECK_IDS and len(CHECK_IDS) == 18


@pytest.mark.parametrize("broken", CHECK_IDS)
def test_each_check_fails_on_purpose(project, emulated, names, capsys, broken):
    build_world(emulated, names, broken)
    code, checks = _preflight(project, emulated, capsys)
    assert code == 1
    assert checks[broken]["ok"] is False, checks[broken]
    assert checks[broken]["fix"]
    for check in checks.values():  # sentences, not "while trying to alias exists" or "OpsError: ..."
        assert "while trying to" not in check["detail"] and not re.match(r"\w+(Error|Exception): ", check["detail"])
    emulated.stubs.clear()  # a broken world stops some checks before their stubbed calls


def test_an_appconfig_monitor_fails_the_composite_check(project, emulated, names, capsys):
    # A monitor would roll the guard's canary-off back to the previous, canary-on version
    build_world(emulated, names, "appconfig-monitor")
    code, checks = _preflight(project, emulated, capsys)
    assert code == 1
    assert {k for k, c in checks.items() if not c["ok"]} == {"roles-read-composite"}
    assert "monitor" in checks["roles-read-composite"]["detail"]
    emulated.stubs.clear()


def test_the_guard_must_read_the_composite(project, emulated, names, capsys):
    build_world(emulated, names, None)
    emulated.client("iam").put_role_policy(RoleName="guard", PolicyName="alarms", PolicyDocument=_policy(
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:x"))
    code, checks = _preflight(project, emulated, capsys)
    assert code == 1
    assert "guard" in checks["roles-read-composite"]["detail"]


def test_table_for_people(project, emulated, names, capsys):
    build_world(emulated, names, "dashboard")
    code = main(["--root", str(project), "preflight", "--env", "production"], clients=emulated.clients())
    out = capsys.readouterr().out
    assert code == 1
    assert "dashboard exists" in out and "FAIL" in out and "17/18 passed" in out


def _only(project, em, env: str, check: str):
    from cutover.ops.context import Context
    from cutover.ops.names import load

    names_, spec, plan = load(project, env)
    [result] = preflight.run(Context(project, names_, spec, em.clients(), plan), [check]).data["checks"]
    return result


def test_every_read_path_is_checked(project, emulated, capsys):
    """preview has two read paths: the second one's missing alias fails the check (moto)."""
    from cutover.ops.names import load
    from tests.ops.conftest import build_release

    names_ = load(project, "preview")[0]
    build_release(emulated, names_)
    assert _only(project, emulated, "preview", "alias-exists")["ok"] is True
    feed = names_.paths[1]
    emulated.client("lambda").delete_alias(FunctionName=feed.candidate, Name=feed.alias)
    check = _only(project, emulated, "preview", "alias-exists")
    assert check["ok"] is False
    assert check["detail"].startswith("user-read: live on ") and "; feed-read: not found: GetAlias answered" in check["detail"]


def test_the_fix_follows_the_cause(project, release, names):
    """A missing alias (moto) is fixed by applying; a refused call (the Stubber: moto
    grants everything) by a permission; a wrong value by the check's own fix."""
    path = names.paths[0]
    release.client("lambda").put_function_event_invoke_config(
        FunctionName=path.candidate, Qualifier=path.alias, MaximumRetryAttempts=2)
    wrong = _only(project, release, "production", "shadow-retries")
    assert wrong["ok"] is False and wrong["fix"] == "make apply (the shadow module sets 0)"
    release.client("lambda").delete_alias(FunctionName=path.candidate, Name=path.alias)
    missing = _only(project, release, "production", "alias-exists")
    assert missing["detail"].startswith("not found: GetAlias answered ResourceNotFoundException")
    assert "make apply" in missing["fix"]
    stub = release.stub("lambda")
    stub.add_client_error("get_alias", "AccessDeniedException", "not allowed to lambda:GetAlias")
    denied = _only(project, release, "production", "alias-exists")
    assert denied["detail"] == ("permission missing: AWS refused GetAlias (AccessDeniedException): "
                                "not allowed to lambda:GetAlias")
    assert denied["fix"].startswith("grant the role you run cutover with the permission for GetAlias")
    assert len({missing["fix"], wrong["fix"], denied["fix"]}) == 3


def test_no_dead_letter_queue_configured_is_skipped_not_failed(project, release, names, capsys):
    path = names.paths[0]  # shadow events without an on-failure destination; moto has no DeadLetterConfig
    release.client("lambda").put_function_event_invoke_config(
        FunctionName=path.candidate, Qualifier=path.alias, MaximumRetryAttempts=0)
    check = _only(project, release, "production", "dlq-empty")
    assert (check["ok"], check["detail"][:15]) == (None, "not configured:")
    code = main(["--root", str(project), "preflight", "--env", "production", "--check", "dlq-empty"],
                clients=release.clients())
    assert code == 0 and "0/1 passed, 1 skipped" in capsys.readouterr().out


def test_messages_in_a_dead_letter_queue_say_how_to_read_and_purge_them(project, emulated, names, capsys):
    build_world(emulated, names, "dlq-empty")
    code, checks = _preflight(project, emulated, capsys)
    check = checks["dlq-empty"]
    assert code == 1 and check["detail"] == "messages waiting: huntaze-prisma-read-dlq 1"
    url = emulated.client("sqs").get_queue_url(QueueName="huntaze-prisma-read-dlq")["QueueUrl"]
    assert f"aws sqs receive-message --region us-east-1 --queue-url {url}" in check["fix"]
    assert f"aws sqs purge-queue --region us-east-1 --queue-url {url}" in check["fix"]
    emulated.stubs.clear()
