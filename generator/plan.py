"""Spec -> release plan: plain data saying what will be built, and nothing about layout.

The plan decides every name, every module call and its arguments, the flag document,
the dashboard body and the queries; `generator.render` only lays it out as files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from generator import dashboard, flags, queries, rules
from generator.hcl import Expr, Template
from generator.spec import Function, ReadPath, ReleaseSpec

MODULES = "../../modules"
BUILD = "${path.module}/../../../build"
HANDLERS = {
    "router": "router.handler.lambda_handler",
    "candidate": "candidate.handler.lambda_handler",
    "cleanup": "cleanup.handler.lambda_handler",
}
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


@dataclass(frozen=True)
class Output:
    name: str
    description: str
    value: Expr


@dataclass(frozen=True)
class CheckovSkip:
    id: str
    reason: str


@dataclass(frozen=True)
class ReleasePlan:
    spec_file: str
    env: str
    release: str
    region: str
    phase: str
    required_terraform: str
    backend: list[tuple[str, object]]
    default_tags: dict[str, str]
    modules: list[ModuleCall]
    outputs: list[Output]
    checkov_skips: list[CheckovSkip]
    flags_document: dict | None
    dashboard_body: dict
    queries: list[queries.Query] = field(default_factory=list)


def ident(name: str) -> str:
    """A read path name as a Terraform identifier: user-read -> user_read."""
    return name.replace("-", "_")


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


def _router(spec: ReleaseSpec, i: int) -> ModuleCall:
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
        "AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS": str(ac.poll_interval_s),
        "AWS_APPCONFIG_EXTENSION_POLL_TIMEOUT_MILLIS": str(ac.poll_timeout_ms),
    }
    statements = [
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


def _candidate(spec: ReleaseSpec, i: int) -> ModuleCall:
    path = spec.read_paths[i]
    p = ident(path.name)
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
    if spec.phase != "complete" and path.shadow.enabled:
        env["CUTOVER_SHADOW_LEDGER_TABLE"] = ledger_table(path)
        statements.append(
            {
                "sid": "ClaimShadowEventsOnce",
                "actions": ["dynamodb:PutItem"],
                "resources": [Expr(f"module.{p}_shadow.ledger_table_arn")],
            }
        )
    role = "the only backend" if spec.phase == "complete" else "the candidate"
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


def _shadow(spec: ReleaseSpec, i: int) -> ModuleCall:
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


def _cleanup(spec: ReleaseSpec, function_names: list[str]) -> ModuleCall:
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
            {
                "sid": "PruneUndeployedFlagVersions",
                "actions": [
                    "appconfig:ListApplications",
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


def appconfig_environment(spec: ReleaseSpec) -> str:
    return spec.delivery.appconfig.environment or spec.release.environment


def codedeploy_config(spec: ReleaseSpec) -> dict[str, object]:
    cd = spec.delivery.codedeploy
    if cd.custom is not None:
        c = cd.custom
        kind = "Canary" if c.type == "TimeBasedCanary" else "Linear"
        return {
            "name": f"{spec.release.name}-{kind}{c.percentage}Percent{c.interval_minutes}Minutes",
            "custom": True,
            "type": c.type,
            "percentage": c.percentage,
            "interval_minutes": c.interval_minutes,
        }
    return {"name": cd.predefined or "CodeDeployDefault.LambdaCanary10Percent5Minutes", "custom": False}


def _guardrails(spec: ReleaseSpec) -> dict[str, object]:
    g = spec.guardrails
    return {
        "error_rate_pct": g.error_rate_pct,
        "p95_regression_pct": g.p95_regression.no_go_pct,
        "shadow_diff_pct": g.shadow_diff.no_go_pct,
        "canary_share_min_ratio": g.canary_share.min_ratio,
        "canary_share_max_ratio": g.canary_share.max_ratio,
        "min_samples": g.min_samples,
        "period_seconds": g.period_seconds,
        "evaluation_periods": g.evaluation_periods,
        "datapoints_to_alarm": g.datapoints_to_alarm,
        "missing_data_error_rate": g.missing_data.error_rate,
        "missing_data_latency": g.missing_data.latency,
        "missing_data_shadow_diff": g.missing_data.shadow_diff,
        "missing_data_canary": g.missing_data.canary_share,
    }


def name_prefix(spec: ReleaseSpec) -> str:
    return f"{spec.release.name}-{spec.release.environment}"


def build_plan(spec: ReleaseSpec, spec_file: str) -> ReleasePlan:
    complete = spec.phase == "complete"
    prefix = name_prefix(spec)
    modules: list[ModuleCall] = [
        ModuleCall(
            name="kms",
            source="kms",
            comment="The customer-managed key for logs, queues, topics and function environments.",
            args=[
                ("alias_name", f"cutover/{prefix}"),
                ("key_arn", spec.security.kms_key_arn),
            ],
        )
    ]
    architectures = sorted(
        {f.architecture for p in spec.read_paths for f in (p.candidate, *(() if complete else (p.control,)))}
        | ({spec.cleanup.function.architecture} if spec.cleanup else set())
    )
    for arch in architectures:
        path = f"{BUILD}/layers/deps-{arch}.zip"
        modules.append(
            ModuleCall(
                name=f"dependencies_{arch}",
                source="layer",
                comment=f"Third-party dependencies of the functions ({arch}), built by `make build`.",
                args=[
                    ("name", f"{prefix}-deps-{arch.replace('_', '-')}"),
                    ("architecture", arch),
                    ("package", {"filename": Template(path), "source_code_hash": Expr(f'filebase64sha256("{path}")')}),
                ],
            )
        )
    outputs: list[Output] = []
    function_names: list[str] = []
    deployment_groups: dict[str, object] = {}
    alarm_paths: dict[str, object] = {}
    for i, path in enumerate(spec.read_paths):
        p = ident(path.name)
        if not complete:
            modules.append(_router(spec, i))
            function_names.append(path.control.name)
            deployment_groups[path.control.name] = {
                "function_name": Expr(f"module.{p}_control.function_name"),
                "alias_name": Expr(f"module.{p}_control.alias_name"),
            }
        modules.append(_candidate(spec, i))
        function_names.append(path.candidate.name)
        deployment_groups[path.candidate.name] = {
            "function_name": Expr(f"module.{p}_candidate.function_name"),
            "alias_name": Expr(f"module.{p}_candidate.alias_name"),
        }
        if not complete and path.shadow.enabled:
            modules.append(_shadow(spec, i))
        entry = f"{p}_candidate" if complete else f"{p}_control"
        outputs.append(
            Output(
                name=f"{p}_entrypoint",
                description=f"The alias ARN that clients of {path.name} call.",
                value=Expr(f"module.{entry}.alias_arn"),
            )
        )
        alarm_paths[path.name] = {
            "alias_name": path.alias,
            "candidate_function": path.candidate.name,
            "router_function": None if complete else path.control.name,
            "control_function": None if complete else path.control.name,
            "canary_percent": path.canary.percent,
            "shadow_enabled": (not complete) and path.shadow.enabled,
        }
    if spec.cleanup is not None:
        modules.append(_cleanup(spec, function_names))
    modules.append(
        ModuleCall(
            name="code_deploy",
            source="code_deploy",
            comment="Code changes reach the aliases through CodeDeploy, which rolls back on the alarm.",
            args=[
                ("application_name", spec.delivery.codedeploy.application or prefix),
                ("deployment_config", codedeploy_config(spec)),
                ("deployment_groups", deployment_groups),
                ("alarm_names", [Expr("module.alarms.rollback_alarm_name")]),
            ],
        )
    )
    if not complete:
        ac = spec.delivery.appconfig
        modules.append(
            ModuleCall(
                name="feature_flags",
                source="feature_flags",
                comment="The canary and shadow flags, deployed by AppConfig and rolled back on the alarm.",
                args=[
                    ("application_name", ac.application),
                    ("environment_name", appconfig_environment(spec)),
                    ("profile_name", ac.profile),
                    ("description", f"cutover {spec.release.name} ({spec.release.environment})"),
                    ("document_path", Template("${path.module}/flags.json")),
                    (
                        "strategy",
                        {
                            "name": f"{prefix}-{ac.growth_type.lower()}"[:64],
                            "growth_type": ac.growth_type,
                            "growth_factor": ac.growth_factor,
                            "duration_minutes": ac.duration_minutes,
                            "final_bake_minutes": ac.final_bake_minutes,
                        },
                    ),
                    ("monitor_alarm_arns", [Expr("module.alarms.rollback_alarm_arn")]),
                    ("kms_key_arn", Expr("module.kms.key_arn")),
                    ("extension_architecture", spec.read_paths[0].control.architecture),
                ],
            )
        )
        outputs += [
            Output("appconfig_application_id", "AppConfig application id.", Expr("module.feature_flags.application_id")),
            Output("appconfig_environment_id", "AppConfig environment id.", Expr("module.feature_flags.environment_id")),
            Output("appconfig_profile_id", "Feature flag profile id.", Expr("module.feature_flags.profile_id")),
        ]
    notify = spec.observability.notifications
    modules.append(
        ModuleCall(
            name="alarms",
            source="alarms",
            comment="Guardrail alarms; their composite is the single rollback signal.",
            args=[
                ("name_prefix", prefix),
                ("release", spec.release.name),
                ("metrics_namespace", spec.observability.metrics_namespace),
                ("paths", alarm_paths),
                ("guardrails", _guardrails(spec)),
                ("notification_topic_arns", notify.topic_arns),
                ("notification_emails", notify.emails),
                ("kms_key_arn", Expr("module.kms.key_arn")),
            ],
        )
    )
    dashboard_name = spec.observability.dashboard_name or prefix
    modules.append(
        ModuleCall(
            name="dashboard",
            source="dashboard",
            comment="Invocations, error rate, p95, shadow diffs, canary share and alarm states.",
            args=[
                ("name", dashboard_name),
                ("body_path", Template("${path.module}/dashboard.json")),
                ("template_vars", {"rollback_alarm_arn": Expr("module.alarms.rollback_alarm_arn")}),
            ],
        )
    )
    query_list = queries.build(spec)
    modules.append(
        ModuleCall(
            name="queries",
            source="queries",
            comment="Saved Logs Insights queries for operators.",
            args=[
                ("name_prefix", f"cutover/{prefix}"),
                (
                    "queries",
                    {
                        q.slug: {
                            "title": q.title,
                            "file": Template(f"${{path.module}}/queries/{q.slug}.logsinsights"),
                            "log_group_names": [Expr(f"module.{m}.log_group_name") for m in q.modules],
                        }
                        for q in query_list
                    },
                ),
            ],
        )
    )
    if not complete:
        modules.append(
            ModuleCall(
                name="tracing",
                source="tracing",
                comment="Canary traces: an X-Ray group on annotation.canary and a higher sampling rate.",
                args=[
                    ("name_prefix", _short(prefix, 20)),
                    ("canary_service_names", [p.candidate.name for p in spec.read_paths]),
                    ("canary_fixed_rate", spec.observability.tracing.canary_sampling_rate),
                    ("canary_reservoir_size", spec.observability.tracing.canary_reservoir),
                ],
            )
        )
    outputs += [
        Output("rollback_alarm_name", "The composite alarm that rolls deployments back.", Expr("module.alarms.rollback_alarm_name")),
        Output("dashboard_name", "CloudWatch dashboard.", Expr("module.dashboard.dashboard_name")),
        Output("codedeploy_application", "CodeDeploy application.", Expr("module.code_deploy.application_name")),
    ]
    backend = spec.backend
    backend_args: list[tuple[str, object]] = [
        ("bucket", backend.bucket),
        ("key", backend.key),
        ("region", backend.region),
        ("encrypt", True),
    ]
    if backend.kms_key_id:
        backend_args.append(("kms_key_id", backend.kms_key_id))
    if backend.locking == "dynamodb":
        backend_args.append(("dynamodb_table", backend.dynamodb_table))
    else:
        backend_args.append(("use_lockfile", True))
    tags = {
        "cutover-release": spec.release.name,
        "cutover-environment": spec.release.environment,
        "owner": spec.release.owner,
        **spec.release.tags,
    }
    return ReleasePlan(
        spec_file=spec_file,
        env=spec.release.environment,
        release=spec.release.name,
        region=spec.release.region,
        phase=spec.phase,
        required_terraform=">= 1.10.0" if backend.locking == "s3_lockfile" else ">= 1.5.0",
        backend=backend_args,
        default_tags=dict(sorted(tags.items())),
        modules=modules,
        outputs=outputs,
        checkov_skips=[CheckovSkip(s.id, s.reason) for s in spec.security.checkov_skips],
        flags_document=None if complete else flags.document(spec),
        dashboard_body=dashboard.body(spec, dashboard_name),
        queries=query_list,
    )


def _short(text: str, limit: int) -> str:
    """Shorten a name to `limit` characters, keeping it unique with a hash suffix."""
    if len(text) <= limit:
        return text
    import hashlib

    digest = hashlib.sha256(text.encode()).hexdigest()[:6]
    return f"{text[: limit - 7]}-{digest}"
