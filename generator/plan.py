"""Spec -> release plan: plain data saying what will be built, and nothing about layout.

The plan decides every name, every module call and its arguments, the flag document,
the dashboard body and the queries; `generator.render` only lays it out as files.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from generator import alarms, dashboard, flags, queries
from generator.function_calls import (
    BUILD,
    XRAY_CANARY_FILTER,
    ModuleCall,
    appconfig_environment,
    brake_call,
    candidate_call,
    cleanup_call,
    entry_call,
    ident,
    router_call,
    shadow_call,
)
from generator.hcl import Expr, Template
from generator.network import vpc_endpoint_calls
from generator.spec import ReleaseSpec


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
    kept_flag_documents: list[dict] | None
    dashboard_body: dict
    alarms_document: dict
    queries: list[queries.Query] = field(default_factory=list)


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
        | ({spec.brake.function.architecture} if spec.brake and not complete else set())
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
    for i, path in enumerate(spec.read_paths):
        p = ident(path.name)
        # The entry clients call keeps its module, name and alias in every phase; at
        # complete it runs the candidate's code (entry_call), shipped through CodeDeploy.
        modules.append(entry_call(spec, i) if complete else router_call(spec, i))
        function_names.append(path.control.name)
        deployment_groups[path.control.name] = {
            "function_name": Expr(f"module.{p}_control.function_name"),
            "alias_name": Expr(f"module.{p}_control.alias_name"),
        }
        modules.append(candidate_call(spec, i))
        function_names.append(path.candidate.name)
        deployment_groups[path.candidate.name] = {
            "function_name": Expr(f"module.{p}_candidate.function_name"),
            "alias_name": Expr(f"module.{p}_candidate.alias_name"),
        }
        if not complete and path.shadow.enabled:
            modules.append(shadow_call(spec, i))
        outputs.append(
            Output(
                name=f"{p}_entrypoint",
                description=f"The alias ARN that clients of {path.name} call.",
                value=Expr(f"module.{p}_control.alias_arn"),
            )
        )
    modules += vpc_endpoint_calls(spec, prefix)
    if spec.brake is not None and not complete:
        function_names.append(spec.brake.function.name)
    if spec.cleanup is not None:
        modules.append(cleanup_call(spec, function_names))
    if spec.brake is not None and not complete:
        modules.append(brake_call(spec))
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
    # Kept at complete too (at 100%): the router's last version reads them while it is
    # the CodeDeploy rollback target of the entry's new code.
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
                ("kept_documents_path", Template("${path.module}/flag-versions.json")),
                ("brake_strategy_name", f"{prefix}-brake"[:64] if spec.brake else None),
                (
                    "strategy",
                    {
                        # All at once: every execution environment gets the new flags
                        # at its next poll; the bake is the monitor window.
                        "name": f"{prefix}-all-at-once"[:64],
                        "growth_type": "LINEAR",
                        "growth_factor": 100,
                        "duration_minutes": 0,
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
            comment="The alarms of alarms.json; the composite of its error rates is the single rollback signal.",
            args=[
                ("name_prefix", prefix),
                ("definitions", Expr('jsondecode(file("${path.module}/alarms.json"))')),
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
                    ("group_filter_expression", XRAY_CANARY_FILTER),
                    ("canary_fixed_rate", spec.observability.tracing.canary_sampling_rate),
                    ("canary_reservoir_size", spec.observability.tracing.canary_reservoir),
                ],
            )
        )
    outputs += [
        Output("rollback_alarm_name", "The composite alarm that rolls deployments back.", Expr("module.alarms.rollback_alarm_name")),
        Output("rollback_alarm_arn", "ARN of the composite rollback alarm.", Expr("module.alarms.rollback_alarm_arn")),
        Output("alarm_topic_arn", "SNS topic of the rollback and notify alarms.", Expr("module.alarms.topic_arn")),
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
        required_terraform=">= 1.10.0" if backend.locking == "s3_lockfile" else ">= 1.7.0",
        backend=backend_args,
        default_tags=dict(sorted(tags.items())),
        modules=modules,
        outputs=outputs,
        checkov_skips=[CheckovSkip(s.id, s.reason) for s in spec.security.checkov_skips],
        flags_document=flags.document(spec),
        kept_flag_documents=flags.kept_documents(spec),
        dashboard_body=dashboard.body(spec, dashboard_name),
        alarms_document=alarms.build(spec).document(),
        queries=query_list,
    )


def _short(text: str, limit: int) -> str:
    """Shorten a name to `limit` characters, keeping it unique with a hash suffix."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:6]
    return f"{text[: limit - 7]}-{digest}"
