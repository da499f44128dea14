"""The function module calls of a release: router (control), candidate and cleanup.

Each builder decides one `module` block's arguments (environment, IAM statements, VPC,
schedule) from the spec; `generator.plan` puts them together with the rest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from generator import rules
from generator.hcl import Expr, Template
from generator.spec import Function, ReadPath, ReleaseSpec

MODULES = "../../modules"
BUILD = "${path.module}/../../../build"
HANDLERS = {
    "router": "router.handler.lambda_handler",
    "candidate": "candidate.handler.lambda_handler",
    "cleanup": "cleanup.handler.lambda_handler",
    "brake": "brake.handler.lambda_handler",
}
# The X-Ray group of canary traces. The router writes `canary` as a boolean annotation
# (docs/contracts.md §8); X-Ray compares typed values, so `= true` never matches a number.
XRAY_CANARY_FILTER = "annotation.canary = true"
ACCOUNT = "${data.aws_caller_identity.current.account_id}"
PARTITION = "${data.aws_partition.current.partition}"


@dataclass(frozen=True)
class ModuleCall:
    """One `module` block of the root module: which module, and its arguments."""

    name: str
    source: str  # a module under terraform/modules/
    comment: str
    args: list[tuple[str, object]]

    @property
    def body(self) -> list[tuple[str, object]]:
        return [("source", f"{MODULES}/{self.source}"), *self.args]


def ident(name: str) -> str:
    """A read path name as a Terraform identifier: user-read -> user_read."""
    return name.replace("-", "_")


def appconfig_environment(spec: ReleaseSpec) -> str:
    return spec.delivery.appconfig.environment or spec.release.environment


def _package(role: str) -> dict[str, object]:
    path = f"{BUILD}/functions/{role}.zip"
    return {
        "filename": Template(path),
        "source_code_hash": Expr(f'filebase64sha256("{path}")'),
    }


def _function_args(
    spec: ReleaseSpec,
    fn: Function,
    role: str,
    description: str,
    environment: dict[str, object],
    *,
    alias: str,
    layers: list[object] | None = None,
    vpc: dict[str, object] | None = None,
    statements: list[dict[str, object]] | None = None,
    schedule: dict[str, object] | None = None,
    sns_trigger: dict[str, object] | None = None,
) -> list[tuple[str, object]]:
    obs = spec.observability
    env = {
        "CUTOVER_RELEASE": spec.release.name,
        "CUTOVER_ENVIRONMENT": spec.release.environment,
        "CUTOVER_PHASE": spec.phase,
        "CUTOVER_METRICS_NAMESPACE": obs.metrics_namespace,
        "CUTOVER_TRACING": obs.tracing.mode,
        "CUTOVER_TRACE_USER_ID": obs.tracing.user_id,
        **environment,
        **fn.environment,
    }
    return [
        ("name", fn.name),
        ("description", description),
        ("handler", fn.handler or HANDLERS[role]),
        ("runtime", fn.runtime),
        ("memory_mb", fn.memory_mb),
        ("timeout_s", fn.timeout_s),
        ("architecture", fn.architecture),
        ("reserved_concurrency", fn.reserved_concurrency),
        ("alias_name", alias),
        ("package", _package(role)),
        ("environment", dict(sorted(env.items()))),
        ("layers", [*fn.layers, Expr(f"module.dependencies_{fn.architecture}.arn"), *(layers or [])]),
        ("vpc", vpc),
        ("policy_statements", statements or []),
        ("schedule", schedule),
        *((("sns_trigger", sns_trigger),) if sns_trigger else ()),
        ("kms_key_arn", Expr("module.kms.key_arn")),
        ("log_retention_days", obs.log_retention_days),
        ("tracing_mode", obs.tracing.mode),
        ("code_signing_config_arn", spec.security.code_signing_config_arn),
    ]


def _compare_rules(path: ReadPath) -> str:
    c = path.shadow.compare
    return json.dumps(
        {
            "ignore_paths": c.ignore_paths,
            "numeric_tolerance": c.numeric_tolerance,
            "timestamp_tolerance_seconds": c.timestamp_tolerance_seconds,
            "unordered_lists": c.unordered_lists,
            "redact_paths": c.redact_paths,
        },
        separators=(",", ":"),
    )


def router_statements(p: str) -> list[dict[str, object]]:
    return [
        {
            "sid": "InvokeCandidateAliasOnly",
            "actions": ["lambda:InvokeFunction"],
            "resources": [Expr(f"module.{p}_candidate.alias_arn")],
        },
        {
            "sid": "ReadFeatureFlags",
            "actions": ["appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"],
            "resources": [Expr("module.feature_flags.configuration_arn")],
        },
    ]


def router_call(spec: ReleaseSpec, i: int) -> ModuleCall:
    path = spec.read_paths[i]
    p = ident(path.name)
    ac = spec.delivery.appconfig
    env = {
        "CUTOVER_PATH": path.name,
        "CUTOVER_APPCONFIG_APPLICATION": ac.application,
        "CUTOVER_APPCONFIG_ENVIRONMENT": appconfig_environment(spec),
        "CUTOVER_APPCONFIG_PROFILE": ac.profile,
        "CUTOVER_CANARY_FLAG": rules.canary_flag_key(spec, i),
        "CUTOVER_SHADOW_FLAG": rules.shadow_flag_key(spec, i),
        "CUTOVER_FLAGS_TTL_MS": str(ac.cache_ttl_ms),
        "CUTOVER_FLAGS_BUDGET_MS": str(ac.read_budget_ms),
        "CUTOVER_CANDIDATE_ARN": Expr(f"module.{p}_candidate.alias_arn"),
        "CUTOVER_CANARY_TIMEOUT_MS": str(path.canary.timeout_ms),
        "CUTOVER_CANARY_FALLBACK": "true" if path.canary.fallback else "false",
        "CUTOVER_SHADOW_DISPATCH_BUDGET_MS": str(path.shadow.dispatch_budget_ms),
        # the router reads redact_paths: their values leave it as digests (contracts.md §7)
        "CUTOVER_COMPARE_RULES": _compare_rules(path),
        "AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS": str(ac.poll_interval_s),
        "AWS_APPCONFIG_EXTENSION_POLL_TIMEOUT_MILLIS": str(ac.poll_timeout_ms),
        # The agent fetches the flags when the environment starts, before the first
        # request: the first read of a new environment does not race it (aws-rules.md).
        "AWS_APPCONFIG_EXTENSION_PREFETCH_LIST": (
            f"/applications/{ac.application}/environments/{appconfig_environment(spec)}/configurations/{ac.profile}"
        ),
    }
    statements = router_statements(p)
    return ModuleCall(
        name=f"{p}_control",
        source="function",
        comment=f"Read path {path.name}: the control, which also routes the canary and tees shadow traffic.",
        args=_function_args(
            spec,
            path.control,
            "router",
            f"cutover {spec.release.name}: {path.name} control and router",
            env,
            alias=path.alias,
            layers=[Expr("module.feature_flags.extension_layer_arn")],
            statements=statements,
        ),
    )


def _candidate_settings(spec: ReleaseSpec, path: ReadPath) -> tuple[dict[str, object], dict | None,
                                                                   list[dict[str, object]]]:
    """The candidate code's environment, VPC placement and IAM statements."""
    env: dict[str, object] = {"CUTOVER_PATH": path.name, "CUTOVER_COMPARE_RULES": _compare_rules(path)}
    statements: list[dict[str, object]] = []
    vpc = None
    db = path.database
    if db is not None:
        env.update(
            {
                "CUTOVER_DB_HOST": db.proxy_endpoint,
                "CUTOVER_DB_PORT": str(db.port),
                "CUTOVER_DB_NAME": db.name,
                "CUTOVER_DB_USER": db.user,
                "CUTOVER_DB_IAM_AUTH": "true" if db.iam_auth else "false",
                "CUTOVER_DB_SSLMODE": db.sslmode,
                # a connect that outlasts the canary timeout is of no use to the router
                "CUTOVER_DB_CONNECT_TIMEOUT_MS": str(path.canary.timeout_ms),
            }
        )
        vpc = {"subnet_ids": db.subnet_ids, "security_group_ids": db.security_group_ids}
        if db.iam_auth:
            arn = (
                f"arn:{PARTITION}:rds-db:{spec.release.region}:{ACCOUNT}:dbuser:"
                f"{db.proxy_resource_id}/{db.user}"
            )
            statements.append(
                {"sid": "ConnectToProxyAsItsUser", "actions": ["rds-db:connect"], "resources": [Template(arn)]}
            )
    return env, vpc, statements


def candidate_call(spec: ReleaseSpec, i: int) -> ModuleCall:
    path = spec.read_paths[i]
    p = ident(path.name)
    env, vpc, statements = _candidate_settings(spec, path)
    if spec.phase != "complete" and path.shadow.enabled:
        env["CUTOVER_SHADOW_LEDGER_TABLE"] = ledger_table(path)
        statements.append(
            {
                "sid": "ClaimShadowEventsOnce",
                "actions": ["dynamodb:PutItem"],
                "resources": [Expr(f"module.{p}_shadow.ledger_table_arn")],
            }
        )
    role = "kept as the rollback target's canary backend" if spec.phase == "complete" else "the candidate"
    return ModuleCall(
        name=f"{p}_candidate",
        source="function",
        comment=f"Read path {path.name}: {role} (PostgreSQL through RDS Proxy).",
        args=_function_args(
            spec,
            path.candidate,
            "candidate",
            f"cutover {spec.release.name}: {path.name} candidate",
            env,
            alias=path.alias,
            vpc=vpc,
            statements=statements,
        ),
    )


def entry_call(spec: ReleaseSpec, i: int) -> ModuleCall:
    """Phase complete: the function and alias clients call, now running the candidate's code.

    Same module (so the same function name, alias, role, log group and CodeDeploy group),
    the candidate's package, handler, settings, database, VPC and IAM: the apply publishes
    a new version, and a CodeDeploy deployment shifts the alias to it with rollback. Until
    then (and on rollback) the alias serves the router's last version, which still reads
    the flags and invokes the candidate's alias: its statements stay on the shared role.
    """
    path = spec.read_paths[i]
    p = ident(path.name)
    env, vpc, statements = _candidate_settings(spec, path)
    statements += router_statements(p)
    fn = path.candidate.model_copy(update={"name": path.control.name})
    return ModuleCall(
        name=f"{p}_control",
        source="function",
        comment=(f"Read path {path.name}, complete: the entry clients call, served by the candidate's code "
                 "(shipped through CodeDeploy; the router's version stays the rollback target)."),
        args=_function_args(spec, fn, "candidate", f"cutover {spec.release.name}: {path.name} (candidate code)",
                            env, alias=path.alias, vpc=vpc, statements=statements),
    )


def shadow_call(spec: ReleaseSpec, i: int) -> ModuleCall:
    path = spec.read_paths[i]
    p = ident(path.name)
    return ModuleCall(
        name=f"{p}_shadow",
        source="shadow",
        comment=f"Read path {path.name}: shadow invocations are never retried and expire quickly.",
        args=[
            ("function_name", Expr(f"module.{p}_candidate.function_name")),
            ("qualifier", Expr(f"module.{p}_candidate.alias_name")),
            ("maximum_event_age_in_seconds", path.shadow.max_event_age_s),
            ("on_failure_destination_arn", Expr(f"module.{p}_candidate.dlq_arn")),
            ("ledger_table_name", ledger_table(path)),
            ("kms_key_arn", Expr("module.kms.key_arn")),
        ],
    )


def ledger_table(path: ReadPath) -> str:
    """The DynamoDB table where the candidate claims each shadow event id once."""
    return f"{path.candidate.name}-shadow-events"


def cleanup_call(spec: ReleaseSpec, function_names: list[str]) -> ModuleCall:
    cleanup = spec.cleanup
    assert cleanup is not None
    fn_arns = []
    for name in function_names:
        base = f"arn:{PARTITION}:lambda:{spec.release.region}:{ACCOUNT}:function:{name}"
        fn_arns += [Template(base), Template(f"{base}:*")]
    statements: list[dict[str, object]] = [
        {
            "sid": "PruneReleaseFunctionVersions",
            "actions": ["lambda:ListAliases", "lambda:ListVersionsByFunction", "lambda:DeleteFunction"],
            "resources": fn_arns,
        }
    ]
    ac = spec.delivery.appconfig
    env = {
        "CUTOVER_CLEANUP_FUNCTIONS": ",".join(function_names),
        "CUTOVER_CLEANUP_KEEP": str(cleanup.keep_versions),
        "CUTOVER_CLEANUP_DRY_RUN": "true",
        "CUTOVER_CLEANUP_APPCONFIG_APPLICATION": "" if spec.phase == "complete" else ac.application,
        "CUTOVER_CLEANUP_APPCONFIG_PROFILE": "" if spec.phase == "complete" else ac.profile,
    }
    if spec.phase != "complete":
        statements.append(
            # A list action is account-level: it takes only Resource "*" (docs/aws-rules.md, IAM).
            {"sid": "FindTheFlagApplication", "actions": ["appconfig:ListApplications"],
             "resources": Expr('["*"] # a list action: account-level, "*" is the only valid resource')}
        )
        statements.append(
            {
                "sid": "PruneUndeployedFlagVersions",
                "actions": [
                    "appconfig:ListConfigurationProfiles",
                    "appconfig:ListEnvironments",
                    "appconfig:ListDeployments",
                    "appconfig:ListHostedConfigurationVersions",
                    "appconfig:DeleteHostedConfigurationVersion",
                ],
                "resources": [
                    Expr("module.feature_flags.application_arn"),
                    Template("${module.feature_flags.application_arn}/*"),
                ],
            }
        )
    return ModuleCall(
        name="cleanup",
        source="function",
        comment="Prunes function versions no alias points to and undeployed flag versions, on a schedule.",
        args=_function_args(
            spec,
            cleanup.function,
            "cleanup",
            f"cutover {spec.release.name}: prune old versions",
            env,
            alias="live",
            statements=statements,
            schedule={"expression": cleanup.schedule, "input": json.dumps({"dryRun": False})},
        ),
    )


def brake_call(spec: ReleaseSpec) -> ModuleCall:
    """The brake: subscribed to the alarm topic, it deploys the canary-off flags at once."""
    brake = spec.brake
    assert brake is not None
    flags = "module.feature_flags"
    app = f"arn:{PARTITION}:appconfig:{spec.release.region}:{ACCOUNT}:application/${{{flags}.application_id}}"
    profile = f"{app}/configurationprofile/${{{flags}.profile_id}}"
    statements: list[dict[str, object]] = [
        {"sid": "SeeFlagDeployments", "actions": ["appconfig:ListDeployments"],
         "resources": [Expr(f"{flags}.environment_arn")]},
        {"sid": "ReadDeployedFlags", "actions": ["appconfig:GetHostedConfigurationVersion"],
         "resources": [Template(f"{profile}/hostedconfigurationversion/*")]},
        {"sid": "WriteCanaryOffFlags", "actions": ["appconfig:CreateHostedConfigurationVersion"],
         "resources": [Expr(f"{flags}.profile_arn")]},
        {"sid": "DeployCanaryOffFlags", "actions": ["appconfig:StartDeployment"],
         "resources": [Expr(f"{flags}.environment_arn"), Expr(f"{flags}.profile_arn"),
                       Template(f"arn:{PARTITION}:appconfig:{spec.release.region}:{ACCOUNT}:"
                                f"deploymentstrategy/${{{flags}.brake_strategy_id}}")]},
    ]
    env = {
        "CUTOVER_BRAKE_APPLICATION_ID": Expr(f"{flags}.application_id"),
        "CUTOVER_BRAKE_ENVIRONMENT_ID": Expr(f"{flags}.environment_id"),
        "CUTOVER_BRAKE_PROFILE_ID": Expr(f"{flags}.profile_id"),
        "CUTOVER_BRAKE_STRATEGY_ID": Expr(f"{flags}.brake_strategy_id"),
        "CUTOVER_BRAKE_KMS_KEY_ARN": Expr("module.kms.key_arn"),
        "CUTOVER_BRAKE_CANARY_FLAGS": ",".join(rules.canary_flag_key(spec, i) for i in range(len(spec.read_paths))),
        "CUTOVER_BRAKE_ALARM_NAME": Expr("module.alarms.rollback_alarm_name"),
    }
    trigger = {
        "topic_arn": Expr("module.alarms.topic_arn"),
        "filter_policy": Expr(
            'jsonencode({ AlarmName = [module.alarms.rollback_alarm_name], NewStateValue = ["ALARM"] })'),
    }
    return ModuleCall(
        name="brake",
        source="function",
        comment="After a flag deployment's bake: the rollback alarm turns the canary off at once.",
        args=_function_args(spec, brake.function, "brake", f"cutover {spec.release.name}: canary off on alarm",
                            env, alias="live", statements=statements, sns_trigger=trigger),
    )
