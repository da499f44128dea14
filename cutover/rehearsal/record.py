"""What a rehearsal run leaves behind: a typed, immutable record.

The engine fills a ``RunRecord`` at the end of a run; the report (report_data.py), the
expectations (expectation.py) and the CLI read it, never the engine. Enums carry the
words report.json uses (their values are the JSON strings, report.schema.json).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"
    HELD = "held"
    ROLLBACK_INCOMPLETE = "rollback_incomplete"  # decided, but the candidate still served


class Verdict(StrEnum):
    """The go/no-go analysis' verdict on a step."""

    PROMOTE = "PROMOTE"
    HOLD = "HOLD"
    ROLLBACK = "ROLLBACK"


class EventKind(StrEnum):
    RAMP = "ramp"
    ALARMS_APPLIED = "alarms_applied"
    FLAG_DEPLOYMENT_STARTED = "flag_deployment_started"
    FLAG_DEPLOYMENT_DONE = "flag_deployment_done"
    BAKE_DONE = "bake_done"
    APPCONFIG_ROLLBACK = "appconfig_rollback"
    CODEDEPLOY_STARTED = "codedeploy_started"
    CODEDEPLOY_DONE = "codedeploy_done"
    CODEDEPLOY_ROLLED_BACK = "codedeploy_rolled_back"
    FAULT_START = "fault_start"
    FAULT_END = "fault_end"
    ROLLBACK_DECISION = "rollback_decision"
    GUARD = "guard"
    GUARD_ERROR = "guard_error"
    OPERATOR_ROLLBACK = "operator_rollback"
    NOTIFICATION_LOST = "notification_lost"
    CANDIDATE_STOPPED = "candidate_stopped"


class CodeDeploymentState(StrEnum):
    """How the router's CodeDeploy deployment (fault router_deployment) ended."""

    NONE = "none"
    IN_PROGRESS = "in progress"
    SUCCEEDED = "succeeded"
    ROLLED_BACK = "rolled_back"


@dataclass(frozen=True)
class Event:
    second: float
    kind: EventKind
    detail: str

    @property
    def minute(self) -> int:
        return int(self.second // 60)

    def to_json(self) -> dict[str, Any]:
        return {"minute": self.minute, "second": round(self.second, 3), "kind": self.kind.value,
                "detail": self.detail}


@dataclass(frozen=True)
class Decision:
    minute: int
    step: float
    verdict: Verdict
    action: str
    checks: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {"minute": self.minute, "step": self.step, "verdict": self.verdict.value, "action": self.action,
                "checks": list(self.checks)}


@dataclass(frozen=True)
class RunOutcome:
    result: Outcome
    step: float | None
    minute: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class MinuteRow:
    """One simulated minute: what users saw (the engine's counts) and what the functions
    published (the telemetry's counts and latency)."""

    minute: int
    canary_percent: float
    requests: int = 0
    user_errors: int = 0
    served_by_candidate: int = 0
    published: Mapping[str, float] = field(default_factory=dict)  # the functions' EMF counts
    p95_ms: Mapping[str, float | None] = field(default_factory=dict)  # control | canary


@dataclass(frozen=True)
class StepRecord:
    percent: float
    started: int
    ended: int | None
    holds: int
    tail: bool
    requests: int
    canary_requests: int
    users_served_by_candidate: int


@dataclass(frozen=True)
class PathRecord:
    name: str
    requests: int
    canary_requests: int
    user_errors: int
    users_served_by_candidate: int


@dataclass(frozen=True)
class AlarmTrack:
    name: str
    role: str
    history: tuple[tuple[int, str], ...]  # (minute, state) at each change


@dataclass(frozen=True)
class GuardTally:
    runs: int = 0
    idle_ticks: int = 0
    outcomes: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRecord:
    plan: tuple[float, ...]
    outcome: RunOutcome
    end_minute: int
    rows: tuple[MinuteRow, ...]
    events: tuple[Event, ...]
    decisions: tuple[Decision, ...]
    steps: tuple[StepRecord, ...]
    paths: tuple[PathRecord, ...]
    alarms: tuple[AlarmTrack, ...]
    requests: int
    user_errors: int
    users_served_by_candidate: int
    route_flips: tuple[int, ...]  # per user and path that changed route at least once
    rollback_decided: float | None  # seconds: the decision to turn the canary off
    rolled_back_at: float | None  # seconds: the candidate's last canary user (None: not stopped)
    first_fault: float | None  # seconds: the start of the first fault that began
    code_deployment: CodeDeploymentState
    notifications: tuple[dict[str, Any], ...]
    divergent_fields: Mapping[str, int]
    guard: GuardTally
    cold_starts: Mapping[str, int]
    shadow_dlq: int
    flag_reads: int
    controller: Mapping[str, Any] | None = None  # the controller's execution (--controller), else None

    @property
    def max_route_flips(self) -> int:
        return max(self.route_flips, default=0)
