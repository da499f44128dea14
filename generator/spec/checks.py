"""Spec cross-section checks: what relates fields of several sections (a section's own
checks are validators in spec.py).

These run once the whole document has its types; each problem names its YAML path.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

from cutover.generator.spec import comparison_paths
from cutover.generator.spec import traffic as alarms
from cutover.generator.spec.errors import Loc, Problem, yaml_path
from cutover.generator.spec.model import ReleaseSpec
from cutover.generator.spec.names import canary_flag_key, controller_function_name, shadow_flag_key
from cutover.runtime import sequential


def check(spec: ReleaseSpec, base: Path | None = None) -> list[Problem]:
    """Every broken rule, each at its YAML path from the document's root; ``base`` is the
    spec's folder (a read path's read_model is relative to it)."""
    found = [*_phase(spec), *_unique_names(spec), *_routers(spec), *_delivery(spec), *_alarm_windows(spec),
             *comparison_paths.check(spec, base), *_deploy_probe(spec), *_controller(spec)]
    return [Problem(*p) for p in found]


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
    seen_paths: dict[str, Loc] = {}
    seen_functions: dict[str, Loc] = {}
    seen_flags: dict[str, Loc] = {}

    def once(seen: dict[str, Loc], name: str, loc: Loc, what: str) -> Iterator[Problem]:
        if name in seen:
            yield loc, f"'{name}' is already used by {yaml_path(seen[name])}; {what} must be unique"
        else:
            seen[name] = loc

    for i, path in enumerate(spec.read_paths):
        at: Loc = ("read_paths", i)
        yield from once(seen_paths, path.name, (*at, "name"), "path names")
        yield from once(seen_functions, path.control.name, (*at, "control", "name"), "function names")
        yield from once(seen_functions, path.candidate.name, (*at, "candidate", "name"), "function names")
        yield from once(seen_flags, canary_flag_key(spec, i), (*at, "canary", "flag_key"), "flag keys")
        yield from once(seen_flags, shadow_flag_key(spec, i), (*at, "shadow", "flag_key"), "flag keys")
    if spec.cleanup is not None:
        yield from once(seen_functions, spec.cleanup.function.name, ("cleanup", "function", "name"), "function names")
    if spec.guard is not None:
        yield from once(seen_functions, spec.guard.function.name, ("guard", "function", "name"), "function names")
    if spec.delivery.controller is not None and spec.delivery.controller.enabled:
        yield from once(seen_functions, controller_function_name(spec),
                        ("delivery", "controller", "function", "name"), "function names")


def _routers(spec: ReleaseSpec) -> Iterator[Problem]:
    """One AppConfig extension layer serves every router: they share an architecture."""
    first = spec.read_paths[0].control.architecture
    for i, path in enumerate(spec.read_paths[1:], start=1):
        if path.control.architecture != first:
            yield ("read_paths", i, "control", "architecture"), (
                f"{path.control.architecture}: every control (router) shares the AppConfig extension "
                f"layer, so all use read_paths[0]'s architecture ({first})"
            )


def _delivery(spec: ReleaseSpec) -> Iterator[Problem]:
    budget = spec.delivery.appconfig.read_budget_ms
    shortest = min(p.control.timeout_s for p in spec.read_paths) * 1000
    if budget * 10 > shortest:
        yield ("delivery", "appconfig", "read_budget_ms"), (
            f"{budget} ms is more than a tenth of the shortest router timeout ({shortest} ms)"
        )


def _deploy_probe(spec: ReleaseSpec) -> Iterator[Problem]:
    """The probe must be able to pass a version that never fails, under a name of its own."""
    probe = spec.delivery.codedeploy.probe
    if not probe.enabled:
        return
    at: Loc = ("delivery", "codedeploy", "probe")
    limit = probe_limit_pct(spec)
    needed = sequential.ErrorRateTest.against_limit(
        limit, spec.guardrails.confidence).reads_to_pass()
    if probe.max_reads < needed:
        yield (*at, "max_reads"), (
            f"{probe.max_reads} reads can never pass a version: one that never fails needs {needed} to pass "
            f"the sequential test against {limit:g}% at guardrails.confidence {spec.guardrails.confidence:g}"
        )
    others = [f.name for p in spec.read_paths for f in (p.control, p.candidate)]
    others += [spec.cleanup.function.name] if spec.cleanup is not None else []
    if probe.function_name in others:
        yield (*at, "function_name"), f"'{probe.function_name}' is already a function of this release"


def probe_limit_pct(spec: ReleaseSpec) -> float:
    return spec.delivery.codedeploy.probe.error_rate_pct or spec.guardrails.error_rate_pct


def _too_slow(spec: ReleaseSpec, per_minute: float, what: str) -> str | None:
    """Why no alarm window of at most a day can judge this traffic, or None."""
    if per_minute <= 0 or alarms.window_seconds(per_minute, spec) <= alarms.MAX_WINDOW_SECONDS:
        return None
    g = spec.guardrails
    return (
        f"{what} is {per_minute * 1440:g} requests a day at guardrails.expected_requests_per_minute "
        f"{g.expected_requests_per_minute:g}, but an error-rate alarm must expect at least "
        f"{math.ceil(alarms.window_samples(spec))} (what guardrails.sequential needs to tell a "
        f"{g.sequential.failing_error_rate_pct:g}% failure from a healthy route, with room to spare) "
        "within a day, the longest window CloudWatch evaluates every minute: "
        "raise the rate or this value, or guardrails.sequential.failing_error_rate_pct"
    )


def _alarm_windows(spec: ReleaseSpec) -> Iterator[Problem]:
    """Every step's canary and every shadow must be judged within a day's window."""
    if spec.phase == "complete":
        return
    for i, path in enumerate(spec.read_paths):
        for j, step in enumerate(path.canary.steps):
            why = _too_slow(spec, alarms.canary_per_minute(spec, step), f"a {step:g}% canary")
            if why:
                yield ("read_paths", i, "canary", "steps", j), why
        why = _too_slow(spec, alarms.shadow_per_minute(spec, i), f"a {path.shadow.sample_rate:g} shadow sample")
        if why:
            yield ("read_paths", i, "shadow", "sample_rate"), why


def _controller(spec: ReleaseSpec) -> Iterator[Problem]:
    """The controller walks a canary that the guard can turn off, and someone hears its questions."""
    controller = spec.delivery.controller
    if controller is None or not controller.enabled:
        return
    at: Loc = ("delivery", "controller")
    if spec.phase == "complete":
        yield (*at, "enabled"), (
            "a complete release has no canary left to ramp: set it to false or remove delivery.controller "
            "(the controller runs in phase shadow or canary)"
        )
    if spec.guard is None:
        yield (*at, "enabled"), (
            "the controller relies on the guard to turn the canary off: add a guard section "
            "(guard.function) or set it to false"
        )
    notify = spec.observability.notifications
    if controller.approval and not (notify.emails or notify.topic_arns):
        yield (*at, "approval"), (
            "true, but nobody would hear the question: add observability.notifications.emails or "
            "topic_arns, or set it to false (the controller then notifies and stops)"
        )
    period = spec.guardrails.period_seconds
    if controller.observe_minutes * 60 < period:
        yield (*at, "observe_minutes"), (
            f"{controller.observe_minutes} minutes is shorter than one metric period "
            f"(guardrails.period_seconds {period}): the judgement would see no whole period"
        )
