"""The controller's stages, as pure functions of the plan it carries (`config.paths`) and the
flag document AppConfig serves.

The next stage is decided from what is served, never from what an earlier call said: the
first path (in the spec's order) served below its last step moves to the first of its
steps above what is served. Its version is the hosted configuration version whose
content is the served document with that path's canary flag moved to the step, as the
generator writes it (generator/plan/flag_document.py: `enabled`, `percent`, `step`);
the generator keeps one per step (and the multi-path sequence documents), so the
controller never creates a version.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from cutover_runtime import live

# "cutover controller <execution name>: <path> <from>% -> <step>%"
_DESCRIPTION = re.compile(r"^(?P<mark>.+?) (?P<execution>\S+): (?P<path>\S+) (?P<from>[0-9.]+)% -> (?P<step>[0-9.]+)%$")


def flags(paths: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Read path -> its canary flag key."""
    return {str(p["name"]): str(p["flag"]) for p in paths}


def execution_name(execution_arn: str) -> str:
    """The execution's name: the last part of its ARN (arn:aws:states:...:execution:<machine>:<name>)."""
    return execution_arn.rsplit(":", 1)[-1]


def number(value: float) -> int | float:
    """A percent as the generator writes it: 5, not 5.0."""
    return int(value) if float(value).is_integer() else float(value)


def next_move(paths: Sequence[Mapping[str, Any]], served: Mapping[str, float]) -> tuple[Mapping[str, Any], float,
                                                                                          float] | None:
    """(path, from, step) of the next stage, or None when every path is at its last step."""
    for path in paths:
        steps = [float(s) for s in path["steps"]]
        now = float(served.get(str(path["name"]), 0.0))
        if steps and now < steps[-1]:
            return path, now, next(s for s in steps if s > now)
    return None


def moved(document: Mapping[str, Any], flag: str, step: float) -> dict[str, Any]:
    """The served document with canary `flag` at `step`, without AppConfig's metadata."""
    doc = live.without_metadata(document)
    value = doc.setdefault("values", {}).setdefault(flag, {})
    pct = number(step)
    value.update({"enabled": pct > 0, "percent": pct, "step": pct})
    return doc


def same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Equal as parsed JSON, AppConfig's own `_createdAt`/`_updatedAt` dropped."""
    return _canonical(a) == _canonical(b)


def _canonical(document: Mapping[str, Any]) -> str:
    return json.dumps(live.without_metadata(document), sort_keys=True)


def description(execution: str, path: str, start: float, step: float) -> str:
    """The deployment's description: CONTROLLER_MARK first (how `live.started_by` knows it)."""
    return f"{live.CONTROLLER_MARK} {execution}: {path} {start:g}% -> {step:g}%"[:1024]


def parse(text: str) -> dict[str, Any] | None:
    """{execution, path, from, step} of a controller deployment's description, else None."""
    match = _DESCRIPTION.match(text or "")
    if match is None or match["mark"] != live.CONTROLLER_MARK:
        return None
    return {"execution": match["execution"], "path": match["path"], "from": float(match["from"]),
            "step": float(match["step"])}


def stage(path: Mapping[str, Any], start: float, step: float, version: int, execution: str,
          served: Mapping[str, float]) -> dict[str, Any]:
    """The Stage the state machine carries from survey to settle and judge."""
    name = str(path["name"])
    return {"path": name, "flag": str(path["flag"]), "from": number(start), "step": number(step),
            "version": str(version), "description": description(execution, name, start, step),
            "percents": {**{p: number(v) for p, v in served.items()}, name: number(step)}}


def spec_changes(environment: str, paths: Sequence[Mapping[str, Any]], percents: Mapping[str, float]) -> list[str]:
    """The `cutover ramp --sync` line when what is (or will be) served differs from the
    spec's percent of a path (a path's `percent` in the config, when the plan carries it)."""
    differ = [f"{p['name']} {float(p['percent']):g}% in the spec, {float(percents[p['name']]):g}% served"
              for p in paths if "percent" in p and p["name"] in percents
              and float(p["percent"]) != float(percents[p["name"]])]
    if not differ:
        return []
    return [f"cutover ramp --sync --env {environment} (the spec := what is served: {'; '.join(differ)})"]
