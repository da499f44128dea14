"""Where each module call of a release lives, and references between them as values.

A `ModuleRef` names one `module` block (its name in the root module and which module
under terraform/modules/ it instantiates). `ref.output("alias_arn")` is the Terraform
expression `module.<name>.alias_arn`, refused at generation time when that module has
no such output; `check_references` then refuses a plan whose calls reference a module
block that is not in it. So renaming a call, or an output, fails `cutover render`
instead of a later `terraform validate`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Self

from generator.hcl import Expr, Template
from generator.spec import ReadPath

MODULES = "../../modules"

# What each module under terraform/modules/ outputs (its outputs.tf; a test keeps them equal).
MODULE_OUTPUTS: dict[str, tuple[str, ...]] = {
    "alarms": ("rollback_alarm_name", "rollback_alarm_arn", "alarm_names", "topic_arn"),
    "code_deploy": ("application_name", "deployment_config_name", "deployment_group_names", "service_role_arn"),
    "dashboard": ("dashboard_name",),
    "feature_flags": (
        "application_id", "application_arn", "environment_id", "environment_arn", "profile_id", "profile_arn",
        "deployment_number", "extension_layer_arn", "configuration_arn", "brake_strategy_id",
    ),
    "function": (
        "function_name", "function_arn", "version", "alias_name", "alias_arn", "role_name", "role_arn",
        "log_group_name", "log_group_arn", "dlq_arn",
    ),
    "kms": ("key_arn",),
    "layer": ("arn",),
    "queries": ("query_definition_ids",),
    "shadow": ("event_invoke_config_id", "ledger_table_name", "ledger_table_arn"),
    "tracing": ("group_arn", "sampling_rule_arn", "sampling_rule_arns"),
    "vpc_endpoints": ("endpoint_ids",),
}
# module.<name>.<output>, wherever it appears in an expression or a template
REFERENCE = re.compile(r"\bmodule\.([A-Za-z_][A-Za-z0-9_-]*)\.([A-Za-z_][A-Za-z0-9_]*)")


class UnknownReference(ValueError):
    """A module call references a module block or an output that does not exist."""


class OutputRef(Expr):
    """`module.<name>.<output>`: an expression that knows what it points to."""

    module: ModuleRef
    output: str

    def __new__(cls, module: ModuleRef, output: str) -> Self:
        ref = super().__new__(cls, f"module.{module.name}.{output}")
        ref.module, ref.output = module, output
        return ref


@dataclass(frozen=True)
class ModuleRef:
    """One `module` block: its name in the root module and the module it calls."""

    name: str
    source: str  # a module under terraform/modules/

    def __post_init__(self) -> None:
        if self.source not in MODULE_OUTPUTS:
            raise UnknownReference(f"module {self.name}: no module {self.source!r} under terraform/modules/")

    def output(self, name: str) -> OutputRef:
        if name not in MODULE_OUTPUTS[self.source]:
            raise UnknownReference(
                f"module.{self.name}.{name}: the {self.source} module has no output {name!r}; "
                f"it has {', '.join(MODULE_OUTPUTS[self.source])}"
            )
        return OutputRef(self, name)


def ident(name: str) -> str:
    """A read path name as a Terraform identifier: user-read -> user_read."""
    return name.replace("-", "_")


KMS = ModuleRef("kms", "kms")
FEATURE_FLAGS = ModuleRef("feature_flags", "feature_flags")
ALARMS = ModuleRef("alarms", "alarms")
CODE_DEPLOY = ModuleRef("code_deploy", "code_deploy")
DASHBOARD = ModuleRef("dashboard", "dashboard")
QUERIES = ModuleRef("queries", "queries")
TRACING = ModuleRef("tracing", "tracing")
CLEANUP = ModuleRef("cleanup", "function")
BRAKE = ModuleRef("brake", "function")


def dependencies(architecture: str) -> ModuleRef:
    """The layer of third-party dependencies built for one architecture."""
    return ModuleRef(f"dependencies_{architecture}", "layer")


def vpc_endpoints(vpc_id: str) -> ModuleRef:
    return ModuleRef(f"endpoints_{ident(vpc_id)}", "vpc_endpoints")


@dataclass(frozen=True)
class PathModules:
    """The module blocks of one read path (the control keeps its name in every phase)."""

    control: ModuleRef
    candidate: ModuleRef
    shadow: ModuleRef

    @classmethod
    def of(cls, path: ReadPath) -> PathModules:
        p = ident(path.name)
        return cls(ModuleRef(f"{p}_control", "function"), ModuleRef(f"{p}_candidate", "function"),
                   ModuleRef(f"{p}_shadow", "shadow"))


@dataclass(frozen=True)
class ModuleCall:
    """One `module` block of the root module: where it lives, and its arguments."""

    at: ModuleRef
    comment: str
    args: list[tuple[str, object]]

    @property
    def name(self) -> str:
        return self.at.name

    @property
    def source(self) -> str:
        return self.at.source

    @property
    def body(self) -> list[tuple[str, object]]:
        return [("source", f"{MODULES}/{self.source}"), *self.args]


def _expressions(value: object) -> Iterable[str]:
    """The Terraform expressions and templates inside a value (plain strings are literals)."""
    if isinstance(value, (Expr, Template)):
        yield value
    elif isinstance(value, str):
        return
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _expressions(v)
    elif isinstance(value, Sequence):
        for v in value:
            yield from _expressions(v)


def check_references(calls: Sequence[ModuleCall], *more: object) -> None:
    """Every `module.X.Y` in the calls' arguments (and in `more`) names a call and its output."""
    blocks = {call.name: call.at for call in calls}
    if len(blocks) != len(calls):
        raise UnknownReference(f"two module blocks share a name: {sorted(c.name for c in calls)}")
    for text in _expressions([call.args for call in calls] + list(more)):
        for name, output in REFERENCE.findall(text):
            if name not in blocks:
                raise UnknownReference(f"module.{name}.{output}: no module {name!r} in this plan")
            blocks[name].output(output)
