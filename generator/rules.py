"""Rules that relate several fields of a spec; each problem names its exact YAML path."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from generator.errors import Loc, yaml_path
from generator.spec import LOG_RETENTION_DAYS, ReleaseSpec

Problem = tuple[Loc, str]

SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIAL", re.I)
RESERVED_ENV_PREFIXES = ("CUTOVER_", "AWS_", "LAMBDA_", "_")
# Lambda's limit on the environment is 4 KB in all; leave room for what cutover adds.
USER_ENV_BUDGET = 2048


def canary_flag_key(spec: ReleaseSpec, index: int) -> str:
    path = spec.read_paths[index]
    return path.canary.flag_key or f"{path.name}-canary"


def shadow_flag_key(spec: ReleaseSpec, index: int) -> str:
    path = spec.read_paths[index]
    return path.shadow.flag_key or f"{path.name}-shadow"


def check(spec: ReleaseSpec) -> list[Problem]:
    return [
        *_backend(spec),
        *_paths(spec),
        *_phase(spec),
        *_unique_names(spec),
        *_functions(spec),
        *_guardrails(spec),
        *_delivery(spec),
        *_observability(spec),
        *_security(spec),
    ]


def _backend(spec: ReleaseSpec) -> Iterator[Problem]:
    b = spec.backend
    if b.locking == "dynamodb" and not b.dynamodb_table:
        yield ("backend", "dynamodb_table"), "is required when locking is dynamodb"
    if b.locking == "s3_lockfile" and b.dynamodb_table:
        yield ("backend", "dynamodb_table"), "is only used when locking is dynamodb; remove it or set locking: dynamodb"


def _paths(spec: ReleaseSpec) -> Iterator[Problem]:
    for i, path in enumerate(spec.read_paths):
        at: Loc = ("read_paths", i)
        steps = path.canary.steps
        for j in range(1, len(steps)):
            if steps[j] <= steps[j - 1]:
                yield (*at, "canary", "steps", j), (
                    f"{steps[j]:g} does not follow {steps[j - 1]:g}; steps must be strictly increasing"
                )
        if steps[-1] != 100:
            yield (*at, "canary", "steps"), f"must end at 100 (the last step is {steps[-1]:g})"
        pct = path.canary.percent
        if pct != 0 and pct not in steps:
            allowed = ", ".join(f"{s:g}" for s in steps)
            yield (*at, "canary", "percent"), f"{pct:g} is not a planned step; allowed: 0, {allowed}"
        db = path.database
        if db is not None:
            if not db.subnet_ids:
                yield (*at, "database", "subnet_ids"), (
                    "a database implies a VPC for the candidate: list at least one subnet id"
                )
            if not db.security_group_ids:
                yield (*at, "database", "security_group_ids"), (
                    "a database implies a VPC for the candidate: list at least one security group id"
                )
        if path.canary.timeout_ms >= path.control.timeout_s * 1000:
            yield (*at, "canary", "timeout_ms"), (
                f"{path.canary.timeout_ms} must be below the control's timeout "
                f"({path.control.timeout_s} s): the router waits for the candidate within its own time"
            )
        if path.shadow.timeout_ms > path.candidate.timeout_s * 1000:
            yield (*at, "shadow", "timeout_ms"), (
                f"{path.shadow.timeout_ms} exceeds the candidate's timeout ({path.candidate.timeout_s} s)"
            )
        compare = path.shadow.compare
        overlap = sorted(set(compare.ignore_paths) & set(compare.redact_paths))
        if overlap:
            yield (*at, "shadow", "compare", "redact_paths"), (
                f"{', '.join(overlap)} also ignored; a path is either ignored or redacted"
            )


def _phase(spec: ReleaseSpec) -> Iterator[Problem]:
    for i, path in enumerate(spec.read_paths):
        at: Loc = ("read_paths", i)
        pct = path.canary.percent
        if spec.phase == "shadow":
            if pct != 0:
                yield (*at, "canary", "percent"), f"{pct:g}: the shadow phase keeps the canary at 0"
            if not path.shadow.enabled:
                yield (*at, "shadow", "enabled"), "the shadow phase needs shadow traffic: set it to true"
        elif spec.phase == "complete" and pct != 100:
            yield (*at, "canary", "percent"), (
                f"{pct:g}: a complete release serves everyone from the candidate; ramp to 100 first"
            )
    if spec.phase == "canary" and all(p.canary.percent == 0 for p in spec.read_paths):
        yield ("phase",), "canary, but every read path is at 0%; use phase: shadow or set a canary.percent"


def _unique_names(spec: ReleaseSpec) -> Iterator[Problem]:
    seen_paths: dict[str, int] = {}
    seen_functions: dict[str, Loc] = {}
    seen_flags: dict[str, Loc] = {}

    def function(name: str, loc: Loc) -> Iterator[Problem]:
        if name in seen_functions:
            yield loc, f"'{name}' is already used by {yaml_path(seen_functions[name])}; function names must be unique"
        else:
            seen_functions[name] = loc

    for i, path in enumerate(spec.read_paths):
        at: Loc = ("read_paths", i)
        if path.name in seen_paths:
            yield (*at, "name"), f"'{path.name}' is already read_paths[{seen_paths[path.name]}]; path names must be unique"
        else:
            seen_paths[path.name] = i
        yield from function(path.control.name, (*at, "control", "name"))
        yield from function(path.candidate.name, (*at, "candidate", "name"))
        for key, loc in (
            (canary_flag_key(spec, i), (*at, "canary", "flag_key")),
            (shadow_flag_key(spec, i), (*at, "shadow", "flag_key")),
        ):
            if key in seen_flags:
                    yield loc, f"flag key '{key}' is already used by {yaml_path(seen_flags[key])}; flag keys must be unique"
            else:
                seen_flags[key] = loc
    if spec.cleanup is not None:
        yield from function(spec.cleanup.function.name, ("cleanup", "function", "name"))


def _functions(spec: ReleaseSpec) -> Iterator[Problem]:
    functions: list[tuple[Loc, object]] = []
    for i, path in enumerate(spec.read_paths):
        functions += [(("read_paths", i, "control"), path.control), (("read_paths", i, "candidate"), path.candidate)]
    if spec.cleanup is not None:
        functions.append((("cleanup", "function"), spec.cleanup.function))
    for at, fn in functions:
        env = fn.environment  # type: ignore[attr-defined]
        for key in env:
            if key.upper().startswith(RESERVED_ENV_PREFIXES):
                yield (*at, "environment", key), (
                    f"'{key}' is reserved (prefixes {', '.join(RESERVED_ENV_PREFIXES)}); cutover and Lambda set these"
                )
            elif SECRET_NAME.search(key):
                yield (*at, "environment", key), (
                    "looks like a secret; secrets never go in environment variables "
                    "(use IAM auth, or read them from Secrets Manager at run time)"
                )
        size = len(json.dumps(env))
        if size > USER_ENV_BUDGET:
            yield (*at, "environment"), f"is {size} bytes; at most {USER_ENV_BUDGET} (Lambda allows 4 KB in all)"


def _guardrails(spec: ReleaseSpec) -> Iterator[Problem]:
    g = spec.guardrails
    for name in ("p95_regression", "shadow_diff"):
        pair = getattr(g, name)
        if pair.go_pct >= pair.no_go_pct:
            yield ("guardrails", name, "go_pct"), (
                f"{pair.go_pct:g} must be below no_go_pct ({pair.no_go_pct:g})"
            )
    if g.period_seconds not in (10, 20, 30) and (g.period_seconds <= 0 or g.period_seconds % 60):
        yield ("guardrails", "period_seconds"), f"{g.period_seconds} is not allowed; expected 10, 20, 30 or a multiple of 60"
    elif g.period_seconds * g.evaluation_periods > 86400:
        yield ("guardrails", "evaluation_periods"), (
            f"{g.evaluation_periods} periods of {g.period_seconds} s exceed one day (CloudWatch's limit)"
        )
    if g.datapoints_to_alarm > g.evaluation_periods:
        yield ("guardrails", "datapoints_to_alarm"), (
            f"{g.datapoints_to_alarm} must not exceed evaluation_periods ({g.evaluation_periods})"
        )


def _delivery(spec: ReleaseSpec) -> Iterator[Problem]:
    cd = spec.delivery.codedeploy
    if cd.predefined and cd.custom:
        yield ("delivery", "codedeploy", "custom"), "set either predefined or custom, not both"
    ac = spec.delivery.appconfig
    if ac.read_budget_ms >= min(p.control.timeout_s for p in spec.read_paths) * 1000:
        yield ("delivery", "appconfig", "read_budget_ms"), "must be well below the router's timeout"


def _observability(spec: ReleaseSpec) -> Iterator[Problem]:
    days = spec.observability.log_retention_days
    if days not in LOG_RETENTION_DAYS:
        yield ("observability", "log_retention_days"), (
            f"{days} is not a CloudWatch Logs retention; allowed: {', '.join(map(str, LOG_RETENTION_DAYS))}"
        )


def _security(spec: ReleaseSpec) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for i, skip in enumerate(spec.security.checkov_skips):
        if skip.id in seen:
            yield ("security", "checkov_skips", i, "id"), f"{skip.id} is already skipped at checkov_skips[{seen[skip.id]}]"
        else:
            seen[skip.id] = i
