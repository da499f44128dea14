"""Every AWS name an operations command needs, read from the generator's plan.

The plan (cutover.generator.plan.release.build_plan) decides names once; this module only looks them
up in its module calls, so an operator command can never disagree with what Terraform
created.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cutover.generator.plan.flag_document import canary_flag_key, shadow_flag_key
from cutover.generator.plan.hcl import Expr
from cutover.generator.plan.queries import Query
from cutover.generator.plan.release import ReleasePlan, build_plan, name_prefix
from cutover.generator.spec.model import ReleaseSpec


@dataclass(frozen=True)
class PathNames:
    name: str
    alias: str
    router: str | None  # the entry function clients call (the router; once complete, candidate code)
    candidate: str
    canary_flag: str | None
    shadow_flag: str | None
    canary_percent: float
    steps: tuple[float, ...]
    salt: str
    sticky_key: str
    shadow_enabled: bool

    @property
    def entrypoint(self) -> str:
        """The function clients invoke (its name never changes, not even when complete)."""
        return self.router or self.candidate

    def log_group(self, function: str) -> str:
        return f"/aws/lambda/{function}"


@dataclass(frozen=True)
class ReleaseNames:
    env: str
    release: str
    region: str
    phase: str
    prefix: str
    spec_file: str
    paths: tuple[PathNames, ...]
    appconfig_application: str | None
    appconfig_environment: str | None
    appconfig_profile: str | None
    codedeploy_application: str
    deployment_groups: dict[str, str]  # function name -> deployment group name
    dashboard: str
    rollback_alarm: str
    alarms: tuple[str, ...]  # every alarm the release defines, rollback composite first
    rollback_members: tuple[str, ...]  # the error-rate alarms the composite is made of
    alarm_metrics: int  # metrics read by all metric alarms (CloudWatch bills per alarm metric)
    metrics_namespace: str
    queries: tuple[Query, ...]
    xray_group: str | None
    user_id_mode: str  # how the functions write the userId annotation: raw, hashed or off
    cleanup_function: str | None
    flags_document: dict | None
    guard_function: str | None = None  # the guard (module "guard"), when the spec has one
    # The guard's all-at-once, no-bake strategy (plan output `guard_strategy_name`), which
    # `cutover rollback` deploys with too; None: rollback makes `<prefix>-break-glass`.
    guard_strategy: str | None = None
    # The controller's Step Functions state machine (module "controller", rendered when the
    # spec enables delivery.controller), None without it.
    state_machine: str | None = None

    @property
    def complete(self) -> bool:
        """Complete: the entry function keeps its name and runs the candidate's code."""
        return self.phase == "complete"

    def path(self, name: str | None) -> PathNames:
        if name is None:
            return self.paths[0]
        for p in self.paths:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def functions(self) -> list[str]:
        out = [f for p in self.paths for f in (p.router, p.candidate) if f]
        return out + ([self.cleanup_function] if self.cleanup_function else [])


def module_args(plan: ReleasePlan, name: str) -> dict[str, object] | None:
    for module in plan.modules:
        if module.name == name:
            return dict(module.args)
    return None


def _literal(value: object) -> str | None:
    return None if isinstance(value, Expr) or value is None else str(value)


def alarm_names(plan: ReleasePlan) -> tuple[str, tuple[str, ...]]:
    """The rollback composite and every alarm (composite first, then its error-rate
    members, then the notify-only ones), from the plan's alarms document (alarms.json)."""
    doc = plan.alarms_document
    alarms = doc["alarms"]
    members = [alarms[k]["name"] for k in doc["rollback"]["members"]]
    others = sorted(a["name"] for k, a in alarms.items() if k not in doc["rollback"]["members"])
    return doc["rollback"]["name"], (doc["rollback"]["name"], *members, *others)


def _path_names(plan: ReleasePlan, spec: ReleaseSpec, i: int, flags: bool) -> PathNames:
    p = spec.read_paths[i]
    ident = p.name.replace("-", "_")
    entry = module_args(plan, f"{ident}_control")  # the function clients call, in every phase
    candidate = module_args(plan, f"{ident}_candidate")
    return PathNames(
        name=p.name, alias=p.alias, router=str(entry["name"]) if entry else None,
        candidate=str(candidate["name"]) if candidate else p.candidate.name,
        canary_flag=canary_flag_key(spec, i) if flags else None,
        shadow_flag=shadow_flag_key(spec, i) if flags else None,
        canary_percent=p.canary.percent, steps=tuple(p.canary.steps),
        salt=p.canary.salt or f"{spec.release.name}:{p.name}", sticky_key=p.canary.sticky_key,
        shadow_enabled=module_args(plan, f"{ident}_shadow") is not None,
    )


def from_plan(plan: ReleasePlan, spec: ReleaseSpec) -> ReleaseNames:
    flags = module_args(plan, "feature_flags") is not None
    paths = [_path_names(plan, spec, i, flags) for i in range(len(spec.read_paths))]
    ff = module_args(plan, "feature_flags") or {}
    cd = module_args(plan, "code_deploy") or {}
    tracing = module_args(plan, "tracing")
    cleanup = module_args(plan, "cleanup")
    guard = module_args(plan, "guard")
    rollback, alarms = alarm_names(plan)
    return ReleaseNames(
        env=plan.env, release=plan.release, region=plan.region, phase=plan.phase,
        prefix=name_prefix(spec), spec_file=plan.spec_file, paths=tuple(paths),
        appconfig_application=_literal(ff.get("application_name")),
        appconfig_environment=_literal(ff.get("environment_name")),
        appconfig_profile=_literal(ff.get("profile_name")),
        codedeploy_application=str(cd["application_name"]),
        deployment_groups={group: group for group in dict(cd.get("deployment_groups", {}))},
        dashboard=str((module_args(plan, "dashboard") or {})["name"]),
        rollback_alarm=rollback, alarms=alarms,
        rollback_members=tuple(plan.alarms_document["alarms"][k]["name"]
                               for k in plan.alarms_document["rollback"]["members"]),
        alarm_metrics=sum(len(a["metrics"]) for a in plan.alarms_document["alarms"].values()),
        metrics_namespace=spec.observability.metrics_namespace,
        queries=tuple(plan.queries),
        xray_group=f"{tracing['name_prefix']}-canary" if tracing else None,
        user_id_mode=spec.observability.tracing.user_id,
        cleanup_function=_literal(cleanup.get("name")) if cleanup else None,
        flags_document=plan.flags_document,
        guard_function=_literal(guard.get("name")) if guard else None,
        guard_strategy=_literal(ff.get("guard_strategy_name")),
        state_machine=_literal((module_args(plan, "controller") or {}).get("name")),
    )


def load(root: Path, env: str) -> tuple[ReleaseNames, ReleaseSpec, ReleasePlan]:
    """The names of one environment, from config/<env>.release.yaml (spec errors exit 2)."""
    from cutover.generator.spec.loader import load_spec
    from cutover.generator.workspace import Layout, load_plan

    layout = Layout(root)
    plan = load_plan(layout, env)
    spec = load_spec(layout.spec_file(env))
    return from_plan(plan, spec), spec, plan


__all__ = ["PathNames", "ReleaseNames", "build_plan", "from_plan", "load", "module_args"]
