"""The Terraform modules a release calls: their arguments as types, references as values.

Each module under terraform/modules/ has one arguments class (`FunctionArgs`, `KmsArgs`,
...) whose fields are the variables of its variables.tf and whose OUTPUTS are its
outputs.tf (tests/house/test_module_args.py keeps them equal), so a misspelt or
missing argument fails when the call is built, not at `terraform validate`.

A `ModuleRef` names one `module` block (its name in the root module and which module
under terraform/modules/ it instantiates). `ref.output("alias_arn")` is the Terraform
expression `module.<name>.alias_arn`, refused at generation time when that module has
no such output; `check_references` then refuses a plan whose calls reference a module
block that is not in it. So renaming a call, or an output, fails `cutover render`
instead of a later `terraform validate`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar, Self

from cutover.generator.plan.hcl import Expr, Template

if TYPE_CHECKING:
    from cutover.generator.spec.model import ReadPath

MODULES = "../../modules"

class _Unset:
    """An optional variable the call leaves to the module's default (not written at all)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True, kw_only=True)
class ModuleArgs:
    """The arguments of one module: a field per variable of its variables.tf, in the
    order main.tf writes them. A field without a default is a variable without one;
    a test keeps the fields, the variables and OUTPUTS (its outputs.tf) equal."""

    SOURCE: ClassVar[str]
    OUTPUTS: ClassVar[tuple[str, ...]]

    def items(self) -> list[tuple[str, object]]:
        values = ((f.name, getattr(self, f.name)) for f in fields(self))
        return [(name, value) for name, value in values if value is not UNSET]

    def __iter__(self) -> Iterator[tuple[str, object]]:
        """The written arguments as (name, value) pairs: dict(call.args) reads them by name."""
        return iter(self.items())


@dataclass(frozen=True, kw_only=True)
class AlarmsArgs(ModuleArgs):
    SOURCE = "alarms"
    OUTPUTS = ("rollback_alarm_name", "rollback_alarm_arn", "alarm_names", "topic_arn",
               "rollback_alarm_names_by_judge")
    name_prefix: str
    definitions: str
    notification_topic_arns: list[str] = UNSET
    notification_emails: list[str] = UNSET
    kms_key_arn: str
    rollback_action_arns: list[str] = UNSET
    tags: dict[str, str] = UNSET


@dataclass(frozen=True, kw_only=True)
class CodeDeployArgs(ModuleArgs):
    SOURCE = "code_deploy"
    OUTPUTS = ("application_name", "deployment_config_name", "deployment_group_names", "service_role_arn")
    application_name: str
    deployment_config: dict[str, object]
    deployment_groups: dict[str, object]
    lifecycle_hook_function_names: list[object] = UNSET
    tags: dict[str, str] = UNSET


@dataclass(frozen=True, kw_only=True)
class DashboardArgs(ModuleArgs):
    SOURCE = "dashboard"
    OUTPUTS = ("dashboard_name",)
    name: str
    body_path: str
    template_vars: dict[str, object] = UNSET


@dataclass(frozen=True, kw_only=True)
class FeatureFlagsArgs(ModuleArgs):
    SOURCE = "feature_flags"
    OUTPUTS = (
        "application_id", "application_arn", "environment_id", "environment_arn", "profile_id", "profile_arn",
        "deployment_number", "extension_layer_arn", "configuration_arn", "guard_strategy_id", "strategy_id",
        "strategy_arn",
    )
    application_name: str
    environment_name: str
    profile_name: str
    description: str = UNSET
    document_path: str
    kept_documents_path: str
    guard_strategy_name: str | None = UNSET
    controller_enabled: bool = UNSET
    strategy: dict[str, object]
    kms_key_arn: str
    extension_architecture: str = UNSET
    extension_layer_parameter: str = UNSET
    extension_layer_arn: str = UNSET
    tags: dict[str, str] = UNSET


@dataclass(frozen=True, kw_only=True)
class FunctionArgs(ModuleArgs):
    SOURCE = "function"
    OUTPUTS = (
        "function_name", "function_arn", "version", "alias_name", "alias_arn", "role_name", "role_arn",
        "log_group_name", "log_group_arn", "dlq_arn",
    )
    name: str
    description: str = UNSET
    handler: str
    runtime: str
    memory_mb: int
    timeout_s: int
    architecture: str
    reserved_concurrency: int | None = UNSET
    alias_name: str = UNSET
    package: dict[str, object]
    environment: dict[str, object] = UNSET
    layers: list[object] = UNSET
    vpc: dict[str, object] | None = UNSET
    policy_statements: list[dict[str, object]] = UNSET
    schedule: dict[str, object] | None = UNSET
    alarm_trigger: dict[str, object] | None = UNSET
    read_alarms: bool = UNSET
    kms_key_arn: str
    log_retention_days: int = UNSET
    tracing_mode: str = UNSET
    code_signing_config_arn: str | None = UNSET
    tags: dict[str, str] = UNSET


@dataclass(frozen=True, kw_only=True)
class ControllerArgs(ModuleArgs):
    SOURCE = "controller"
    OUTPUTS = ("state_machine_arn", "name", "role_arn", "log_group_name")
    name: str
    definition_path: str
    function_arn: str
    application_id: str
    environment_id: str
    environment_arn: str
    profile_id: str
    profile_arn: str
    strategy_id: str
    strategy_arn: str
    kms_key_arn: str
    topic_arn: str
    log_retention_days: int = UNSET
    schedule: str | None = UNSET
    tags: dict[str, str] = UNSET


@dataclass(frozen=True, kw_only=True)
class KmsArgs(ModuleArgs):
    SOURCE = "kms"
    OUTPUTS = ("key_arn",)
    alias_name: str
    key_arn: str | None = UNSET
    deletion_window_in_days: int = UNSET
    tags: dict[str, str] = UNSET


@dataclass(frozen=True, kw_only=True)
class LayerArgs(ModuleArgs):
    SOURCE = "layer"
    OUTPUTS = ("arn",)
    name: str
    description: str = UNSET
    architecture: str
    package: dict[str, object]
    compatible_runtimes: list[str] = UNSET


@dataclass(frozen=True, kw_only=True)
class QueriesArgs(ModuleArgs):
    SOURCE = "queries"
    OUTPUTS = ("query_definition_ids",)
    name_prefix: str
    queries: dict[str, object]


@dataclass(frozen=True, kw_only=True)
class ShadowArgs(ModuleArgs):
    SOURCE = "shadow"
    OUTPUTS = ("event_invoke_config_id", "ledger_table_name", "ledger_table_arn")
    function_name: str
    qualifier: str
    maximum_event_age_in_seconds: int = UNSET
    on_failure_destination_arn: str
    ledger_table_name: str = UNSET
    kms_key_arn: str = UNSET


@dataclass(frozen=True, kw_only=True)
class TracingArgs(ModuleArgs):
    SOURCE = "tracing"
    OUTPUTS = ("group_arn", "sampling_rule_arn", "sampling_rule_arns")
    name_prefix: str
    canary_service_names: list[str]
    group_filter_expression: str
    canary_fixed_rate: float = UNSET
    canary_reservoir_size: int = UNSET
    tags: dict[str, str] = UNSET


@dataclass(frozen=True, kw_only=True)
class VpcEndpointsArgs(ModuleArgs):
    SOURCE = "vpc_endpoints"
    OUTPUTS = ("endpoint_ids",)
    name_prefix: str
    mode: str
    vpc_id: str
    services: list[str]
    route_table_ids: list[str] = UNSET
    subnet_ids: list[str] = UNSET
    client_security_group_ids: list[str] = UNSET
    tags: dict[str, str] = UNSET


# Every module under terraform/modules/, by its directory name.
MODULE_ARGS: dict[str, type[ModuleArgs]] = {
    cls.SOURCE: cls
    for cls in (AlarmsArgs, CodeDeployArgs, ControllerArgs, DashboardArgs, FeatureFlagsArgs, FunctionArgs, KmsArgs,
                LayerArgs, QueriesArgs, ShadowArgs, TracingArgs, VpcEndpointsArgs)
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
        if self.source not in MODULE_ARGS:
            raise UnknownReference(f"module {self.name}: no module {self.source!r} under terraform/modules/")

    def output(self, name: str) -> OutputRef:
        outputs = MODULE_ARGS[self.source].OUTPUTS
        if name not in outputs:
            raise UnknownReference(
                f"module.{self.name}.{name}: the {self.source} module has no output {name!r}; "
                f"it has {', '.join(outputs)}"
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
GUARD = ModuleRef("guard", "function")
DEPLOY_PROBE = ModuleRef("deploy_probe", "function")
CONTROLLER_FUNCTION = ModuleRef("controller_function", "function")
CONTROLLER = ModuleRef("controller", "controller")


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
    args: ModuleArgs

    def __post_init__(self) -> None:
        expected = MODULE_ARGS[self.at.source]
        if type(self.args) is not expected:
            raise TypeError(f"module {self.at.name} calls {self.at.source}: its arguments are {expected.__name__}, "
                            f"not {type(self.args).__name__}")

    @property
    def name(self) -> str:
        return self.at.name

    @property
    def source(self) -> str:
        return self.at.source

    @property
    def body(self) -> list[tuple[str, object]]:
        return [("source", f"{MODULES}/{self.source}"), *self.args.items()]


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
    for text in _expressions([call.body for call in calls] + list(more)):
        for name, output in REFERENCE.findall(text):
            if name not in blocks:
                raise UnknownReference(f"module.{name}.{output}: no module {name!r} in this plan")
            blocks[name].output(output)
