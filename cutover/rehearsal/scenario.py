"""Rehearsal scenarios (`config/scenarios/*.yaml`): traffic, faults and what to expect.

The format is documented in docs/rehearsal.md. Loading is strict, like the release spec:
unknown fields, wrong types and impossible values are reported all at once, each with
the file, line and YAML path and what is allowed (exit code 2 from the CLI).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cutover.generator.spec.errors import SpecError, SpecInvalid
from cutover.generator.spec.loader import LineMap, parse_yaml

MAX_SCENARIO_BYTES = 200_000
PLANS = ("free", "pro", "team")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Problem(ValueError):
    """A cross-field problem; ``field`` is the YAML key it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"@{field}: {message}")


class Night(Model):
    """From ``start_hour`` to ``end_hour`` (simulated clock, 0-23; may wrap midnight)."""

    start_hour: int = Field(default=22, ge=0, le=23)
    end_hour: int = Field(default=6, ge=0, le=23)
    requests_per_minute: float = Field(gt=0, le=100_000, description="Mean requests a minute at night.")

    @model_validator(mode="after")
    def _span(self) -> Night:
        if self.start_hour == self.end_hour:
            raise Problem("end_hour", "must differ from start_hour")
        return self

    def covers(self, minute: int) -> bool:
        hour = (minute % 1440) // 60
        if self.start_hour < self.end_hour:
            return self.start_hour <= hour < self.end_hour
        return hour >= self.start_hour or hour < self.end_hour


class Traffic(Model):
    requests_per_minute: float = Field(default=100, gt=0, le=100_000,
                                       description="Mean requests a minute (before the diurnal shape).")
    users: int = Field(default=5000, ge=1, le=10_000_000, description="Distinct users (userId user-000001...).")
    key_skew: float = Field(default=1.0, ge=0, le=3,
                            description="Zipf exponent of user popularity: 0 = uniform, 1 = a few heavy users.")
    diurnal_amplitude: float = Field(default=0.0, ge=0, lt=1,
                                     description="Requests a minute swing by ±amplitude over 24 simulated hours.")
    max_requests: int | None = Field(default=None, ge=1, description="Stop after this many requests.")
    night: Night | None = Field(default=None, description="A quieter stretch of every simulated day.")
    path_shares: dict[str, float] = Field(
        default_factory=dict, description="Share of the requests each read path gets (default: equal).")

    @model_validator(mode="after")
    def _shares(self) -> Traffic:
        if self.path_shares and any(v < 0 for v in self.path_shares.values()):
            raise Problem("path_shares", "shares must not be negative")
        if self.path_shares and sum(self.path_shares.values()) <= 0:
            raise Problem("path_shares", "at least one path needs a positive share")
        return self


class Approval(Model):
    """Under --controller with approval on (the spec's delivery.controller.approval): what the
    person the controller asks answers (`cutover approve` or `cutover reject`), and when."""

    answer: Literal["none", "approve", "reject"] = Field(
        default="none", description="none: nobody answers (the ask times out, held).")
    after_minutes: float = Field(default=30, gt=0, le=7 * 1440, description="After the question, in minutes.")


class Ramp(Model):
    shadow_minutes: int = Field(default=240, ge=0, le=14 * 1440,
                                description="Time in the shadow phase before the first canary step (0: skip).")
    hold_minutes: int = Field(default=240, ge=1, le=14 * 1440,
                              description="Time each canary step is held before its go/no-go decision.")
    step_hold_minutes: dict[float, int] = Field(
        default_factory=dict, description="Per-step holds (percent: minutes), e.g. a longer 1% step.")
    max_holds: int = Field(default=1, ge=0, le=20,
                           description="HOLD verdicts tolerated per step before the rehearsal stops 'held'.")
    start_step: float | None = Field(default=None, gt=0, le=100,
                                     description="Start at this canary step (skips shadow and the steps before).")
    tail_minutes: int = Field(default=30, ge=1, le=1440,
                              description="How long the run goes on after a rollback decision.")
    reconcile_after_minutes: float | None = Field(
        default=None, gt=0, le=1440,
        description="After a rollback decision, the operator sets the spec's percent to 0 and applies (alarms and flags re-rendered).")
    approval: Approval = Field(default_factory=Approval,
                               description="--controller: how the person asked for approval answers.")

    def hold(self, percent: float) -> int:
        if percent == 0:
            return self.shadow_minutes
        return self.step_hold_minutes.get(percent, self.hold_minutes)


class Latency(Model):
    median_ms: float = Field(gt=0, le=60_000)
    p95_ms: float = Field(gt=0, le=60_000)

    @model_validator(mode="after")
    def _ordered(self) -> Latency:
        if self.p95_ms < self.median_ms:
            raise Problem("p95_ms", f"{self.p95_ms:g} must be at least median_ms ({self.median_ms:g})")
        return self


class Latencies(Model):
    control: Latency = Latency(median_ms=28, p95_ms=55)
    database: Latency = Latency(median_ms=18, p95_ms=40)
    invoke: Latency = Latency(median_ms=6, p95_ms=12)
    flags_fetch: Latency = Latency(median_ms=0.4, p95_ms=1)
    cold_start_ms: dict[Literal["router", "candidate"], float] = {"router": 250, "candidate": 450}


class Environments(Model):
    router: int | None = Field(default=None, ge=1, le=1000,
                               description="Most execution environments of the router (default: its reserved concurrency).")
    candidate: int | None = Field(default=None, ge=1, le=1000,
                                  description="Most execution environments of the candidate (default: its reserved concurrency).")
    lifetime_minutes: int = Field(default=120, ge=1, le=1440,
                                  description="Lambda recycles an environment after about this long.")


class When(Model):
    """When a fault starts: at a canary step (percent; 0 = shadow) plus minutes, or at a minute."""

    step: float | None = Field(default=None, ge=0, le=100)
    after_minutes: float = Field(default=0, ge=0, description="Fractions are seconds: 0.5 is 30 s.")
    minute: float | None = Field(default=None, ge=0)
    for_minutes: float | None = Field(default=None, gt=0,
                                      description="Default: until the end. Second precision (0.5: 30 s).")

    @model_validator(mode="after")
    def _one(self) -> When:
        if (self.step is None) == (self.minute is None):
            raise Problem("step", "set either step (with after_minutes) or minute")
        return self


class CandidateErrors(Model):
    kind: Literal["candidate_errors"]
    when: When
    rate: float = Field(gt=0, le=1, description="Share of the candidate's reads that raise.")
    traffic: Literal["all", "canary", "shadow"] = "all"


class LatencyRegression(Model):
    kind: Literal["latency"]
    when: When
    target: Literal["database", "control", "invoke"] = "database"
    factor: float = Field(default=1.0, gt=0, le=1000)
    add_ms: float = Field(default=0, ge=0, le=60_000)


class Divergence(Model):
    kind: Literal["divergence"]
    when: When = When(minute=0)
    field: Literal["plan", "displayName", "email", "createdAt"] = "plan"
    plan: Literal["free", "pro", "team"] | None = Field(default=None, description="Only users on this plan.")
    share: float = Field(default=1.0, gt=0, le=1, description="Share of those users whose row is wrong.")


class FlagsUnavailable(Model):
    kind: Literal["flags_unavailable"]
    when: When = When(minute=0)
    cold_start_seconds: float = Field(default=60, gt=0, le=3600,
                                      description="How long a new environment's agent has no flags.")


class DatabaseOutage(Model):
    kind: Literal["database_outage"]
    when: When


class RouterDeployment(Model):
    kind: Literal["router_deployment"]
    when: When
    environment: dict[str, str] = Field(default_factory=lambda: {"CUTOVER_FLAGS_TTL_MS": "5s"},
                                        description="Environment of the new version (a bad value breaks it).")


class CandidateTimeout(Model):
    kind: Literal["candidate_timeout"]
    when: When
    share: float = Field(gt=0, le=1, description="Share of canary reads that outlast the router's canary timeout.")


class ControlErrors(Model):
    kind: Literal["control_errors"]
    when: When
    rate: float = Field(gt=0, le=1, description="Share of requests whose control backend fails (retry included).")


class AgentOutage(Model):
    kind: Literal["agent_outage"]
    when: When
    status: int = Field(default=500, ge=400, le=599, description="What the agent answers every environment.")
    recycle_minutes: float | None = Field(
        default=None, gt=0, le=1440, description="Environments recycled this often while it lasts (churn).")


class LostNotification(Model):
    kind: Literal["lost_notification"]
    when: When
    what: Literal["all", "eventbridge", "sns"] = Field(
        default="all", description="Which deliveries of the rollback alarm's state changes are lost.")


Fault = Annotated[CandidateErrors | LatencyRegression | Divergence | FlagsUnavailable
                  | DatabaseOutage | RouterDeployment | CandidateTimeout | ControlErrors
                  | AgentOutage | LostNotification, Field(discriminator="kind")]


FAULT_KINDS = ("candidate_errors", "latency", "divergence", "flags_unavailable",
               "database_outage", "router_deployment", "candidate_timeout", "control_errors",
               "agent_outage", "lost_notification")
VERDICTS = ("PROMOTE", "HOLD", "ROLLBACK")


class Bounds(Model):
    max_user_visible_errors: int | None = Field(default=None, ge=0)
    rollback_within_minutes: float | None = Field(
        default=None, gt=0, description="From the first fault's start to the candidate's last canary user.")
    code_deployment: Literal["rolled_back", "succeeded"] | None = None
    max_route_flips: int | None = Field(
        default=None, ge=0, description="No user switches between control and candidate more often (a flag change's propagation counts once).")
    candidate_stops_within_minutes: float | None = Field(
        default=None, gt=0, description="The candidate serves no canary user later than this after the rollback decision.")
    top_divergent_field: str | None = Field(default=None, min_length=1,
                                            description="The field path shadow comparisons found most often.")
    notification_sent: bool | None = Field(default=None, description="An SNS notification about the rollback was (not) sent.")
    verdicts: dict[float, Literal["PROMOTE", "HOLD", "ROLLBACK"]] = Field(
        default_factory=dict, description="The last go/no-go verdict at each of these steps (percent: verdict).")


class Expect(Model):
    outcome: Literal["promoted", "rolled_back", "held"]
    step: float | None = Field(default=None, ge=0, le=100, description="The step (percent) it ends at.")
    bounds: Bounds = Bounds()

    @model_validator(mode="after")
    def _step(self) -> Expect:
        if self.outcome != "promoted" and self.step is None:
            raise Problem("step", f"{self.outcome} needs the step (percent) where it happens")
        return self


class ControllerExpect(Expect):
    """What a run with --controller expects (the controller's state machine walks the ramp)."""

    ended: str | None = Field(
        default=None, min_length=1,
        description="How the controller's execution ends: the Fail state's error (cutover.Stopped, cutover.Held, "
                    "...) or the Succeed state's name (Done).")


class World(Model):
    """How AWS behaves where the rehearsal has a choice (docs/rehearsal.md "Fidelity")."""

    appconfig_monitor: bool = Field(
        default=False, description="Attach the rollback alarm as the environment's AppConfig monitor (cutover attaches none: the guard is the only automatic flag rollback).")
    started_in_alarm: Literal["rolled_back", "kept"] = Field(
        default="rolled_back",
        description="Undocumented: a deployment started while its monitor is in ALARM is rolled back at once, or kept.")


class Scenario(Model):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    seed: int = Field(default=1234, ge=0)
    traffic: Traffic = Traffic()
    ramp: Ramp = Ramp()
    latency: Latencies = Latencies()
    environments: Environments = Environments()
    faults: list[Fault] = []
    world: World = World()
    env: str | None = Field(default=None, pattern=r"^[a-z0-9-]+$",
                            description="The spec (config/<env>.release.yaml) this scenario is for; default: --env.")
    expect: Expect
    expect_controller: ControllerExpect | None = Field(
        default=None, description="What a run with --controller expects, where it differs from expect.")

    def expectation(self, controller: bool) -> Expect:
        """What the run expects: ``expect``, or under --controller ``expect_controller`` when set."""
        return self.expect_controller if controller and self.expect_controller is not None else self.expect


class ScenarioInvalid(SpecInvalid):
    def report(self) -> str:
        n = len(self.errors)
        head = f"{self.file}: {n} error{'s' if n != 1 else ''} in the scenario (docs/rehearsal.md)"
        return "\n".join([head, *("  " + e.render(self.file) for e in self.errors)])


def _allowed(loc: tuple) -> list[str]:
    cls: Any = Scenario
    for part in loc[:-1]:
        if isinstance(part, int) or cls is None:
            continue
        field = cls.model_fields.get(part) if hasattr(cls, "model_fields") else None
        if field is None:
            return []
        ann = field.annotation
        cls = ann if isinstance(ann, type) and hasattr(ann, "model_fields") else None
    return sorted(cls.model_fields) if cls is not None else []


def _message(err: dict[str, Any], loc: tuple) -> str:
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        allowed = _allowed(loc)
        return f"unknown field '{loc[-1]}'" + (f"; allowed here: {', '.join(allowed)}" if allowed else "")
    if err["type"] == "missing":
        return "is required"
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return f"kind must be one of: {', '.join(FAULT_KINDS)}"
    if msg.startswith("@"):
        return msg.split(": ", 1)[1]
    value = err.get("input")
    shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return f"{shown[:60]}: {msg[0].lower()}{msg[1:]}"


def _located(exc: ValidationError, lines: LineMap) -> list[SpecError]:
    errors = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        if len(loc) > 2 and loc[0] == "faults" and loc[2] in FAULT_KINDS:
            loc = loc[:2] + loc[3:]  # pydantic names the union member; the YAML does not
        msg = err["msg"].removeprefix("Value error, ")
        if msg.startswith("@"):
            loc += (msg[1:].split(": ", 1)[0],)
        errors.append(SpecError(lines.line(loc), loc, _message(err, loc)))
    return errors


def parse_scenario(text: str, file: Path | str) -> Scenario:
    try:
        data, lines = parse_yaml(text, file)
    except SpecInvalid as exc:
        raise ScenarioInvalid(file, exc.errors) from None
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioInvalid(file, _located(exc, lines)) from None


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate one scenario file; raises ScenarioInvalid with every error."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioInvalid(path, [SpecError(0, (), f"cannot read the scenario: {exc.strerror}")]) from None
    if len(raw) > MAX_SCENARIO_BYTES:
        raise ScenarioInvalid(path, [SpecError(0, (), f"larger than {MAX_SCENARIO_BYTES} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioInvalid(path, [SpecError(0, (), f"not UTF-8 text (byte {exc.start})")]) from None
    return parse_scenario(text, path)


def check_against_spec(path: Path | str, scenario: Scenario, spec: Any) -> None:
    """What a scenario names of the spec exists there (start_step, path_shares, fault
    steps); raises ScenarioInvalid with each problem at its line."""
    try:
        _, lines = parse_yaml(Path(path).read_text(encoding="utf-8"), path)
    except (OSError, SpecInvalid):
        return
    steps = list(spec.read_paths[0].canary.steps)
    names = [p.name for p in spec.read_paths]
    shown = ", ".join(f"{p:g}" for p in steps)
    errors = []
    start = scenario.ramp.start_step
    if start is not None and start not in steps:
        loc: tuple = ("ramp", "start_step")
        errors.append(SpecError(lines.line(loc), loc, f"{start:g} is not a step of the spec ({shown})"))
    for name in scenario.traffic.path_shares:
        if name not in names:
            loc = ("traffic", "path_shares", name)
            errors.append(SpecError(lines.line(loc), loc, f"no read path '{name}' in the spec ({', '.join(names)})"))
    for i, fault in enumerate(scenario.faults):
        if fault.when.step is not None and fault.when.step != 0 and fault.when.step not in steps:
            loc = ("faults", i, "when", "step")
            errors.append(SpecError(lines.line(loc), loc, f"{fault.when.step:g} is not a step of the spec ({shown})"))
    if errors:
        raise ScenarioInvalid(path, errors)
