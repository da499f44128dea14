"""What the rehearsal takes from the release spec, through the generator itself: the
flags.json an apply of each step would deploy, the functions' rendered environments,
the CodeDeploy traffic-shifting schedule and the AppConfig strategy."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from cutover.generator.plan.hcl import Expr
from cutover.generator.plan.release import build_plan
from cutover.generator.plan.release_calls import codedeploy_config
from cutover.generator.render.files import JSON_MARKER_KEY, render_files
from cutover.generator.spec.model import ReleaseSpec
from cutover.runtime import env as env_keys

ACCOUNT = "123456789012"


def spec_at(spec: ReleaseSpec, percent: float | list[float]) -> ReleaseSpec:
    """The spec as the operator edits it for a step: the canary percent (and the phase);
    a list gives each read path its own percent."""
    percents = percent if isinstance(percent, list) else [percent] * len(spec.read_paths)
    paths = [p.model_copy(update={"canary": p.canary.model_copy(update={"percent": pct})})
             for p, pct in zip(spec.read_paths, percents, strict=True)]
    phase = "shadow" if not any(percents) else "canary"
    return spec.model_copy(update={"read_paths": paths, "phase": phase})


def flag_document(spec: ReleaseSpec, spec_file: str, percent: float | list[float]) -> dict[str, Any]:
    """The rendered flags.json of that step (or of these percents, one per read path), as
    the Terraform module hosts it (no "//")."""
    files = render_files(build_plan(spec_at(spec, percent), spec_file))
    document = json.loads(files["flags.json"])
    document.pop(JSON_MARKER_KEY, None)
    return document


def flag_values(spec: ReleaseSpec, spec_file: str, percent: float) -> dict[str, Any]:
    """The evaluated flag values of that step (what the agent serves)."""
    return flag_document(spec, spec_file, percent)["values"]


def alarm_document(spec: ReleaseSpec, percent: float) -> dict[str, Any]:
    """alarms.json as an apply of the spec at that percent renders it (generator/plan/alarms.py):
    each step's apply resizes the windows for the step's traffic."""
    from cutover.generator.plan.alarms import build

    return build(spec_at(spec, percent)).document()


def live_module() -> Any:
    """cutover_runtime/live.py: what is served, the canary-off document, the marks."""
    from cutover.runtime import live

    return live


def candidate_arn(spec: ReleaseSpec, index: int = 0) -> str:
    path = spec.read_paths[index]
    return (f"arn:aws:lambda:{spec.release.region}:{ACCOUNT}:function:"
            f"{path.candidate.name}:{path.alias}")


def module_names(spec: ReleaseSpec, spec_file: str) -> list[str]:
    return [c.name for c in build_plan(spec, spec_file).modules]


def function_environment(spec: ReleaseSpec, spec_file: str, module_name: str,
                         references: dict[str, str] | None = None, resolver: Any = None,
                         path_index: int = 0) -> dict[str, str]:
    """The ``environment`` argument the plan gives a function module, with the Terraform
    references it holds resolved to the rehearsal's own resources (``references``)."""
    plan = build_plan(spec, spec_file)
    call = next(c for c in plan.modules if c.name == module_name)
    environment = dict(call.args)["environment"]
    known = {**(references or {})}
    out = {}
    for key, value in environment.items():
        if isinstance(value, Expr):
            if key == env_keys.CANDIDATE_ARN:
                value = candidate_arn(spec, path_index)
            elif str(value) in known:
                value = known[str(value)]
            elif resolver is not None and resolver(str(value)) is not None:
                value = resolver(str(value))
            else:
                raise ValueError(f"cannot resolve {key} = {value} outside Terraform")
        out[key] = str(value)
    return out


@dataclass(frozen=True)
class ShiftPlan:
    """CodeDeploy's Lambda traffic shifting: (minutes after start, share on the new version)."""

    name: str
    steps: tuple[tuple[float, float], ...]

    @property
    def total_minutes(self) -> float:
        return self.steps[-1][0]


def shift_plan(spec: ReleaseSpec) -> ShiftPlan:
    config = codedeploy_config(spec)
    name = str(config["name"])
    if config["custom"]:
        kind = "Canary" if config["type"] == "TimeBasedCanary" else "Linear"
        percent, interval = float(config["percentage"]), float(config["interval_minutes"])
    elif name.endswith("AllAtOnce"):
        return ShiftPlan(name, ((0.0, 1.0),))
    else:
        match = re.search(r"Lambda(Canary|Linear)(\d+)Percent(?:Every)?(\d+)Minutes?", name)
        if match is None:
            raise ValueError(f"unknown CodeDeploy configuration {name}")
        kind, percent, interval = match.group(1), float(match.group(2)), float(match.group(3))
    if kind == "Canary":
        return ShiftPlan(name, ((0.0, percent / 100), (interval, 1.0)))
    count = math.ceil(100 / percent)
    return ShiftPlan(name, tuple((i * interval, min(1.0, (i + 1) * percent / 100)) for i in range(count)))
