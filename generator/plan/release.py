"""Spec -> release plan: plain data saying what will be built, and nothing about layout.

The plan decides every name, every module call and its arguments, the flag document,
the dashboard body and the queries; `cutover.generator.render.files` only lays it out as files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cutover.generator.plan import (
    alarms,
    controller,
    dashboard,
    deploy_probe,
    flag_document,
    queries,
)
from cutover.generator.plan.function_calls import (
    candidate_call,
    cleanup_call,
    controller_function_call,
    entry_call,
    guard_call,
    router_call,
    shadow_call,
)
from cutover.generator.plan.hcl import Expr
from cutover.generator.plan.modules import (
    ALARMS,
    CODE_DEPLOY,
    CONTROLLER,
    DASHBOARD,
    DEPLOY_PROBE,
    FEATURE_FLAGS,
    ModuleCall,
    PathModules,
    check_references,
    ident,
)
from cutover.generator.plan.network import vpc_endpoint_calls
from cutover.generator.plan.release_calls import (
    alarms_call,
    code_deploy_application,
    code_deploy_call,
    controller_call,
    controller_config,
    dashboard_call,
    dashboard_name,
    dependency_calls,
    feature_flags_call,
    kms_call,
    name_prefix,
    queries_call,
    tracing_call,
)
from cutover.generator.spec.model import ReleaseSpec
from cutover.generator.spec.names import controller_enabled, controller_function_name


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
    # The controller's state machine (ASL), when the spec enables it: controller.asl.json.
    controller_definition: dict | None = None


def module_calls(spec: ReleaseSpec) -> list[ModuleCall]:
    """Every module block of the root module, in the order main.tf lists them."""
    complete = spec.phase == "complete"
    calls = [kms_call(spec), *dependency_calls(spec)]
    for i, path in enumerate(spec.read_paths):
        # The entry clients call keeps its module, name and alias in every phase; at
        # complete it runs the candidate's code (entry_call), shipped through CodeDeploy.
        calls.append(entry_call(spec, i) if complete else router_call(spec, i))
        calls.append(candidate_call(spec, i))
        if not complete and path.shadow.enabled:
            calls.append(shadow_call(spec, i))
    calls += vpc_endpoint_calls(spec, name_prefix(spec))
    if spec.cleanup is not None:
        calls.append(cleanup_call(spec, pruned_functions(spec)))
    if spec.guard is not None and not complete:
        calls.append(guard_call(spec))
    if spec.delivery.codedeploy.probe.enabled:
        calls.append(deploy_probe.probe_call(spec, code_deploy_application(spec)))
    calls += [code_deploy_call(spec), feature_flags_call(spec), alarms_call(spec), dashboard_call(spec),
              queries_call(spec, queries.build(spec))]
    if controller_enabled(spec):
        calls += [controller_function_call(spec), controller_call(spec)]
    if not complete:
        calls.append(tracing_call(spec))
    return calls


def pruned_functions(spec: ReleaseSpec) -> list[str]:
    """The functions whose old versions the cleanup prunes."""
    names = [name for p in spec.read_paths for name in (p.control.name, p.candidate.name)]
    if spec.guard is not None and spec.phase != "complete":
        names.append(spec.guard.function.name)
    if spec.delivery.codedeploy.probe.enabled:
        names.append(deploy_probe.probe_function_name(spec))
    if controller_enabled(spec):
        names.append(controller_function_name(spec))
    return names


def root_outputs(spec: ReleaseSpec) -> list[Output]:
    outputs = [
        Output(f"{ident(path.name)}_entrypoint", f"The alias ARN that clients of {path.name} call.",
               PathModules.of(path).control.output("alias_arn"))
        for path in spec.read_paths
    ]
    return outputs + [
        Output("appconfig_application_id", "AppConfig application id.", FEATURE_FLAGS.output("application_id")),
        Output("appconfig_environment_id", "AppConfig environment id.", FEATURE_FLAGS.output("environment_id")),
        Output("appconfig_profile_id", "Feature flag profile id.", FEATURE_FLAGS.output("profile_id")),
        Output("rollback_alarm_name", "The composite alarm that rolls deployments back.",
               ALARMS.output("rollback_alarm_name")),
        Output("rollback_alarm_arn", "ARN of the composite rollback alarm.", ALARMS.output("rollback_alarm_arn")),
        Output("alarm_topic_arn", "SNS topic of the rollback and notify alarms.", ALARMS.output("topic_arn")),
        Output("dashboard_name", "CloudWatch dashboard.", DASHBOARD.output("dashboard_name")),
        Output("codedeploy_application", "CodeDeploy application.", CODE_DEPLOY.output("application_name")),
        *([Output("codedeploy_before_allow_traffic_hook",
                  "The function every deployment's AppSpec names as its BeforeAllowTraffic hook.",
                  DEPLOY_PROBE.output("function_name"))] if spec.delivery.codedeploy.probe.enabled else []),
        *([Output("controller_state_machine_arn", "The controller's state machine (`cutover controller start`).",
                  CONTROLLER.output("state_machine_arn"))] if controller_enabled(spec) else []),
    ]


def backend_args(spec: ReleaseSpec) -> list[tuple[str, object]]:
    backend = spec.backend
    args: list[tuple[str, object]] = [
        ("bucket", backend.bucket),
        ("key", backend.key),
        ("region", backend.region),
        ("encrypt", True),
    ]
    if backend.kms_key_id:
        args.append(("kms_key_id", backend.kms_key_id))
    if backend.locking == "dynamodb":
        args.append(("dynamodb_table", backend.dynamodb_table))
    else:
        args.append(("use_lockfile", True))
    return args


def default_tags(spec: ReleaseSpec) -> dict[str, str]:
    tags = {
        "cutover-release": spec.release.name,
        "cutover-environment": spec.release.environment,
        "owner": spec.release.owner,
        **spec.release.tags,
    }
    return dict(sorted(tags.items()))


def build_plan(spec: ReleaseSpec, spec_file: str) -> ReleasePlan:
    modules = module_calls(spec)
    outputs = root_outputs(spec)
    check_references(modules, [o.value for o in outputs])
    flag_checks: dict[str, list] = {}  # the current document is also a kept one: checked once
    return ReleasePlan(
        spec_file=spec_file,
        env=spec.release.environment,
        release=spec.release.name,
        region=spec.release.region,
        phase=spec.phase,
        required_terraform=">= 1.10.0" if spec.backend.locking == "s3_lockfile" else ">= 1.7.0",
        backend=backend_args(spec),
        default_tags=default_tags(spec),
        modules=modules,
        outputs=outputs,
        checkov_skips=[CheckovSkip(s.id, s.reason) for s in spec.security.checkov_skips],
        flags_document=flag_document.document(spec, flag_checks),
        kept_flag_documents=flag_document.kept_documents(spec, flag_checks),
        dashboard_body=dashboard.body(spec, dashboard_name(spec)),
        alarms_document=alarms.build(spec).document(),
        queries=queries.build(spec),
        controller_definition=(controller.definition(controller_config(spec, spec_file))
                               if controller_enabled(spec) else None),
    )
