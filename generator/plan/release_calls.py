"""The release-wide module calls: key, dependency layers, delivery, alarms, dashboard, queries, tracing.

One builder per module block, like `cutover.generator.plan.function_calls` for the functions;
`cutover.generator.plan.release` puts them in order. References to other blocks are `ModuleRef`
outputs, so a renamed block or output fails at generation time.
"""

from __future__ import annotations

import dataclasses

from cutover.generator.plan import alarms, deploy_probe, queries
from cutover.generator.plan.analysis_guardrails import analysis_guardrails
from cutover.generator.plan.controller import ControllerConfig, ControllerPath
from cutover.generator.plan.flag_document import canary_flag_key
from cutover.generator.plan.function_calls import BUILD, XRAY_CANARY_FILTER, appconfig_environment
from cutover.generator.plan.hcl import Expr, Template
from cutover.generator.plan.modules import (
    ALARMS,
    CODE_DEPLOY,
    CONTROLLER,
    CONTROLLER_FUNCTION,
    DASHBOARD,
    DEPLOY_PROBE,
    FEATURE_FLAGS,
    KMS,
    QUERIES,
    TRACING,
    UNSET,
    AlarmsArgs,
    CodeDeployArgs,
    ControllerArgs,
    DashboardArgs,
    FeatureFlagsArgs,
    KmsArgs,
    LayerArgs,
    ModuleCall,
    PathModules,
    QueriesArgs,
    TracingArgs,
    dependencies,
)
from cutover.generator.spec.model import ReleaseSpec
from cutover.generator.spec.names import controller_enabled, name_prefix, short, state_machine_name


def dashboard_name(spec: ReleaseSpec) -> str:
    return spec.observability.dashboard_name or name_prefix(spec)


def kms_call(spec: ReleaseSpec) -> ModuleCall:
    return ModuleCall(
        at=KMS,
        comment="The customer-managed key for logs, queues, topics and function environments.",
        args=KmsArgs(
            alias_name=f"cutover/{name_prefix(spec)}",
            key_arn=spec.security.kms_key_arn,
        ),
    )


def architectures(spec: ReleaseSpec) -> list[str]:
    """The instruction sets of the functions this phase deploys (one dependency layer each)."""
    complete = spec.phase == "complete"
    return sorted(
        {f.architecture for p in spec.read_paths for f in (p.candidate, *(() if complete else (p.control,)))}
        | ({spec.cleanup.function.architecture} if spec.cleanup else set())
        | ({spec.guard.function.architecture} if spec.guard and not complete else set())
        | ({spec.delivery.controller.function.architecture} if controller_enabled(spec) else set())
    )


def dependency_calls(spec: ReleaseSpec) -> list[ModuleCall]:
    calls = []
    for arch in architectures(spec):
        path = f"{BUILD}/layers/deps-{arch}.zip"
        calls.append(
            ModuleCall(
                at=dependencies(arch),
                comment=f"Third-party dependencies of the functions ({arch}), built by `make build`.",
                args=LayerArgs(
                    name=f"{name_prefix(spec)}-deps-{arch.replace('_', '-')}",
                    architecture=arch,
                    package={"filename": Template(path), "source_code_hash": Expr(f'filebase64sha256("{path}")')},
                ),
            )
        )
    return calls


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


def code_deploy_application(spec: ReleaseSpec) -> str:
    return spec.delivery.codedeploy.application or name_prefix(spec)


def code_deploy_call(spec: ReleaseSpec) -> ModuleCall:
    """One deployment group per function clients or the router call: the control and the
    candidate, each stopped by the metric alarms that judge its code (no composite) and,
    before any traffic moves, by the deploy probe."""
    document = alarms.build(spec).document()
    groups: dict[str, object] = {}
    for path in spec.read_paths:
        at = PathModules.of(path)
        for fn, module, role in ((path.control, at.control, "router"), (path.candidate, at.candidate, "candidate")):
            groups[fn.name] = {"function_name": module.output("function_name"),
                               "alias_name": module.output("alias_name"),
                               "alarm_names": [deploy_probe.alarm_name(k) for k in
                                               deploy_probe.group_alarm_keys(spec, document, path.name, role)]}
    probe = spec.delivery.codedeploy.probe
    return ModuleCall(
        at=CODE_DEPLOY,
        comment="Code changes reach the aliases through CodeDeploy: the probe judges each version first, "
                "then its alarms.",
        args=CodeDeployArgs(
            application_name=code_deploy_application(spec),
            deployment_config=codedeploy_config(spec),
            deployment_groups=groups,
            lifecycle_hook_function_names=[DEPLOY_PROBE.output("function_name")] if probe.enabled else UNSET,
        ),
    )


def feature_flags_call(spec: ReleaseSpec) -> ModuleCall:
    """Kept at complete too (at 100%): the router's last version reads the flags while it
    is the CodeDeploy rollback target of the entry's new code."""
    ac = spec.delivery.appconfig
    prefix = name_prefix(spec)
    return ModuleCall(
        at=FEATURE_FLAGS,
        comment="The canary and shadow flags, deployed by AppConfig and rolled back on the alarm.",
        args=FeatureFlagsArgs(
            application_name=ac.application,
            environment_name=appconfig_environment(spec),
            profile_name=ac.profile,
            description=f"cutover {spec.release.name} ({spec.release.environment})",
            document_path=Template("${path.module}/flags.json"),
            kept_documents_path=Template("${path.module}/flag-versions.json"),
            guard_strategy_name=f"{prefix}-guard"[:64] if spec.guard else None,
            controller_enabled=controller_enabled(spec) or UNSET,
            strategy={
                # All at once: every execution environment gets the new flags
                # at its next poll. No monitor watches the bake (the guard does,
                # at any time); the bake still blocks the next flag deployment.
                "name": f"{prefix}-all-at-once"[:64],
                "growth_type": "LINEAR",
                "growth_factor": 100,
                "duration_minutes": 0,
                "final_bake_minutes": ac.final_bake_minutes,
            },
            kms_key_arn=KMS.output("key_arn"),
            extension_architecture=spec.read_paths[0].control.architecture,
            extension_layer_parameter=ac.agent_layer_parameter,
            extension_layer_arn=ac.agent_layer_arn or UNSET,
        ),
    )


def alarms_call(spec: ReleaseSpec) -> ModuleCall:
    notify = spec.observability.notifications
    return ModuleCall(
        at=ALARMS,
        comment="The alarms of alarms.json; the composite of its error rates is the single rollback signal.",
        args=AlarmsArgs(
            name_prefix=name_prefix(spec),
            definitions=Expr('jsondecode(file("${path.module}/alarms.json"))'),
            notification_topic_arns=notify.topic_arns,
            notification_emails=notify.emails,
            kms_key_arn=KMS.output("key_arn"),
        ),
    )


def dashboard_call(spec: ReleaseSpec) -> ModuleCall:
    return ModuleCall(
        at=DASHBOARD,
        comment="Invocations, error rate, p95, shadow diffs, canary share and alarm states.",
        args=DashboardArgs(
            name=dashboard_name(spec),
            body_path=Template("${path.module}/dashboard.json"),
            template_vars={"rollback_alarm_arn": ALARMS.output("rollback_alarm_arn")},
        ),
    )


def queries_call(spec: ReleaseSpec, query_list: list[queries.Query]) -> ModuleCall:
    saved = {
        q.slug: {
            "title": q.title,
            "file": Template(f"${{path.module}}/queries/{q.slug}.logsinsights"),
            "log_group_names": [m.output("log_group_name") for m in q.modules],
        }
        for q in query_list
    }
    return ModuleCall(
        at=QUERIES,
        comment="Saved Logs Insights queries for operators.",
        args=QueriesArgs(name_prefix=f"cutover/{name_prefix(spec)}", queries=saved),
    )


def tracing_call(spec: ReleaseSpec) -> ModuleCall:
    tracing = spec.observability.tracing
    return ModuleCall(
        at=TRACING,
        comment="Canary traces: an X-Ray group on annotation.canary and a higher sampling rate.",
        args=TracingArgs(
            name_prefix=short(name_prefix(spec), 20),
            canary_service_names=[p.candidate.name for p in spec.read_paths],
            group_filter_expression=XRAY_CANARY_FILTER,
            canary_fixed_rate=tracing.canary_sampling_rate,
            canary_reservoir_size=tracing.canary_reservoir,
        ),
    )


CONTROLLER_DEFINITION = "controller.asl.json"


def controller_config(spec: ReleaseSpec, spec_file: str) -> ControllerConfig:
    """What the controller's state machine is built from (generator/plan/controller.py)."""
    controller = spec.delivery.controller
    assert controller is not None
    return ControllerConfig(
        release=spec.release.name,
        environment=spec.release.environment,
        spec_file=spec_file,
        paths=tuple(ControllerPath(p.name, canary_flag_key(spec, i), tuple(p.canary.steps), p.canary.percent,
                                   p.shadow.enabled)
                    for i, p in enumerate(spec.read_paths)),
        guardrails=dataclasses.asdict(analysis_guardrails(spec.guardrails)),
        observe_seconds=controller.observe_minutes * 60,
        max_holds=controller.max_holds,
        approval=controller.approval,
        approval_timeout_seconds=controller.approval_timeout_hours * 3600,
        period_seconds=spec.guardrails.period_seconds,
        poll_interval_seconds=spec.delivery.appconfig.poll_interval_s,
    )


def controller_call(spec: ReleaseSpec) -> ModuleCall:
    """The state machine, its role and log group, and its schedule (if any)."""
    controller = spec.delivery.controller
    assert controller is not None
    flags = FEATURE_FLAGS
    return ModuleCall(
        at=CONTROLLER,
        comment="The controller: walks the canary through its steps, each judged after it settled "
                "(controller.asl.json).",
        args=ControllerArgs(
            name=state_machine_name(spec),
            definition_path=Template(f"${{path.module}}/{CONTROLLER_DEFINITION}"),
            function_arn=CONTROLLER_FUNCTION.output("function_arn"),
            application_id=flags.output("application_id"),
            environment_id=flags.output("environment_id"),
            environment_arn=flags.output("environment_arn"),
            profile_id=flags.output("profile_id"),
            profile_arn=flags.output("profile_arn"),
            strategy_id=flags.output("strategy_id"),
            strategy_arn=flags.output("strategy_arn"),
            kms_key_arn=KMS.output("key_arn"),
            topic_arn=ALARMS.output("topic_arn"),
            log_retention_days=spec.observability.log_retention_days,
            schedule=controller.schedule,
        ),
    )
