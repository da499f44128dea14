"""Faults injected into the live release by hand (``cutover sandbox inject``): the
rehearsal's fault kinds (``cutover.rehearsal.scenario.Fault``), started now and ended by
``clear`` or after ``for_minutes``. The rehearsal's ``FaultBoard`` says what is active
and the world applies each start and end, as in a rehearsal."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from cutover.rehearsal.scenario import FAULT_KINDS, Fault

# Needs a code deployment of the router: `cutover deploy` does that against the sandbox.
NOT_INJECTABLE = {"router_deployment": "deploy a new router version with `cutover deploy` instead"}
_FAULT = TypeAdapter(Fault)


class FaultInvalid(ValueError):
    """An unknown fault kind or parameters it does not take (what is allowed is said)."""


def parse(kind: str, now_s: float, params: dict[str, Any]) -> Any:
    if kind not in FAULT_KINDS or kind in NOT_INJECTABLE:
        allowed = ", ".join(k for k in FAULT_KINDS if k not in NOT_INJECTABLE)
        why = NOT_INJECTABLE.get(kind, "")
        raise FaultInvalid(f"cannot inject {kind!r}{': ' + why if why else ''} (allowed: {allowed})")
    params = dict(params)
    when = {"minute": now_s / 60.0, "for_minutes": params.pop("for_minutes", None)}
    try:
        return _FAULT.validate_python({**params, "kind": kind, "when": when})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or kind}: {e['msg']}"
                             for e in exc.errors())
        raise FaultInvalid(f"fault {kind}: {problems}") from None


class Faults:
    def __init__(self, world: Any) -> None:
        self.world = world
        self.board = world.faults

    def inject(self, kind: str, now_s: float, params: dict[str, Any]) -> dict[str, Any]:
        fault = parse(kind, now_s, params)
        board = self.board
        board.faults.append(fault)
        board.start[len(board.faults) - 1] = now_s
        self.due(now_s)
        return _view(fault)

    def due(self, t: float) -> None:
        """Start and end what is due by ``t``, each applied to the world."""
        started, ended = self.board.transitions(t)
        for i in started:
            self.world.apply_fault(self.board.faults[i], True, t)
        for i in ended:
            self.world.apply_fault(self.board.faults[i], False, t)

    def clear(self, kind: str, now_s: float) -> int:
        if kind not in FAULT_KINDS:
            raise FaultInvalid(f"unknown fault {kind!r} (one of: {', '.join(FAULT_KINDS)})")
        board, cleared = self.board, 0
        for i in sorted(board.active):
            if board.faults[i].kind == kind:
                board.active.discard(i)
                board.done.add(i)
                self.world.apply_fault(board.faults[i], False, now_s)
                cleared += 1
        return cleared

    def active(self) -> list[dict[str, Any]]:
        return [_view(self.board.faults[i]) for i in sorted(self.board.active)]

    def lost(self, channel: str) -> bool:
        return self.board.lost(channel)


def _view(fault: Any) -> dict[str, Any]:
    data = fault.model_dump(exclude={"when"})
    data["started_s"] = round(fault.when.minute * 60.0, 3)
    if fault.when.for_minutes is not None:
        data["for_minutes"] = fault.when.for_minutes
    return data
