"""What one request came to: where the router sent it, whose answer the caller got.

The router is two things in one function: it *routes* (control, canary, shadow tee)
and, until the cutover completes, it *is* the control (`user_profile.mock`). An Outcome
keeps the two apart in what a request leaves behind: `routed` is the routing decision
(`canary` = the candidate was asked, whatever happened next), `served_by` is whose
answer the caller got. The REQUEST log line, the Latency metric's Route dimension and
the X-Ray annotations are all written from it (docs/contracts.md sections 5, 6, 8).
"""

from __future__ import annotations

from typing import Literal, NamedTuple


class Outcome(NamedTuple):
    """Immutable. A NamedTuple, not a dataclass: ``dataclasses`` is not imported at a
    cold start for it."""

    routed: Literal["control", "canary"] = "control"
    served_by: Literal["control", "candidate"] = "control"
    shadow: bool = False  # a shadow copy was sent to the candidate
    failed: bool = False  # the candidate was asked and failed
    fallback: bool = False  # ... and the caller got the control's answer instead

    @property
    def canary(self) -> bool:
        return self.routed == "canary"

    @property
    def level(self) -> str:
        """ERROR when the caller was served a failure, INFO otherwise."""
        return "ERROR" if self.failed and not self.fallback else "INFO"

    def log_fields(self) -> dict[str, object]:
        return {"servedBy": self.served_by, "canary": int(self.canary), "shadow": int(self.shadow),
                "failed": int(self.failed), "fallback": int(self.fallback)}


CONTROL = Outcome()  # the control answered
CONTROL_SHADOWED = Outcome(shadow=True)  # ... and a shadow copy was teed


def control(*, shadow: bool = False) -> Outcome:
    """The control answered (and maybe teed a shadow copy)."""
    return CONTROL_SHADOWED if shadow else CONTROL


CANARY_SERVED = Outcome(routed="canary", served_by="candidate")
CANARY_FELL_BACK = Outcome(routed="canary", served_by="control", failed=True, fallback=True)
CANARY_FAILED = Outcome(routed="canary", served_by="candidate", failed=True)
