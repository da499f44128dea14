"""The release spec: the typed input model of `config/<env>.release.yaml`.

Only what one field can decide on its own is checked here (types, ranges, AWS naming
rules). Rules that relate several fields (steps and the current percentage, phases,
unique names) live in `cutover.generator.spec.checks`, so each error can name its exact YAML path.
Every string pattern has a human description in `PATTERN_HELP`, used by the error
messages and by the JSON Schema.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Literal

from cutover.generator.spec.errors import Loc, Problem
from cutover.runtime.metrics import DEFAULT_NAMESPACE
from pydantic import BaseModel, ConfigDict, Field, model_validator

# --- AWS naming rules (see docs/aws-rules.md) -----------------------------------------

FUNCTION_NAME = r"^[A-Za-z0-9_-]{1,64}$"
ALIAS_NAME = r"^[A-Za-z0-9_-]*[A-Za-z_-][A-Za-z0-9_-]*$"
FLAG_KEY = r"^[a-z][a-zA-Z0-9_-]{0,63}$"  # AppConfig's published pattern
RELEASE_NAME = r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$"
ENV_NAME = r"^[a-z][a-z0-9-]{0,19}$"
PATH_NAME = r"^[a-z][a-z0-9-]{0,29}$"
REGION = r"^[a-z]{2}(-gov|-iso|-isob)?-[a-z]+-[0-9]$"
S3_BUCKET = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
HANDLER = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$"
ENV_VAR_NAME = r"^[A-Za-z][A-Za-z0-9_]*$"
LAYER_ARN = r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$"
KMS_KEY_ARN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$"
CODE_SIGNING_ARN = r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:code-signing-config:csc-[a-z0-9]{17}$"
SNS_ARN = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$"
SUBNET_ID = r"^subnet-[0-9a-f]{8,17}$"
SECURITY_GROUP_ID = r"^sg-[0-9a-f]{8,17}$"
PROXY_RESOURCE_ID = r"^prx-[0-9a-z]{17}$"
VPC_ID = r"^vpc-[0-9a-f]{8,17}$"
ROUTE_TABLE_ID = r"^rtb-[0-9a-f]{8,17}$"
HOSTNAME = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
DB_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$"
JSON_PATH = r"^\$((\.[A-Za-z_][A-Za-z0-9_-]*)|(\[\*\])|(\[[0-9]+\]))*$"
CHECKOV_ID = r"^CKV2?_AWS_[0-9]+$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
TAG_KEY = r"^[A-Za-z0-9 _.:/=+@-]{1,128}$"
SCHEDULE = r"^(rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\)|cron\([^)]+\))$"
METRICS_NAMESPACE = r"^[A-Za-z0-9._/#:-]{1,255}$"

PATTERN_HELP: dict[str, str] = {
    FUNCTION_NAME: "1-64 characters of letters, digits, '-' and '_'",
    ALIAS_NAME: "1-128 characters of letters, digits, '-' and '_', not all digits",
    FLAG_KEY: "a lowercase letter, then up to 63 letters, digits, '-' or '_' (no '.')",
    RELEASE_NAME: "3-40 characters of lowercase letters, digits and '-', starting with a letter",
    ENV_NAME: "1-20 characters of lowercase letters, digits and '-', starting with a letter",
    PATH_NAME: "1-30 characters of lowercase letters, digits and '-', starting with a letter",
    REGION: "an AWS region code such as us-east-1",
    S3_BUCKET: "an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-'",
    HANDLER: "module.function, for example router.handler.lambda_handler",
    ENV_VAR_NAME: "a letter, then letters, digits and '_'",
    LAYER_ARN: "a Lambda layer version ARN (arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION)",
    KMS_KEY_ARN: "a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)",
    CODE_SIGNING_ARN: "a Lambda code signing config ARN",
    SNS_ARN: "an SNS topic ARN",
    SUBNET_ID: "a subnet id such as subnet-0123456789abcdef0",
    SECURITY_GROUP_ID: "a security group id such as sg-0123456789abcdef0",
    PROXY_RESOURCE_ID: "an RDS Proxy resource id such as prx-0123456789abcdefg (17 characters after prx-)",
    VPC_ID: "a VPC id such as vpc-0123456789abcdef0",
    ROUTE_TABLE_ID: "a route table id such as rtb-0123456789abcdef0",
    HOSTNAME: "a DNS host name",
    DB_IDENTIFIER: "a PostgreSQL identifier (letter or '_', then letters, digits, '_', '$')",
    JSON_PATH: "a JSON path such as $.items[*].price ($, .key, [*] or [N])",
    CHECKOV_ID: "a checkov AWS check id such as CKV_AWS_117",
    EMAIL: "an email address",
    TAG_KEY: "1-128 characters of letters, digits, spaces and _.:/=+-@",
    SCHEDULE: "an EventBridge schedule: rate(N unit) or cron(...)",
    METRICS_NAMESPACE: "1-255 characters of letters, digits and ._/#:-",
}

# CloudWatch Logs accepts only these retention values (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
    2192, 2557, 2922, 3288, 3653,
)

PREDEFINED_CODEDEPLOY_CONFIGS = (
    "CodeDeployDefault.LambdaAllAtOnce",
    "CodeDeployDefault.LambdaCanary10Percent5Minutes",
    "CodeDeployDefault.LambdaCanary10Percent10Minutes",
    "CodeDeployDefault.LambdaCanary10Percent15Minutes",
    "CodeDeployDefault.LambdaCanary10Percent30Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
    "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes",
    "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes",
)


def _pattern(regex: str, **kw) -> object:
    return Field(pattern=regex, description=kw.pop("description", PATTERN_HELP[regex]), **kw)


FunctionName = Annotated[str, _pattern(FUNCTION_NAME)]
FlagKey = Annotated[str, _pattern(FLAG_KEY)]
JsonPath = Annotated[str, _pattern(JSON_PATH)]
SubnetId = Annotated[str, _pattern(SUBNET_ID)]
SecurityGroupId = Annotated[str, _pattern(SECURITY_GROUP_ID)]
Percent = Annotated[float, Field(ge=0, le=100)]


class FieldProblem(ValueError):
    """A rule across fields of one section, pinned to the field it is about.

    It carries a `Problem` whose location is relative to the section: the loader joins
    it to the section's path (<section>.steps[2]), so these errors are reported with
    every other error of the document, at the right line.
    """

    def __init__(self, field: Loc, message: str):
        super().__init__(message)
        self.problem = Problem(tuple(field), message)


SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIAL", re.IGNORECASE)
RESERVED_ENV_PREFIXES = ("CUTOVER_", "AWS_", "LAMBDA_", "_")
# Lambda allows 4 KB of environment in all; leave room for what cutover adds.
USER_ENV_BUDGET = 2048


class SpecModel(BaseModel):
    """Base of every spec section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


# --- release and backend ---------------------------------------------------------------


class Release(SpecModel):
    name: str = _pattern(RELEASE_NAME, description="Release name; prefixes every resource name.")
    environment: str = _pattern(ENV_NAME, description="Environment this spec describes.")
    owner: str = Field(min_length=1, max_length=256, description="Team or person accountable.")
    region: str = _pattern(REGION, description="AWS region of every resource.")
    tags: dict[Annotated[str, _pattern(TAG_KEY)], Annotated[str, Field(max_length=256)]] = Field(
        default_factory=dict, description="Tags applied to every resource (provider default_tags)."
    )


class Backend(SpecModel):
    """Terraform state: an S3 backend with state locking."""

    bucket: str = _pattern(S3_BUCKET, description="S3 bucket that holds the Terraform state.")
    key: str = Field(
        pattern=r"^[A-Za-z0-9!_.*'()/-]{1,1024}$",
        description="Object key of the state file, for example cutover/production.tfstate.",
    )
    region: str = _pattern(REGION, description="Region of the state bucket.")
    locking: Literal["s3_lockfile", "dynamodb"] = Field(
        default="s3_lockfile",
        description="s3_lockfile: S3 native locking (Terraform >= 1.10); dynamodb: a lock table.",
    )
    dynamodb_table: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.-]{3,255}$",
        description="Lock table (required when locking is dynamodb).",
    )
    kms_key_id: str | None = Field(
        default=None, description="KMS key ARN for the state object (null: the bucket's default)."
    )

    @model_validator(mode="after")
    def _locking(self) -> Backend:
        if self.locking == "dynamodb" and not self.dynamodb_table:
            raise FieldProblem(("dynamodb_table",), "is required when locking is dynamodb")
        if self.locking == "s3_lockfile" and self.dynamodb_table:
            raise FieldProblem(
                ("dynamodb_table",), "is only used when locking is dynamodb; remove it or set locking: dynamodb"
            )
        return self


# --- functions and database --------------------------------------------------------------


class Function(SpecModel):
    name: FunctionName
    handler: str | None = Field(
        default=None,
        pattern=HANDLER,
        description="module.function; default: the role's handler from functions/ (docs/contracts.md).",
    )
    runtime: Literal["python3.12", "python3.13"] = Field(
        default="python3.12", description="Lambda runtime (python3.12 or newer)."
    )
    memory_mb: int = Field(default=256, ge=128, le=10240, description="Memory in MB.")
    timeout_s: int = Field(default=10, ge=1, le=900, description="Timeout in seconds.")
    architecture: Literal["x86_64", "arm64"] = Field(default="arm64")
    reserved_concurrency: int | None = Field(
        default=None,
        ge=1,
        description="Reserved concurrency (null: unreserved). 0 is refused: it drops every event.",
    )
    environment: dict[Annotated[str, _pattern(ENV_VAR_NAME)], str] = Field(
        default_factory=dict,
        description="Extra environment variables. Never secrets; CUTOVER_* and AWS_* are reserved.",
    )
    layers: list[Annotated[str, _pattern(LAYER_ARN)]] = Field(
        default_factory=list, max_length=3, description="Extra layers; cutover adds its dependency and AppConfig layers (5 in all)."
    )

    @model_validator(mode="after")
    def _environment(self) -> Function:
        for key in self.environment:
            if key.upper().startswith(RESERVED_ENV_PREFIXES):
                raise FieldProblem(
                    ("environment", key),
                    f"'{key}' is reserved (prefixes {', '.join(RESERVED_ENV_PREFIXES)}); cutover and Lambda set these",
                )
            if SECRET_NAME.search(key):
                raise FieldProblem(
                    ("environment", key),
                    "looks like a secret; secrets never go in environment variables "
                    "(use IAM auth, or read them from Secrets Manager at run time)",
                )
        size = len(json.dumps(self.environment))
        if size > USER_ENV_BUDGET:
            raise FieldProblem(("environment",), f"is {size} bytes; at most {USER_ENV_BUDGET} (Lambda allows 4 KB in all)")
        return self


class VpcEndpoints(SpecModel):
    """How the candidate, in its VPC, reaches DynamoDB (shadow ledger) and X-Ray.

    A function in a VPC reaches AWS services only through a NAT gateway or VPC
    endpoints (docs/aws-rules.md, Lambda). `create`: cutover creates a DynamoDB gateway
    endpoint on `route_table_ids` and an X-Ray interface endpoint in the candidate's
    subnets; `existing`: the plan fails unless the VPC has both; `nat`: the subnets
    route to a NAT gateway (nothing is checked).
    """

    mode: Literal["create", "existing", "nat"]
    vpc_id: str | None = Field(default=None, pattern=VPC_ID, description="Required with create and existing.")
    route_table_ids: list[Annotated[str, _pattern(ROUTE_TABLE_ID)]] = Field(
        default_factory=list, description="Route tables of the candidate's subnets (create: the DynamoDB gateway)."
    )

    @model_validator(mode="after")
    def _needs(self) -> VpcEndpoints:
        if self.mode in ("create", "existing") and not self.vpc_id:
            raise FieldProblem(("vpc_id",), f"is required with mode {self.mode}: the VPC of the candidate's subnets")
        if self.mode == "create" and not self.route_table_ids:
            raise FieldProblem(
                ("route_table_ids",),
                "list the route tables of the candidate's subnets: the DynamoDB gateway endpoint is added to them",
            )
        if self.mode != "create" and self.route_table_ids:
            raise FieldProblem(("route_table_ids",), "is only used with mode create")
        if self.mode == "nat" and self.vpc_id:
            raise FieldProblem(("vpc_id",), "is only used with modes create and existing")
        return self


class Database(SpecModel):
    """The candidate's PostgreSQL database, reached through RDS Proxy."""

    proxy_endpoint: str = _pattern(HOSTNAME, description="RDS Proxy endpoint host name.")
    proxy_resource_id: str = _pattern(
        PROXY_RESOURCE_ID, description="Proxy resource id (prx-...), used in rds-db:connect."
    )
    port: int = Field(default=5432, ge=1, le=65535)
    name: str = _pattern(DB_IDENTIFIER, description="Database name.")
    user: str = _pattern(DB_IDENTIFIER, description="Database user the candidate connects as.")
    iam_auth: bool = Field(default=True, description="Sign an IAM auth token instead of a password.")
    sslmode: Literal["require", "verify-ca", "verify-full"] = "verify-full"
    subnet_ids: list[SubnetId] = Field(
        default_factory=list, description="Subnets of the candidate's VPC placement."
    )
    security_group_ids: list[SecurityGroupId] = Field(
        default_factory=list, description="Security groups of the candidate's VPC placement."
    )
    vpc_endpoints: VpcEndpoints = Field(
        description="How the candidate reaches DynamoDB and X-Ray from its VPC: create, existing or nat."
    )

    @model_validator(mode="after")
    def _vpc(self) -> Database:
        for field, what in (("subnet_ids", "subnet id"), ("security_group_ids", "security group id")):
            if not getattr(self, field):
                raise FieldProblem((field,), f"a database implies a VPC for the candidate: list at least one {what}")
        return self


# --- shadow and canary ------------------------------------------------------------------


class ComparisonRules(SpecModel):
    """How the candidate compares its answer with the control's. Every path must name a
    place in the read path's read_model (generator/spec/comparison_paths.py)."""

    ignore_paths: list[JsonPath] = Field(
        default_factory=list,
        description=(
            "Paths left out of the comparison. Their values still travel in the shadow event: "
            "an ignored personal field must be redacted as well."
        ),
    )
    numeric_tolerance: float = Field(default=0.0, ge=0, description="Absolute tolerance.")
    timestamp_tolerance_seconds: float = Field(default=0.0, ge=0, le=86400)
    unordered_lists: list[JsonPath] = Field(
        default_factory=list, description="Arrays compared as multisets: the order of elements is ignored."
    )
    redact_paths: list[JsonPath] = Field(
        default_factory=list,
        description=(
            "Paths whose values leave the router only as salted digests: shadow events and the "
            "dead-letter queue never hold them in clear, and differences under them are logged "
            "without values."
        ),
    )


class Shadow(SpecModel):
    enabled: bool = True
    flag_key: FlagKey | None = Field(default=None, description="Default: <path>-shadow.")
    sample_rate: float = Field(default=0.1, ge=0, le=1, description="Share of requests shadowed.")
    timeout_ms: int = Field(default=500, ge=10, le=60000)
    max_event_age_s: int = Field(
        default=60, ge=60, le=21600, description="Age after which a shadow event is dropped."
    )
    dispatch_budget_ms: int = Field(
        default=0,
        ge=0,
        le=100,
        description="How long a request may wait for its shadow invoke to be sent; 0: never wait.",
    )
    compare: ComparisonRules = Field(default_factory=ComparisonRules)


class Canary(SpecModel):
    flag_key: FlagKey | None = Field(default=None, description="Default: <path>-canary.")
    percent: Percent = Field(default=0, description="Current canary percentage: 0 or a step.")
    steps: list[Annotated[float, Field(gt=0, le=100)]] = Field(
        default_factory=lambda: [1, 5, 25, 50, 100],
        min_length=1,
        description="Planned percentages, strictly increasing, ending at 100.",
    )
    sticky_key: str = Field(
        default="userId", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", description="Request field."
    )
    salt: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Hash salt; default <release>:<path>. Changing it reshuffles users.",
    )
    timeout_ms: int = Field(default=1500, ge=10, le=900000)
    fallback: bool = Field(
        default=True, description="Serve the control's answer when the candidate fails."
    )

    @model_validator(mode="after")
    def _steps(self) -> Canary:
        steps = self.steps
        for j in range(1, len(steps)):
            if steps[j] <= steps[j - 1]:
                raise FieldProblem(
                    ("steps", j), f"{steps[j]:g} does not follow {steps[j - 1]:g}; steps must be strictly increasing"
                )
        if steps[-1] != 100:
            raise FieldProblem(("steps",), f"must end at 100 (the last step is {steps[-1]:g})")
        if self.percent != 0 and self.percent not in steps:
            allowed = ", ".join(f"{s:g}" for s in steps)
            raise FieldProblem(("percent",), f"{self.percent:g} is not a planned step; allowed: 0, {allowed}")
        return self


class ReadPath(SpecModel):
    name: str = _pattern(PATH_NAME, description="Read path name (metric dimension Path).")
    alias: str = Field(default="live", pattern=ALIAS_NAME, max_length=128)
    control: Function
    candidate: Function
    database: Database | None = None
    read_model: str | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description=(
            "JSON Schema of the answer both backends give (a file, relative to the spec). Every "
            "shadow.compare path must name a place in it, and its x-cutover-personal fields must "
            "be redacted. Default: the example's read model, example/user-profile/read-model.schema.json."
        ),
    )
    shadow: Shadow = Field(default_factory=Shadow)
    canary: Canary = Field(default_factory=Canary)

    @model_validator(mode="after")
    def _timeouts(self) -> ReadPath:
        if self.canary.timeout_ms >= self.control.timeout_s * 1000:
            raise FieldProblem(
                ("canary", "timeout_ms"),
                f"{self.canary.timeout_ms} must be below the control's timeout ({self.control.timeout_s} s): "
                "the router waits for the candidate within its own time",
            )
        if self.shadow.timeout_ms > self.candidate.timeout_s * 1000:
            raise FieldProblem(
                ("shadow", "timeout_ms"),
                f"{self.shadow.timeout_ms} exceeds the candidate's timeout ({self.candidate.timeout_s} s)",
            )
        # A path both ignored and redacted is allowed: ignoring only skips the comparison, the
        # value still travels in the shadow event, so a personal field that is ignored must be
        # redacted too (generator/spec/comparison_paths.py requires it).
        return self


class Cleanup(SpecModel):
    function: Function
    schedule: str = Field(default="rate(1 day)", pattern=SCHEDULE)
    keep_versions: int = Field(default=5, ge=1, le=100)


# The guard's runs never overlap inside Lambda; a second invocation is throttled and
# retried asynchronously (docs/aws-rules.md, Lambda).
GUARD_CONCURRENCY = 1
# How often the guard re-reads the alarm besides its state changes: a missed or
# throttled event costs at most this long.
GUARD_SCHEDULE = "rate(1 minute)"


class Guard(SpecModel):
    """The guard function: while the composite rollback alarm is in ALARM, every read
    path's served canary is 0. EventBridge invokes it on each state change of the alarm
    and every minute; each run re-reads the alarm and what AppConfig serves, stops any
    other flag deployment and deploys the canary-off flags at once. It is the only
    automatic flag rollback: no AppConfig monitor is attached (docs/functions.md)."""

    function: Function

    @model_validator(mode="after")
    def _one_at_a_time(self) -> Guard:
        if self.function.reserved_concurrency not in (None, GUARD_CONCURRENCY):
            raise FieldProblem(
                ("function", "reserved_concurrency"),
                f"{self.function.reserved_concurrency} is not allowed; the guard runs one at a time "
                f"(reserved concurrency {GUARD_CONCURRENCY}, set by cutover): leave it out or set {GUARD_CONCURRENCY}",
            )
        return self



# --- delivery ---------------------------------------------------------------------------


# Flag changes roll out all at once (docs/aws-rules.md, AppConfig): a gradual AppConfig
# deployment moves execution environments, not users, so a user whose requests land in
# an updated and a not-yet-updated environment would flip between control and
# candidate. Stickiness comes from the router's hash of salt + user id instead.
GRADUAL_ROLLOUT_FIELDS = ("growth_type", "growth_factor", "duration_minutes")


# AppConfig names without newline or comma: the agent's prefetch list is comma-separated
# (docs/aws-rules.md, AppConfig), and the router reads the flags by these names.
APPCONFIG_NAME = r"^[^\n,]+$"
PATTERN_HELP[APPCONFIG_NAME] = "an AppConfig name without newline or comma"


# Where AWS publishes the AppConfig Agent Lambda extension's layer ARN, per region and
# architecture (docs/aws-rules.md, AppConfig: "Retrieve the latest extension ARN from a
# public parameter").
AGENT_LAYER_PARAMETER = "/aws/service/appconfig/extension/{architecture}/latest"


class AppConfigSettings(SpecModel):
    application: str = Field(min_length=1, max_length=64, pattern=APPCONFIG_NAME)
    environment: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=APPCONFIG_NAME, description="Default: release.environment."
    )
    profile: str = Field(default="feature-flags", min_length=1, max_length=128, pattern=APPCONFIG_NAME)
    final_bake_minutes: int = Field(
        default=10,
        ge=0,
        le=1440,
        description=(
            "Bake after each flag deployment: AppConfig starts no other flag deployment until it "
            "ends. No monitor watches it: the guard turns the canary off whenever the rollback "
            "alarm is in ALARM. Flags roll out all at once (no growth settings)."
        ),
    )
    agent_layer_parameter: str = Field(
        default=AGENT_LAYER_PARAMETER,
        pattern=r"^/aws/service/[A-Za-z0-9_./{}-]{1,1000}$",
        description=(
            "SSM public parameter holding the AppConfig Agent Lambda extension layer ARN of the "
            "release's region ({architecture}: the routers' architecture), read at plan time."
        ),
    )
    agent_layer_arn: str | None = _pattern(
        LAYER_ARN, default=None, description="The agent layer to use instead of the public parameter's."
    )
    poll_interval_s: int = Field(default=45, ge=15, le=3600)
    poll_timeout_ms: int = Field(default=3000, ge=100, le=60000)
    cache_ttl_ms: int = Field(default=5000, ge=0, le=600000)
    read_budget_ms: int = Field(default=50, ge=1, le=5000)

    @model_validator(mode="before")
    @classmethod
    def _all_at_once(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in GRADUAL_ROLLOUT_FIELDS:
                if key in data:
                    raise FieldProblem(
                        (key,),
                        "flags roll out all at once; remove it. AppConfig moves execution "
                        "environments, not users, so a gradual rollout would flip users between "
                        "control and candidate (final_bake_minutes keeps the bake)",
                    )
        return data


class CustomCodeDeployConfig(SpecModel):
    type: Literal["TimeBasedCanary", "TimeBasedLinear"]
    percentage: int = Field(ge=1, le=99)
    interval_minutes: int = Field(ge=1, le=2880)


# CodeDeploy's service role may invoke only lifecycle hooks named CodeDeployHook_*
# (docs/aws-rules.md, CodeDeploy); Lambda allows 64 characters.
PROBE_FUNCTION = r"^CodeDeployHook_[A-Za-z0-9_-]{1,49}$"
PATTERN_HELP[PROBE_FUNCTION] = "CodeDeployHook_ then 1-49 letters, digits, '-' or '_'"
# The user ids travel in the probe's environment (Lambda allows 4 KB in all).
PROBE_USER_IDS_BUDGET = 1024


class DeployProbe(SpecModel):
    """CodeDeploy's BeforeAllowTraffic hook (functions/deploy_probe, docs/functions.md):
    before a deployment moves any traffic, it reads through the new version and fails the
    deployment when Wald's sequential test puts the version's error rate at the limit."""

    enabled: bool = Field(default=True, description="Judge every code deployment before traffic moves.")
    function_name: str | None = Field(
        default=None,
        pattern=PROBE_FUNCTION,
        description="Default: CodeDeployHook_<release>-<env>, shortened to 64 characters.",
    )
    user_ids: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        default_factory=list,
        max_length=100,
        description=(
            "Users whose profile every version must answer, read in turn. Empty: synthetic ids "
            "(cutover-probe-N), for which the candidate's not found is an answer too."
        ),
    )
    max_reads: int = Field(
        default=600, ge=1, le=5000, description="Most reads of one deployment; undecided at the end fails it."
    )
    error_rate_pct: float | None = Field(
        default=None, gt=0, lt=100, description="The limit the test judges against. Default: guardrails.error_rate_pct."
    )
    timeout_s: int = Field(default=300, ge=30, le=900, description="The probe function's timeout.")

    @model_validator(mode="after")
    def _user_ids(self) -> DeployProbe:
        for i, user_id in enumerate(self.user_ids):
            if not user_id.isprintable():
                raise FieldProblem(("user_ids", i), "must be printable (the functions refuse any other user id)")
        size = len(json.dumps(self.user_ids))
        if size > PROBE_USER_IDS_BUDGET:
            raise FieldProblem(("user_ids",), f"is {size} bytes of JSON; at most {PROBE_USER_IDS_BUDGET}")
        return self


class CodeDeploySettings(SpecModel):
    application: str | None = Field(
        default=None, min_length=1, max_length=100, description="Default: <release>-<env>."
    )
    predefined: Literal[PREDEFINED_CODEDEPLOY_CONFIGS] | None = None  # type: ignore[valid-type]
    custom: CustomCodeDeployConfig | None = None
    probe: DeployProbe = Field(default_factory=DeployProbe)

    @model_validator(mode="after")
    def _one_config(self) -> CodeDeploySettings:
        if self.predefined and self.custom:
            raise FieldProblem(("custom",), "set either predefined or custom, not both")
        return self


# Step Functions state machine names: 1-80 characters; CloudWatch logging takes only these.
STATE_MACHINE_NAME = r"^[A-Za-z0-9_-]{1,80}$"
PATTERN_HELP[STATE_MACHINE_NAME] = "1-80 characters of letters, digits, '-' and '_'"


class ControllerFunction(Function):
    """The controller function (functions/controller): every judgement of the state machine."""

    name: str | None = _pattern(
        FUNCTION_NAME, default=None, description="Default: <release>-<env>-controller, cut to 64 characters."
    )
    timeout_s: int = Field(default=60, ge=1, le=900, description="Timeout in seconds.")


class Controller(SpecModel):
    """The Step Functions controller that ramps the canary step by step, each step judged by the go/no-go analysis.

    It deploys the next step after `observe_minutes` of PROMOTE (docs/architecture.md). It never
    turns the canary off (the guard does), never deploys while the rollback alarm is in ALARM or
    a flag deployment runs, and stops when the guard or a person acted."""

    enabled: bool = Field(description="Render the state machine and its function (the section may stay, disabled).")
    schedule: str | None = _pattern(
        SCHEDULE,
        default=None,
        description="EventBridge schedule that starts an execution (null: only `cutover controller start`).",
    )
    approval: bool = Field(
        default=False,
        description=(
            "After max_holds re-judgements still HOLD: true waits for `cutover approve` or `cutover reject` "
            "(needs observability.notifications); false notifies and stops."
        ),
    )
    observe_minutes: int = Field(
        default=60, ge=1, le=1440,
        description="Wait after a step settles (deployment and bake complete) before judging it; also between re-judgements.",
    )
    max_holds: int = Field(default=3, ge=0, le=20, description="Re-judgements after a HOLD before asking or stopping.")
    approval_timeout_hours: int = Field(
        default=24, ge=1, le=168, description="How long a question waits for an answer; then the controller stops (Held)."
    )
    function: ControllerFunction = Field(default_factory=ControllerFunction)
    state_machine_name: str | None = _pattern(
        STATE_MACHINE_NAME, default=None, description="Default: <release>-<env>-controller, cut to 80 characters."
    )


class Delivery(SpecModel):
    appconfig: AppConfigSettings
    codedeploy: CodeDeploySettings = Field(default_factory=CodeDeploySettings)
    controller: Controller | None = Field(
        default=None,
        description="The Step Functions controller that ramps the canary step by step (absent: disabled).",
    )


# --- guardrails -------------------------------------------------------------------------


class GoNoGo(SpecModel):
    go_pct: float = Field(gt=0, le=1000)
    no_go_pct: float = Field(gt=0, le=1000)

    @model_validator(mode="after")
    def _ordered(self) -> GoNoGo:
        if self.go_pct >= self.no_go_pct:
            raise FieldProblem(("go_pct",), f"{self.go_pct:g} must be below no_go_pct ({self.no_go_pct:g})")
        return self


class CanaryShare(SpecModel):
    min_ratio: float = Field(default=0.5, gt=0, le=1)
    max_ratio: float = Field(default=2.0, ge=1, le=100)


class SequentialTest(SpecModel):
    """Wald's sequential test each error-rate alarm runs over its window (generator/plan/alarms.py):
    ALARM when errors >= a + b x samples, a and b from these four numbers."""

    healthy_error_rate_pct: float = Field(
        default=0.1, gt=0, lt=100,
        description="p0: the error rate (%) of a healthy route (the control's usual rate); a canary at it is kept.",
    )
    failing_error_rate_pct: float = Field(
        default=10, gt=0, lt=100,
        description="p1: the error rate (%) of a failing canary that must be detected at every step that can be live.",
    )
    false_rollback_per_hour: float = Field(
        default=0.01, gt=0, le=0.2,
        description=(
            "alpha: at most this chance of a false rollback per hour of a healthy step. CloudWatch runs the "
            "test again every minute on a sliding window, so each run gets alpha / 60 (Bonferroni)."
        ),
    )
    missed_rollback: float = Field(
        default=0.01, gt=0, le=0.2, description="beta: the chance that a canary failing at p1 is not detected."
    )

    @model_validator(mode="after")
    def _ordered(self) -> SequentialTest:
        if self.healthy_error_rate_pct >= self.failing_error_rate_pct:
            raise FieldProblem(
                ("healthy_error_rate_pct",),
                f"{self.healthy_error_rate_pct:g} must be below failing_error_rate_pct ({self.failing_error_rate_pct:g})",
            )
        return self


class Guardrails(SpecModel):
    """Thresholds. Only error rates roll back; the rest are inputs of the go/no-go analysis.

    The alarms decide with a sequential test (`sequential`) over windows sized from
    `expected_requests_per_minute` (generator/plan/alarms.py).
    """

    error_rate_pct: float = Field(
        default=2.0, gt=0, le=100,
        description="Error rate (%) of the go/no-go analysis; the rollback alarms use `sequential`.",
    )
    sequential: SequentialTest = Field(default_factory=SequentialTest)
    p95_regression: GoNoGo = Field(default_factory=lambda: GoNoGo(go_pct=15, no_go_pct=30))
    shadow_diff: GoNoGo = Field(default_factory=lambda: GoNoGo(go_pct=0.5, no_go_pct=1.0))
    canary_share: CanaryShare = Field(default_factory=CanaryShare)
    expected_requests_per_minute: float = Field(
        gt=0,
        le=100_000_000,
        description=(
            "Requests a minute each read path serves at its quietest hour. Sizes every alarm "
            "window so that the traffic it judges (the canary's share of it at the current and "
            "at the first step) can decide the sequential test."
        ),
    )
    min_samples: int = Field(
        default=50, ge=1, le=1000000, description="Requests the go/no-go analysis needs before it judges a rate."
    )
    min_errors: int = Field(
        default=3,
        ge=1,
        le=1000000,
        description="Errors an alarm window needs besides the sequential test's line (a few errors among a few requests are not a rollback).",
    )
    p95_ceiling_ms: float = Field(
        default=500, gt=0, le=900000, description="Absolute p95 ceiling of the canary route (seed: p95 < 500 ms)."
    )
    confidence: float = Field(
        default=0.95, ge=0.8, le=0.999, description="Confidence of the go/no-go analysis's exact error-rate tests."
    )
    period_seconds: int = Field(
        default=60, description="Shortest alarm period: 10, 20, 30 or a multiple of 60; longer where traffic is low."
    )
    evaluation_periods: int = Field(default=5, ge=1, le=1440, description="N of an M-of-N alarm at the shortest period.")
    datapoints_to_alarm: int = Field(default=3, ge=1, le=1440, description="M of an M-of-N alarm at the shortest period.")

    @model_validator(mode="after")
    def _periods(self) -> Guardrails:
        period = self.period_seconds
        if period not in (10, 20, 30) and (period <= 0 or period % 60):
            raise FieldProblem(("period_seconds",), f"{period} is not allowed; expected 10, 20, 30 or a multiple of 60")
        if period * self.evaluation_periods > 86400:
            raise FieldProblem(
                ("evaluation_periods",),
                f"{self.evaluation_periods} periods of {period} s exceed one day "
                "(longer alarms are evaluated only once an hour)",
            )
        if self.datapoints_to_alarm > self.evaluation_periods:
            raise FieldProblem(
                ("datapoints_to_alarm",),
                f"{self.datapoints_to_alarm} must not exceed evaluation_periods ({self.evaluation_periods})",
            )
        if self.min_errors > self.min_samples:
            raise FieldProblem(
                ("min_errors",), f"{self.min_errors} must not exceed min_samples ({self.min_samples})"
            )
        return self


# --- observability and security -----------------------------------------------------------


class Tracing(SpecModel):
    mode: Literal["Active", "PassThrough"] = "Active"
    user_id: Literal["raw", "hashed", "off"] = Field(
        default="hashed", description="How the userId annotation is written."
    )
    canary_sampling_rate: float = Field(default=1.0, ge=0, le=1)
    canary_reservoir: int = Field(default=5, ge=0, le=1000)


class Notifications(SpecModel):
    emails: list[Annotated[str, _pattern(EMAIL)]] = Field(default_factory=list)
    topic_arns: list[Annotated[str, _pattern(SNS_ARN)]] = Field(default_factory=list)


class Observability(SpecModel):
    tracing: Tracing = Field(default_factory=Tracing)
    log_retention_days: int = Field(default=365, description="A CloudWatch Logs retention value.")
    metrics_namespace: str = Field(default=DEFAULT_NAMESPACE, pattern=METRICS_NAMESPACE)
    dashboard_name: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_-]{1,255}$", description="Default: <release>-<env>."
    )
    notifications: Notifications = Field(default_factory=Notifications)

    @model_validator(mode="after")
    def _retention(self) -> Observability:
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise FieldProblem(
                ("log_retention_days",),
                f"{self.log_retention_days} is not a CloudWatch Logs retention; "
                f"allowed: {', '.join(map(str, LOG_RETENTION_DAYS))}",
            )
        return self


class CheckovSkip(SpecModel):
    id: str = _pattern(CHECKOV_ID)
    reason: str = Field(min_length=15, max_length=500, description="Why the check does not apply.")


class Security(SpecModel):
    kms_key_arn: str | None = Field(
        default=None, pattern=KMS_KEY_ARN, description="Bring your own key (null: create one)."
    )
    code_signing_config_arn: str | None = Field(default=None, pattern=CODE_SIGNING_ARN)
    checkov_skips: list[CheckovSkip] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_skips(self) -> Security:
        seen: dict[str, int] = {}
        for i, skip in enumerate(self.checkov_skips):
            if skip.id in seen:
                raise FieldProblem(("checkov_skips", i, "id"), f"{skip.id} is already skipped at checkov_skips[{seen[skip.id]}]")
            seen[skip.id] = i
        return self


# --- the whole spec ---------------------------------------------------------------------


class Cost(SpecModel):
    """What `cutover cost` holds this environment's monthly cost against, in US dollars a month.

    The command prints both next to its own figure and exits 1 when the release costs
    more than `budget_usd`; without this section it prices the release and checks no budget.
    """

    budget_usd: float = Field(gt=0, le=1_000_000, description="The release's monthly budget in this environment.")
    estimate_usd: float | None = Field(
        default=None, gt=0, le=1_000_000,
        description="The team's own monthly estimate (e.g. from a spreadsheet), printed for comparison.",
    )


class ReleaseSpec(SpecModel):
    """One environment of one release."""

    release: Release
    backend: Backend
    phase: Literal["shadow", "canary", "complete"] = Field(
        description="shadow: canary 0%, shadow on; canary: ramping; complete: candidate only."
    )
    read_paths: list[ReadPath] = Field(min_length=1, max_length=10)
    cleanup: Cleanup | None = None
    guard: Guard | None = Field(
        default=None,
        description="Canary off while the rollback alarm is in ALARM: level-triggered, on the alarm's "
        "state changes and every minute; the only automatic flag rollback (replaces `brake`).",
    )
    delivery: Delivery
    guardrails: Guardrails
    observability: Observability = Field(default_factory=Observability)
    security: Security = Field(default_factory=Security)
    cost: Cost | None = Field(default=None, description="The monthly budget `cutover cost` checks (optional).")
