"""What CodeDeploy judges a new version by: its deployment group's alarms and the deploy probe.

* Each deployment group lists the member metric alarms of the rollback composite that
  judge its function (alarms.json's ``judges``), never the composite: CodeDeploy documents
  metric alarms only, at most 10 a group (docs/aws-rules.md, CodeDeploy).
* The deploy probe (functions/deploy_probe) is the BeforeAllowTraffic hook every
  deployment names: at a 1% canary no alarm can judge a new candidate version while its
  deployment runs, so the probe reads through the version before traffic moves.
"""

from __future__ import annotations

import json

from cutover.generator.plan.function_calls import ACCOUNT, PARTITION, _function_args
from cutover.generator.plan.hcl import Expr, Template
from cutover.generator.plan.modules import ALARMS, DEPLOY_PROBE, ModuleCall
from cutover.generator.spec.checks import probe_limit_pct
from cutover.generator.spec.model import Function, ReleaseSpec
from cutover.runtime import env as env_keys

MAX_GROUP_ALARMS = 10
ROUTER, CANDIDATE, CONTROL = "router", "candidate", "control"


def judges(key: str, alarm: dict) -> str:
    """Whose code or route an alarm's breach blames: alarms.json's ``judges``, or, for a
    document written before that field, what its kind says (``<path>/<kind>``)."""
    if alarm.get("judges"):
        return str(alarm["judges"])
    kind = key.split("/", 1)[1]
    if kind.startswith(("control", "served")):  # served: every request, mostly the control's
        return CONTROL
    if kind.startswith(("candidate", "canary", "shadow-error")):
        return CANDIDATE
    return ROUTER


def group_judges(spec: ReleaseSpec, role: str) -> frozenset[str]:
    """The ``judges`` values that can blame the code a group ships. At complete the entry
    (the control's module) ships the candidate's code, with the router's last version as
    its rollback target."""
    if role == CANDIDATE:
        return frozenset({CANDIDATE})
    if spec.phase == "complete":
        return frozenset({CANDIDATE, ROUTER})
    return frozenset({ROUTER, CONTROL})


def group_alarm_keys(spec: ReleaseSpec, document: dict, path: str, role: str) -> list[str]:
    """The rollback composite's members of one read path that judge a group's code."""
    wanted = group_judges(spec, role)
    keys = [k for k in document["rollback"]["members"]
            if k.startswith(f"{path}/") and judges(k, document["alarms"][k]) in wanted]
    if len(keys) > MAX_GROUP_ALARMS:
        raise ValueError(f"{path} {role}: {len(keys)} alarms, a deployment group takes at most {MAX_GROUP_ALARMS}")
    return sorted(keys)


def alarm_name(key: str) -> Expr:
    return Expr(f'{ALARMS.output("alarm_names")}["{key}"]')


def probe_function_name(spec: ReleaseSpec) -> str:
    from cutover.generator.spec.names import name_prefix, short

    probe = spec.delivery.codedeploy.probe
    return probe.function_name or short(f"CodeDeployHook_{name_prefix(spec)}", 64)


def probe_targets(spec: ReleaseSpec) -> dict[str, int]:
    """Every function CodeDeploy ships, with how long one read of it may take (ms): the
    function's own timeout. The probe judges errors, as the limit does; the first read of
    a new version is a cold start, and slowness is the go/no-go analysis's p95."""
    targets: dict[str, int] = {}
    for path in spec.read_paths:
        entry = path.candidate if spec.phase == "complete" else path.control
        targets[path.control.name] = entry.timeout_s * 1000
        targets[path.candidate.name] = path.candidate.timeout_s * 1000
    return dict(sorted(targets.items()))


def group_arns(spec: ReleaseSpec, application: str) -> list[Template]:
    base = f"arn:{PARTITION}:codedeploy:{spec.release.region}:{ACCOUNT}:deploymentgroup:{application}"
    return [Template(f"{base}/{name}") for name in probe_targets(spec)]


def probe_call(spec: ReleaseSpec, application: str) -> ModuleCall:
    probe = spec.delivery.codedeploy.probe
    targets = probe_targets(spec)
    functions = [f"arn:{PARTITION}:lambda:{spec.release.region}:{ACCOUNT}:function:{name}:*" for name in targets]
    statements: list[dict[str, object]] = [
        {"sid": "ReadTheShipment", "actions": ["codedeploy:GetDeployment"], "resources": group_arns(spec, application)},
        # The action takes no resource type (IAM's service authorization reference): "*" only.
        {"sid": "ReportTheVerdict", "actions": ["codedeploy:PutLifecycleEventHookExecutionStatus"],
         "resources": Expr('["*"] # the action takes no resource type: "*" is the only valid resource')},
        {"sid": "ReadThroughShippedVersions", "actions": ["lambda:InvokeFunction"],
         "resources": [Template(arn) for arn in functions]},
    ]
    env = {
        env_keys.PROBE_TARGETS: json.dumps(targets, separators=(",", ":")),
        env_keys.PROBE_USER_IDS: json.dumps(probe.user_ids, separators=(",", ":"), ensure_ascii=False),
        env_keys.PROBE_MAX_READS: str(probe.max_reads),
        env_keys.PROBE_ERROR_RATE_PCT: f"{probe_limit_pct(spec):g}",
        env_keys.PROBE_CONFIDENCE: f"{spec.guardrails.confidence:g}",
    }
    fn = Function(name=probe_function_name(spec), timeout_s=probe.timeout_s,
                  architecture=spec.read_paths[0].candidate.architecture)
    return ModuleCall(
        at=DEPLOY_PROBE,
        comment="CodeDeploy's BeforeAllowTraffic hook: reads through each new version before traffic moves.",
        args=_function_args(spec, fn, "deploy_probe", f"cutover {spec.release.name}: judge versions before traffic",
                            env, alias="live", statements=statements),
    )


def appspec_hooks(spec: ReleaseSpec) -> list[dict[str, str]]:
    """The AppSpec ``Hooks`` of every deployment `cutover deploy` starts (AppSpec 'hooks'
    section for Lambda: each lifecycle event names one function, run once per deployment)."""
    if not spec.delivery.codedeploy.probe.enabled:
        return []
    return [{"BeforeAllowTraffic": probe_function_name(spec)}]
