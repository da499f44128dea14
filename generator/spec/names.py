"""Names the spec implies when it does not set them: the release prefix, flag keys, shortened names."""

from __future__ import annotations

import hashlib

from cutover.generator.spec.model import ReleaseSpec


def canary_flag_key(spec: ReleaseSpec, index: int) -> str:
    path = spec.read_paths[index]
    return path.canary.flag_key or f"{path.name}-canary"


def shadow_flag_key(spec: ReleaseSpec, index: int) -> str:
    path = spec.read_paths[index]
    return path.shadow.flag_key or f"{path.name}-shadow"


def name_prefix(spec: ReleaseSpec) -> str:
    return f"{spec.release.name}-{spec.release.environment}"


def short(text: str, limit: int) -> str:
    """Shorten a name to `limit` characters, keeping it unique with a hash suffix."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:6]
    return f"{text[: limit - 7]}-{digest}"


def controller_function_name(spec: ReleaseSpec) -> str:
    """The controller function: `delivery.controller.function.name`, else <release>-<env>-controller
    cut to Lambda's 64 characters (also when the spec has no controller: what it would be called)."""
    controller = spec.delivery.controller
    named = controller.function.name if controller is not None else None
    return named or f"{name_prefix(spec)}-controller"[:64]


def state_machine_name(spec: ReleaseSpec) -> str:
    """The controller's state machine: `delivery.controller.state_machine_name`, else
    <release>-<env>-controller cut to Step Functions' 80 characters."""
    controller = spec.delivery.controller
    named = controller.state_machine_name if controller is not None else None
    return named or f"{name_prefix(spec)}-controller"[:80]


def controller_enabled(spec: ReleaseSpec) -> bool:
    """Whether this spec renders the controller (the checks refuse it at phase complete)."""
    controller = spec.delivery.controller
    return controller is not None and controller.enabled and spec.phase != "complete"
