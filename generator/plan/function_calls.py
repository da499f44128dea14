"""The function module calls of a release: router (control), candidate and cleanup.

Each builder decides one `module` block's arguments (environment, IAM statements, VPC,
schedule) from the spec; `cutover.generator.plan.release` puts them together with the rest.
"""

from __future__ import annotations

import json

from cutover.generator.plan.flag_document import canary_flag_key, shadow_flag_key
from cutover.generator.plan.hcl import Expr, Template
from cutover.generator.plan.modules import (
    ALARMS,
    CLEANUP,
    CONTROLLER_FUNCTION,
    FEATURE_FLAGS,
    GUARD,
    KMS,
    UNSET,
    FunctionArgs,
    ModuleCall,
    PathModules,
    ShadowArgs,
    dependencies,
)
from cutover.generator.spec.model import (
    GUARD_CONCURRENCY,
    GUARD_SCHEDULE,
    Function,
    ReadPath,
    ReleaseSpec,
)
from cutover.generator.spec.names import controller_function_name, state_machine_name
from cutover.runtime import env as env_keys

BUILD = "${path.module}/../../../build"
HANDLERS = {
    "router": "router.handler.lambda_handler",
    "candidate": "candidate.handler.lambda_handler",
    "cleanup": "cleanup.handler.lambda_handler",
    "guard": "guard.handler.lambda_handler",
    "deploy_probe": "deploy_probe.handler.lambda_handler",
    "controller": "controller.handler.lambda_handler",
}
# The X-Ray group of canary traces. The router writes `canary` as a boolean annotation
# (docs/contracts.md §8); X-Ray compares typed values, so `= true` never matches a number.
XRAY_CANARY_FILTER = "annotation.canary = true"
ACCOUNT = "${data.aws_caller_identity.current.account_id}"
PARTITION = "${data.aws_partition.current.partition}"


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
    alarm_trigger: dict[str, object] | None = None,
    reserved_concurrency: int | None = None,
    read_alarms: bool = False,
) -> FunctionArgs:
    obs = spec.observability
    env = {
        env_keys.RELEASE: spec.release.name,
        env_keys.METRICS_NAMESPACE: obs.metrics_namespace,
        env_keys.TRACING: obs.tracing.mode,
        env_keys.TRACE_USER_ID: obs.tracing.user_id,
        **environment,
        **fn.environment,
    }
    return FunctionArgs(
        name=fn.name,
        description=description,
        handler=fn.handler or HANDLERS[role],
        runtime=fn.runtime,
        memory_mb=fn.memory_mb,
        timeout_s=fn.timeout_s,
        architecture=fn.architecture,
        reserved_concurrency=reserved_concurrency or fn.reserved_concurrency,
        alias_name=alias,
        package=_package(role),
        environment=dict(sorted(env.items())),
        layers=[*fn.layers, dependencies(fn.architecture).output("arn"), *(layers or [])],
        vpc=vpc,
        policy_statements=statements or [],
        schedule=schedule,
        alarm_trigger=alarm_trigger or UNSET,
        read_alarms=read_alarms or UNSET,
        kms_key_arn=KMS.output("key_arn"),
        log_retention_days=obs.log_retention_days,
        tracing_mode=obs.tracing.mode,
        code_signing_config_arn=spec.security.code_signing_config_arn,
    )


def _comparison_rules(path: ReadPath) -> str:
    """How the candidate compares its shadow answers with the control's (CUTOVER_COMPARE_RULES)."""
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


def router_statements(path: ReadPath) -> list[dict[str, object]]:
    return [
        {
            "sid": "InvokeCandidateAliasOnly",
            "actions": ["lambda:InvokeFunction"],
            "resources": [PathModules.of(path).candidate.output("alias_arn")],
        },
        {
            "sid": "ReadFeatureFlags",
            "actions": ["appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"],
            "resources": [FEATURE_FLAGS.output("configuration_arn")],
        },
    ]


def router_call(spec: ReleaseSpec, i: int) -> ModuleCall:
    path = spec.read_paths[i]
    at = PathModules.of(path)
    ac = spec.delivery.appconfig
    env = {
        env_keys.PATH: path.name,
        env_keys.APPCONFIG_APPLICATION: ac.application,
        env_keys.APPCONFIG_ENVIRONMENT: appconfig_environment(spec),
        env_keys.APPCONFIG_PROFILE: ac.profile,
        env_keys.CANARY_FLAG: canary_flag_key(spec, i),
        env_keys.SHADOW_FLAG: shadow_flag_key(spec, i),
        env_keys.FLAGS_TTL_MS: str(ac.cache_ttl_ms),
        env_keys.FLAGS_BUDGET_MS: str(ac.read_budget_ms),
        # when the agent fails, read the same flags from AppConfig's data plane (the
        # ReadFeatureFlags statement below) instead of the safe defaults (docs/functions.md)
        env_keys.FLAGS_DIRECT_READ: "on",
        env_keys.CANDIDATE_ARN: at.candidate.output("alias_arn"),
        env_keys.CANARY_TIMEOUT_MS: str(path.canary.timeout_ms),
        env_keys.CANARY_FALLBACK: "true" if path.canary.fallback else "false",
        env_keys.SHADOW_DISPATCH_BUDGET_MS: str(path.shadow.dispatch_budget_ms),
        # the router reads redact_paths: their values leave it as digests (contracts.md §7)
        env_keys.COMPARE_RULES: _comparison_rules(path),
        "AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS": str(ac.poll_interval_s),
        "AWS_APPCONFIG_EXTENSION_POLL_TIMEOUT_MILLIS": str(ac.poll_timeout_ms),
        # The agent fetches the flags when the environment starts, before the first
        # request: the first read of a new environment does not race it (aws-rules.md).
        "AWS_APPCONFIG_EXTENSION_PREFETCH_LIST": (
            f"/applications/{ac.application}/environments/{appconfig_environment(spec)}/configurations/{ac.profile}"
        ),
    }
    statements = router_statements(path)
    return ModuleCall(
        at=at.control,
        comment=f"Read path {path.name}: the control, which also routes the canary and tees shadow traffic.",
        args=_function_args(
            spec,
            path.control,
            "router",
            f"cutover {spec.release.name}: {path.name} control and router",
            env,
            alias=path.alias,
            layers=[FEATURE_FLAGS.output("extension_layer_arn")],
            statements=statements,
        ),
    )


def _candidate_settings(spec: ReleaseSpec, path: ReadPath) -> tuple[dict[str, object], dict | None,
                                                                   list[dict[str, object]]]:
    """The candidate code's environment, VPC placement and IAM statements."""
    env: dict[str, object] = {env_keys.PATH: path.name, env_keys.COMPARE_RULES: _comparison_rules(path)}
    statements: list[dict[str, object]] = []
    vpc = None
    db = path.database
    if db is not None:
        env.update(
            {
                env_keys.DB_HOST: db.proxy_endpoint,
                env_keys.DB_PORT: str(db.port),
                env_keys.DB_NAME: db.name,
                env_keys.DB_USER: db.user,
                env_keys.DB_IAM_AUTH: "true" if db.iam_auth else "false",
                env_keys.DB_SSLMODE: db.sslmode,
                # a connect that outlasts the canary timeout is of no use to the router
                env_keys.DB_CONNECT_TIMEOUT_MS: str(path.canary.timeout_ms),
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
    at = PathModules.of(path)
    env, vpc, statements = _candidate_settings(spec, path)
    if spec.phase != "complete" and path.shadow.enabled:
        env[env_keys.SHADOW_LEDGER_TABLE] = ledger_table(path)
        statements.append(
            {
                "sid": "ClaimShadowEventsOnce",
                "actions": ["dynamodb:PutItem"],
                "resources": [at.shadow.output("ledger_table_arn")],
            }
        )
    role = "kept as the rollback target's canary backend" if spec.phase == "complete" else "the candidate"
    return ModuleCall(
        at=at.candidate,
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
    env, vpc, statements = _candidate_settings(spec, path)
    statements += router_statements(path)
    fn = path.candidate.model_copy(update={"name": path.control.name})
    return ModuleCall(
        at=PathModules.of(path).control,
        comment=(f"Read path {path.name}, complete: the entry clients call, served by the candidate's code "
                 "(shipped through CodeDeploy; the router's version stays the rollback target)."),
        args=_function_args(spec, fn, "candidate", f"cutover {spec.release.name}: {path.name} (candidate code)",
                            env, alias=path.alias, vpc=vpc, statements=statements),
    )


def shadow_call(spec: ReleaseSpec, i: int) -> ModuleCall:
    path = spec.read_paths[i]
    at = PathModules.of(path)
    return ModuleCall(
        at=at.shadow,
        comment=f"Read path {path.name}: shadow invocations are never retried and expire quickly.",
        args=ShadowArgs(
            function_name=at.candidate.output("function_name"),
            qualifier=at.candidate.output("alias_name"),
            maximum_event_age_in_seconds=path.shadow.max_event_age_s,
            on_failure_destination_arn=at.candidate.output("dlq_arn"),
            ledger_table_name=ledger_table(path),
            kms_key_arn=KMS.output("key_arn"),
        ),
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
        env_keys.CLEANUP_FUNCTIONS: ",".join(function_names),
        env_keys.CLEANUP_KEEP: str(cleanup.keep_versions),
        env_keys.CLEANUP_DRY_RUN: "true",
        env_keys.CLEANUP_APPCONFIG_APPLICATION: "" if spec.phase == "complete" else ac.application,
        env_keys.CLEANUP_APPCONFIG_PROFILE: "" if spec.phase == "complete" else ac.profile,
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
                    FEATURE_FLAGS.output("application_arn"),
                    Template(f"${{{FEATURE_FLAGS.output('application_arn')}}}/*"),
                ],
            }
        )
    return ModuleCall(
        at=CLEANUP,
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


def guard_call(spec: ReleaseSpec) -> ModuleCall:
    """The guard: on every state change of the rollback alarm and every minute, it holds
    "alarm in ALARM => every served canary is 0" (docs/functions.md, "Guard")."""
    guard = spec.guard
    assert guard is not None
    flags = FEATURE_FLAGS
    app = f"arn:{PARTITION}:appconfig:{spec.release.region}:{ACCOUNT}:application/${{{flags.output('application_id')}}}"
    profile = f"{app}/configurationprofile/${{{flags.output('profile_id')}}}"
    statements: list[dict[str, object]] = [
        {"sid": "SeeFlagDeployments", "actions": ["appconfig:ListDeployments"],
         "resources": [flags.output("environment_arn")]},
        # GetDeployment says who started one (ListDeployments' summaries carry no
        # Description); StopDeployment with AllowRevert stops any but the guard's own
        # and break glass's.
        {"sid": "StopOtherFlagDeployments", "actions": ["appconfig:GetDeployment", "appconfig:StopDeployment"],
         "resources": [Template(f"${{{flags.output('environment_arn')}}}/deployment/*")]},
        {"sid": "ReadDeployedFlags", "actions": ["appconfig:GetHostedConfigurationVersion"],
         "resources": [Template(f"{profile}/hostedconfigurationversion/*")]},
        {"sid": "WriteCanaryOffFlags", "actions": ["appconfig:CreateHostedConfigurationVersion"],
         "resources": [flags.output("profile_arn")]},
        {"sid": "DeployCanaryOffFlags", "actions": ["appconfig:StartDeployment"],
         "resources": [flags.output("environment_arn"), flags.output("profile_arn"),
                       Template(f"arn:{PARTITION}:appconfig:{spec.release.region}:{ACCOUNT}:"
                                f"deploymentstrategy/${{{flags.output('guard_strategy_id')}}}")]},
        {"sid": "NotifyOnCall", "actions": ["sns:Publish"], "resources": [ALARMS.output("topic_arn")]},
    ]
    env = {
        env_keys.GUARD_APPLICATION_ID: flags.output("application_id"),
        env_keys.GUARD_ENVIRONMENT_ID: flags.output("environment_id"),
        env_keys.GUARD_PROFILE_ID: flags.output("profile_id"),
        env_keys.GUARD_STRATEGY_ID: flags.output("guard_strategy_id"),
        env_keys.GUARD_KMS_KEY_ARN: KMS.output("key_arn"),
        env_keys.GUARD_CANARY_FLAGS: ",".join(canary_flag_key(spec, i) for i in range(len(spec.read_paths))),
        env_keys.GUARD_ALARM_NAME: ALARMS.output("rollback_alarm_name"),
        env_keys.GUARD_TOPIC_ARN: ALARMS.output("topic_arn"),
    }
    return ModuleCall(
        at=GUARD,
        comment="While the rollback alarm is in ALARM, every served canary is 0: on each alarm state change "
                "and every minute.",
        args=_function_args(spec, guard.function, "guard", f"cutover {spec.release.name}: canary off while in ALARM",
                            env, alias="live", statements=statements,
                            schedule={"expression": GUARD_SCHEDULE},
                            alarm_trigger={"alarm_arn": ALARMS.output("rollback_alarm_arn")},
                            reserved_concurrency=GUARD_CONCURRENCY),
    )


def state_machine_arn(spec: ReleaseSpec) -> Template:
    """The controller's state machine ARN, spelt from its name: the function names it without
    depending on the state machine, whose definition depends on the function."""
    return Template(f"arn:{PARTITION}:states:{spec.release.region}:{ACCOUNT}:stateMachine:{state_machine_name(spec)}")


def _map_runs(spec: ReleaseSpec) -> Template:
    return Template(f"arn:{PARTITION}:states:{spec.release.region}:{ACCOUNT}:mapRun:{state_machine_name(spec)}/*:*")


def controller_statements(spec: ReleaseSpec) -> list[dict[str, object]]:
    """What the controller function reads (CONTROLLER.md: survey, settle, judge, ask); it deploys nothing."""
    flags = FEATURE_FLAGS
    return [
        # GetMetricData takes no resource-level permissions (Service Authorization Reference,
        # Amazon CloudWatch): "*" is its only valid resource. DescribeAlarms: read_alarms.
        {"sid": "ReadCanaryMetrics", "actions": ["cloudwatch:GetMetricData"],
         "resources": Expr('["*"] # GetMetricData: no resource-level permissions exist')},
        {"sid": "SeeFlagDeployments", "actions": ["appconfig:ListDeployments"],
         "resources": [flags.output("environment_arn")]},
        {"sid": "ReadFlagDeployments", "actions": ["appconfig:GetDeployment"],
         "resources": [Template(f"${{{flags.output('environment_arn')}}}/deployment/*")]},
        {"sid": "FindKeptFlagVersions", "actions": ["appconfig:ListHostedConfigurationVersions"],
         "resources": [flags.output("profile_arn")]},
        {"sid": "ReadKeptFlagVersions", "actions": ["appconfig:GetHostedConfigurationVersion"],
         "resources": [Template(f"${{{flags.output('profile_arn')}}}/hostedconfigurationversion/*")]},
        {"sid": "NotifyOnCall", "actions": ["sns:Publish"], "resources": [ALARMS.output("topic_arn")]},
        # ListExecutions is authorised on a state machine or on one of its map runs (the Service
        # Authorization Reference lists both); the controller has no Map state, so it has none.
        {"sid": "SeeOtherExecutions", "actions": ["states:ListExecutions"],
         "resources": [state_machine_arn(spec), _map_runs(spec)]},
    ]


def controller_function_call(spec: ReleaseSpec) -> ModuleCall:
    """The controller function: every judgement of the state machine, never a deployment
    (the state machine starts those through AppConfig's SDK integration)."""
    controller = spec.delivery.controller
    assert controller is not None
    flags = FEATURE_FLAGS
    env = {
        env_keys.CONTROLLER_APPLICATION_ID: flags.output("application_id"),
        env_keys.CONTROLLER_ENVIRONMENT_ID: flags.output("environment_id"),
        env_keys.CONTROLLER_PROFILE_ID: flags.output("profile_id"),
        env_keys.CONTROLLER_ALARM_NAME: ALARMS.output("rollback_alarm_name"),
        env_keys.CONTROLLER_TOPIC_ARN: ALARMS.output("topic_arn"),
        env_keys.CONTROLLER_STATE_MACHINE_ARN: state_machine_arn(spec),
    }
    fn = controller.function.model_copy(update={"name": controller_function_name(spec)})
    return ModuleCall(
        at=CONTROLLER_FUNCTION,
        comment="The controller's judgements: what is served, whether a step settled, the go/no-go analysis.",
        args=_function_args(spec, fn, "controller", f"cutover {spec.release.name}: the controller's judgements",
                            env, alias="live", statements=controller_statements(spec), read_alarms=True),
    )
