"""`cutover preflight`: the readiness checks before a beta.

The twelve our users run today (test-beta-ready.sh), then what we know matters on
AWS. Each check answers on its own: a refusal or a missing resource fails that check
(with the reason) and the others still run. Exit 1 when any check fails.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.exceptions
from rich.console import Console

from cutover.generator.spec.comparison_paths import ReadModel, read_model_file
from cutover.ops import appconfig
from cutover.ops.aws import DENIED, MISSING, OpsError, describe, error_code, paginate
from cutover.ops.context import Context
from cutover.ops.output import FAILED, OK, Result, mark, table

PREFLIGHT_USER = "cutover-preflight"
APPCONFIG_AGENT_LAYER = "AWS-AppConfig-Extension"


@dataclass
class Check:
    id: str
    title: str
    ok: bool
    detail: str
    fix: str = ""


class Probe:
    """What several checks share (one invocation, one flag read), fetched once."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.names = ctx.names
        self.path = ctx.names.paths[0]
        self._cache: dict[str, Any] = {}

    def once(self, key: str, fetch: Callable[[], Any]) -> Any:
        if key not in self._cache:
            try:
                self._cache[key] = fetch()
            except Exception as exc:  # noqa: BLE001 - stored, re-raised to every check that needs it
                self._cache[key] = exc
        value = self._cache[key]
        if isinstance(value, Exception):
            raise value
        return value

    def function(self, name: str) -> dict[str, Any]:
        return self.once(f"fn:{name}", lambda: self.ctx.clients("lambda").get_function_configuration(
            FunctionName=name, Qualifier=self.path.alias))

    def invoke(self) -> Any:
        def call() -> Any:
            answer = self.ctx.clients("lambda").invoke(
                FunctionName=self.path.entrypoint, Qualifier=self.path.alias,
                Payload=json.dumps({self.path.sticky_key: PREFLIGHT_USER}).encode(), LogType="None")
            payload = answer["Payload"].read()
            if answer.get("FunctionError"):
                raise RuntimeError(f"{self.path.entrypoint}:{self.path.alias} failed with a function error "
                                   f"({answer['FunctionError']}): {payload[:200].decode(errors='replace')}")
            return json.loads(payload)
        return self.once(f"invoke:{self.path.name}", call)

    def read_model(self) -> ReadModel:
        """The JSON Schema read model of the probed read path (its spec's ``read_model``)."""
        spec_path = next(p for p in self.ctx.spec.read_paths if p.name == self.path.name)
        return ReadModel.load(read_model_file(spec_path.read_model, self.ctx.spec_path.parent))

    def ids(self) -> appconfig.Ids:
        return self.once("ids", lambda: appconfig.resolve(self.ctx.clients("appconfig"), self.names))

    def flags(self) -> dict[str, Any]:
        def read() -> dict[str, Any]:
            data = self.ctx.clients("appconfigdata")
            token = data.start_configuration_session(
                ApplicationIdentifier=self.names.appconfig_application,
                EnvironmentIdentifier=self.names.appconfig_environment,
                ConfigurationProfileIdentifier=self.names.appconfig_profile,
                RequiredMinimumPollIntervalInSeconds=15)["InitialConfigurationToken"]
            return json.loads(data.get_latest_configuration(ConfigurationToken=token)["Configuration"].read())
        return self.once("flags", read)

    def alarms(self) -> dict[str, str]:
        def read() -> dict[str, str]:
            answer = self.ctx.clients("cloudwatch").describe_alarms(
                AlarmNames=list(self.names.alarms), AlarmTypes=["CompositeAlarm", "MetricAlarm"])
            return {a["AlarmName"]: a["StateValue"]
                    for a in answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", [])}
        return self.once("alarms", read)


def _body(answer: Any) -> Any:
    """The profile, whether the router answered directly or in the HTTP API proxy shape."""
    if isinstance(answer, dict) and "statusCode" in answer and "body" in answer:
        if answer["statusCode"] != 200:
            raise ValueError(f"the entry point answered HTTP {answer['statusCode']}, not 200")
        body = answer["body"]
        if answer.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        return json.loads(body) if isinstance(body, str) else body
    return answer


# --- the twelve checks of test-beta-ready.sh -------------------------------------------


def router_answers(pr: Probe) -> tuple[bool, str]:
    answer = pr.invoke()
    status = answer.get("statusCode") if isinstance(answer, dict) else None
    if isinstance(status, int) and status >= 500:
        return False, f"{pr.path.entrypoint}:{pr.path.alias} answered HTTP {status}: {str(answer.get('body'))[:80]}"
    return True, f"{pr.path.entrypoint}:{pr.path.alias} answered for {PREFLIGHT_USER}: {str(answer)[:80]}"


def annotations_present(pr: Probe) -> tuple[bool, str]:
    now = time.time()
    if pr.names.xray_group is not None or pr.ctx.spec.observability.tracing.mode == "Active":
        traces = pr.ctx.clients("xray").get_trace_summaries(
            StartTime=now - 3600, EndTime=now, Sampling=False,
            FilterExpression=f'annotation.release = "{pr.names.release}" AND annotation.path = "{pr.path.name}"'
        ).get("TraceSummaries", [])
        if traces:
            return True, f"{len(traces)} trace(s) in the last hour carry the release and path annotations"
    group = pr.path.log_group(pr.path.entrypoint)
    events = pr.ctx.clients("logs").filter_log_events(
        logGroupName=group, startTime=int((now - 3600) * 1000), filterPattern='"REQUEST"', limit=50).get("events", [])
    wanted = {"servedBy", "canary", "userHash"}
    for e in events:
        try:
            line = json.loads(e["message"])
        except ValueError:
            continue
        if line.get("event") == "REQUEST" and wanted <= set(line):
            return True, f"REQUEST log lines in {group} carry {', '.join(sorted(wanted))} (no traces in the last hour)"
    return False, f"no annotated trace and no REQUEST log line with {', '.join(sorted(wanted))} in {group} in the last hour"


def flags_retrievable(pr: Probe) -> tuple[bool, str]:
    flags = pr.flags()
    missing = [k for p in pr.names.paths for k in (p.canary_flag, p.shadow_flag) if k not in flags]
    return not missing, f"missing flag(s): {', '.join(missing)}" if missing else f"flags {', '.join(sorted(flags))}"


def error_rate_alarm(pr: Probe) -> tuple[bool, str]:
    have = pr.alarms()
    missing = [a for a in pr.names.alarms if a not in have]
    return not missing, f"missing: {', '.join(missing)}" if missing else f"{len(have)} alarms incl. {pr.names.rollback_alarm}"


def alias_exists(pr: Probe) -> tuple[bool, str]:
    for fn in filter(None, (pr.path.router, pr.path.candidate)):
        pr.ctx.clients("lambda").get_alias(FunctionName=fn, Name=pr.path.alias)
    return True, f"{pr.path.alias} on {', '.join(filter(None, (pr.path.router, pr.path.candidate)))}"


def appconfig_application(pr: Probe) -> tuple[bool, str]:
    ids = pr.ids()
    return True, f"{pr.names.appconfig_application} ({ids.application}), environment {ids.environment}"


def dashboard_exists(pr: Probe) -> tuple[bool, str]:
    pr.ctx.clients("cloudwatch").get_dashboard(DashboardName=pr.names.dashboard)
    return True, pr.names.dashboard


def tracing_active(pr: Probe) -> tuple[bool, str]:
    want = pr.ctx.spec.observability.tracing.mode
    modes = {fn: pr.function(fn).get("TracingConfig", {}).get("Mode") for fn in filter(None, (pr.path.router, pr.path.candidate))}
    bad = {fn: m for fn, m in modes.items() if m != want}
    return not bad, f"tracing {modes} (spec: {want})"


def candidate_exists(pr: Probe) -> tuple[bool, str]:
    cfg = pr.function(pr.path.candidate)
    return True, f"{pr.path.candidate} version {cfg.get('Version')} ({cfg.get('Runtime')})"


def codedeploy_application(pr: Probe) -> tuple[bool, str]:
    pr.ctx.clients("codedeploy").get_application(applicationName=pr.names.codedeploy_application)
    return True, pr.names.codedeploy_application


def canary_percent(pr: Probe) -> tuple[bool, str]:
    flags = pr.flags()
    live = {p.name: (float(flags.get(p.canary_flag, {}).get("percent", 0)) if flags.get(p.canary_flag, {}).get("enabled") else 0.0)
            for p in pr.names.paths}
    want = {p.name: p.canary_percent for p in pr.names.paths}
    return live == want, f"live {live}, spec {want}"


def response_contract(pr: Probe) -> tuple[bool, str]:
    body = _body(pr.invoke())
    model = pr.read_model()
    broken = model.violations(body)
    if broken:
        return False, f"the answer breaks the read model ({model.name}): {broken[0]}"
    return True, f"the answer follows the read model ({model.name})"


# --- what we know matters on AWS ----------------------------------------------------


def shadow_retries_zero(pr: Probe) -> tuple[bool, str]:
    if not pr.path.shadow_enabled:
        return True, "shadow is off"
    cfg = pr.ctx.clients("lambda").get_function_event_invoke_config(
        FunctionName=pr.path.candidate, Qualifier=pr.path.alias)
    retries = cfg.get("MaximumRetryAttempts")
    return retries == 0, f"MaximumRetryAttempts={retries} on {pr.path.candidate}:{pr.path.alias} (a retried shadow event is compared twice)"


def rollback_alarm_ok(pr: Probe) -> tuple[bool, str]:
    state = pr.alarms().get(pr.names.rollback_alarm, "MISSING")
    return state != "ALARM" and state != "MISSING", f"{pr.names.rollback_alarm} is {state}"


def _queue(pr: Probe, arn: str) -> tuple[str, int]:
    """(queue URL, messages waiting)."""
    sqs = pr.ctx.clients("sqs")
    _, _, _, _, account, name = arn.split(":", 5)
    url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return url, int(attrs["ApproximateNumberOfMessages"])


def _live_dlqs(pr: Probe) -> set[str]:
    """The SQS queues the path's functions and its shadow events fail to."""
    arns = set()
    for fn in filter(None, (pr.path.router, pr.path.candidate)):
        arns.add((pr.function(fn).get("DeadLetterConfig") or {}).get("TargetArn"))
    if pr.path.shadow_enabled:
        cfg = pr.ctx.clients("lambda").get_function_event_invoke_config(
            FunctionName=pr.path.candidate, Qualifier=pr.path.alias)
        arns.add(((cfg.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination"))
    return {a for a in arns if a and ":sqs:" in a}


def dlq_empty(pr: Probe) -> tuple[bool | None, str] | tuple[bool, str, str]:
    """The functions' dead-letter queues and the shadow events' on-failure destination."""
    arns = _live_dlqs(pr)
    if not arns:
        return None, ("not configured: no SQS dead-letter queue on the router or the candidate, "
                      "and no on-failure destination for shadow events")
    queues = {arn.rsplit(":", 1)[1]: _queue(pr, arn) for arn in sorted(arns)}
    waiting = {name: (url, n) for name, (url, n) in queues.items() if n}
    if not waiting:
        return True, f"no message in {', '.join(queues)}"
    region = pr.names.region
    url = next(iter(waiting.values()))[0]
    return False, "messages waiting: " + ", ".join(f"{name} {n}" for name, (_, n) in waiting.items()), (
        f"read one (it stays in the queue): aws sqs receive-message --region {region} --queue-url {url} "
        "--max-number-of-messages 1 --visibility-timeout 0 --attribute-names All; once understood, "
        f"purge: aws sqs purge-queue --region {region} --queue-url {url}")


def agent_layer(pr: Probe) -> tuple[bool, str]:
    if pr.names.complete:
        return True, "complete: the entry runs the candidate's code, which reads no flags"
    layers = [layer["Arn"] for layer in pr.function(pr.path.router).get("Layers", [])]
    found = [arn for arn in layers if APPCONFIG_AGENT_LAYER in arn]
    return bool(found), f"{found[0]}" if found else f"no {APPCONFIG_AGENT_LAYER} layer among {layers}"


def _route_tables(ec2: Any, vpc: str, subnets: list[str]) -> list[dict[str, Any]]:
    tables = paginate(ec2, "describe_route_tables", "RouteTables",
                      Filters=[{"Name": "association.subnet-id", "Values": subnets}])
    covered = {a.get("SubnetId") for t in tables for a in t.get("Associations", [])}
    if set(subnets) - covered:  # subnets without their own table use the VPC's main one
        tables += paginate(ec2, "describe_route_tables", "RouteTables",
                           Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "association.main", "Values": ["true"]}])
    return tables


def candidate_vpc_routes(pr: Probe) -> tuple[bool, str]:
    subnets = (pr.function(pr.path.candidate).get("VpcConfig") or {}).get("SubnetIds") or []
    if not subnets:
        return True, "the candidate is not in a VPC"
    ec2 = pr.ctx.clients("ec2")
    vpc = ec2.describe_subnets(SubnetIds=subnets)["Subnets"][0]["VpcId"]
    routes = [r for t in _route_tables(ec2, vpc, subnets) for r in t.get("Routes", [])]
    default = any(r.get("DestinationCidrBlock") == "0.0.0.0/0" and (r.get("NatGatewayId") or r.get("GatewayId", "").startswith("igw-"))
                  for r in routes)
    endpoints = {e["ServiceName"].rsplit(".", 1)[-1] for e in paginate(
        ec2, "describe_vpc_endpoints", "VpcEndpoints", Filters=[{"Name": "vpc-id", "Values": [vpc]}])
        if e.get("State", "available").lower() in ("available", "pending")}
    needs = ["dynamodb", "xray"] if pr.path.shadow_enabled else ["xray"]
    missing = [] if default else [s for s in needs if s not in endpoints]
    how = "a 0.0.0.0/0 route through a NAT or internet gateway" if default else f"endpoints {sorted(endpoints)}"
    return not missing, f"{vpc}: {how}" + (f"; no route to {', '.join(missing)}" if missing else "")


def _allows_describe_alarms(document: dict[str, Any]) -> bool:
    statements = document.get("Statement", [])
    for s in statements if isinstance(statements, list) else [statements]:
        actions = s.get("Action", [])
        resources = s.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if s.get("Effect") == "Allow" and "*" in resources and any(
                fnmatch.fnmatchcase("cloudwatch:describealarms", a.lower()) for a in actions):
            return True
    return False


def _role_reads_alarms(iam: Any, role_arn: str) -> bool:
    role = role_arn.rsplit("/", 1)[-1]
    for name in paginate(iam, "list_role_policies", "PolicyNames", RoleName=role):
        doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        if _allows_describe_alarms(json.loads(doc) if isinstance(doc, str) else doc):
            return True
    for attached in paginate(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=role):
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        doc = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])
        body = doc["PolicyVersion"]["Document"]
        if _allows_describe_alarms(json.loads(body) if isinstance(body, str) else body):
            return True
    return False


def roles_read_composite(pr: Probe) -> tuple[bool, str]:
    """CodeDeploy's role and the guard's role need cloudwatch:DescribeAlarms on "*" to
    see a composite alarm (docs/aws-rules.md). The AppConfig environment must have no
    monitor: one would roll the guard's canary-off back to the previous, canary-on
    version (docs/functions.md, "Guard")."""
    roles: dict[str, str] = {}
    group = next(iter(pr.names.deployment_groups))
    info = pr.ctx.clients("codedeploy").get_deployment_group(
        applicationName=pr.names.codedeploy_application, deploymentGroupName=group)["deploymentGroupInfo"]
    roles[f"CodeDeploy {group}"] = info["serviceRoleArn"]
    if pr.names.appconfig_application:
        ids = pr.ids()
        env = pr.ctx.clients("appconfig").get_environment(ApplicationId=ids.application, EnvironmentId=ids.environment)
        if env.get("Monitors"):
            return False, (f"the AppConfig environment {pr.names.appconfig_environment} has "
                           f"{len(env['Monitors'])} alarm monitor(s): AppConfig would roll the guard's "
                           "canary-off back to the previous version; remove them (the guard is the "
                           "only automatic flag rollback)")
    if pr.names.guard_function:
        config = pr.ctx.clients("lambda").get_function_configuration(FunctionName=pr.names.guard_function)
        roles[f"guard {pr.names.guard_function}"] = config["Role"]
    iam = pr.ctx.clients("iam")
    blind = [who for who, arn in roles.items() if not _role_reads_alarms(iam, arn)]
    return not blind, (f"cannot read the composite alarm: {', '.join(blind)}" if blind
                       else f"{', '.join(roles)} may DescribeAlarms on *")


CHECKS: list[tuple[str, str, Callable[[Probe], tuple[bool, str]], str]] = [
    ("router-answers", "router answers through its alias", router_answers, "cutover monitor --traffic 10; read the router's logs"),
    ("annotations", "annotations in traces or logs", annotations_present, "send traffic (cutover monitor --traffic 20), then check CUTOVER_TRACING"),
    ("flags-retrievable", "feature flags retrievable", flags_retrievable, "make apply (the flag deployment)"),
    ("error-rate-alarm", "error-rate alarms configured", error_rate_alarm, "make apply"),
    ("alias-exists", "alias exists", alias_exists, "make apply"),
    ("appconfig-application", "AppConfig application exists", appconfig_application, "make apply"),
    ("dashboard", "dashboard exists", dashboard_exists, "make apply"),
    ("tracing-active", "X-Ray tracing active", tracing_active, "make apply (observability.tracing.mode)"),
    ("candidate-exists", "candidate function exists", candidate_exists, "make apply"),
    ("codedeploy-application", "CodeDeploy application exists", codedeploy_application, "make apply"),
    ("canary-percent", "canary percent equals the spec", canary_percent, "cutover status (drift and its fix)"),
    ("response-contract", "the answer follows the read model", response_contract, "fix the backend; see docs/contracts.md"),
    ("shadow-retries", "shadow event-invoke retries are 0", shadow_retries_zero, "make apply (the shadow module sets 0)"),
    ("rollback-alarm-ok", "rollback alarm not in ALARM", rollback_alarm_ok, "cutover monitor; cutover rollback if it is real"),
    ("dlq-empty", "dead-letter queues empty", dlq_empty, "read the messages: shadow events that failed; then purge"),
    ("agent-layer", "AppConfig agent layer attached", agent_layer, "make apply"),
    ("candidate-vpc-routes", "candidate's VPC reaches DynamoDB and X-Ray", candidate_vpc_routes,
     "add gateway (DynamoDB) / interface (X-Ray) endpoints or a NAT route"),
    ("roles-read-composite", "roles can read the composite alarm", roles_read_composite,
     "scope cloudwatch:DescribeAlarms to \"*\" (make apply)"),
]


# The checks that look at one read path: run for every path of the spec.
PER_PATH = {"router-answers", "annotations", "alias-exists", "tracing-active", "candidate-exists",
            "response-contract", "shadow-retries", "dlq-empty", "agent-layer", "candidate-vpc-routes"}
APPLY = "apply the release: `make plan`, then `make apply` (it creates what is missing)"
UNREACHABLE = "check the network, the region and AWS_ENDPOINT_URL, then run `cutover preflight` again"

Outcome = tuple[bool | None, str, str | None]  # passed (None: skipped), detail, fix


def _failure(exc: Exception) -> tuple[str, str | None]:
    """(a readable sentence, the fix for its cause) for what a check raised; fix None: the check's own.

    The fix follows the cause: a permission the caller lacks, a resource that is missing
    (not applied), AWS out of reach; a wrong value keeps the check's own fix."""
    if isinstance(exc, botocore.exceptions.ClientError):
        code, message = error_code(exc), exc.response.get("Error", {}).get("Message", "")
        operation = getattr(exc, "operation_name", "") or "the call"
        if code in DENIED or "AccessDenied" in code:
            return (f"permission missing: AWS refused {operation} ({code}): {message}",
                    (f"grant the role you run cutover with the permission for {operation} "
                     "(docs/operations.md, Permissions)"))
        if code in MISSING or code.endswith(("NotFoundException", "DoesNotExistException")):
            return f"not found: {operation} answered {code}: {message}", APPLY
        return f"AWS answered {operation} with {code}: {message}", None
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return describe(exc, "run this check") or f"AWS could not be called: {exc}", UNREACHABLE
    if isinstance(exc, OpsError):
        return str(exc), APPLY
    if isinstance(exc, KeyError):
        return f"the answer has no {exc}", None
    return str(exc) or exc.__class__.__name__, None


def _attempt(pr: Probe, fn: Callable[[Probe], tuple]) -> Outcome:
    try:
        ok, detail, *fix = fn(pr)
        return ok, detail, fix[0] if fix else None
    except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
        detail, fix = _failure(exc)
        return False, detail, fix


def _one(pr: Probe, check_id: str, title: str, fn: Callable[[Probe], tuple], fix: str) -> Check:
    if check_id not in PER_PATH:
        outcomes = [("", *_attempt(pr, fn))]
    else:
        outcomes = []
        for path in pr.names.paths:
            pr.path = path
            outcomes.append((path.name, *_attempt(pr, fn)))
        pr.path = pr.names.paths[0]
    oks = [o[1] for o in outcomes]
    ok = False if False in oks else None if all(o is None for o in oks) else True
    several = len(outcomes) > 1
    detail = "; ".join(f"{name}: {d}" if several else d for name, _, d, _ in outcomes)
    fixes = list(dict.fromkeys(f or fix for _, o, _, f in outcomes if o is False))
    return Check(check_id, title, ok, detail, "; ".join(fixes))


def run(ctx: Context, only: list[str] | None = None) -> Result:
    unknown = sorted(set(only or ()) - {c[0] for c in CHECKS})
    if unknown:  # `--check dashbord` must not pass by running nothing
        raise OpsError(f"no preflight check {', '.join(map(repr, unknown))}; "
                       f"allowed: {', '.join(c[0] for c in CHECKS)}")
    probe = Probe(ctx)
    checks = [_one(probe, *c) for c in CHECKS if not only or c[0] in only]
    failed = [c for c in checks if c.ok is False]

    def view(out: Console) -> None:
        out.print(table(f"preflight {ctx.names.release} ({ctx.env})", ["#", "check", "", "detail", "fix"],
                        [[i, c.title, mark(c.ok), c.detail, c.fix] for i, c in enumerate(checks, 1)]))
        skipped = sum(c.ok is None for c in checks)
        out.print(f"{len(checks) - len(failed) - skipped}/{len(checks)} passed"
                  + (f", {skipped} skipped" if skipped else ""))

    return Result("preflight", FAILED if failed else OK,
                  {"env": ctx.env, "passed": sum(c.ok is True for c in checks), "total": len(checks),
                   "skipped": sum(c.ok is None for c in checks),
                   "checks": [c.__dict__ for c in checks]}, view)
