"""The controller's ASL definition (generator/plan/controller.py): the graph is closed,
every way out of a judgement is the one the design says, and `substitute` follows
templatefile's rules. (asl-validator checks the rendered files against the ASL spec.)"""

from __future__ import annotations

import json

import pytest
from cutover.generator.plan.controller import (
    ENDINGS,
    PLACEHOLDERS,
    ControllerConfig,
    ControllerPath,
    PlaceholderError,
    definition,
    substitute,
)  # fmt: skip


def config(*, approval: bool = True, max_holds: int = 3) -> ControllerConfig:
    return ControllerConfig(
        release="r", environment="production", spec_file="config/production.release.yaml",
        paths=(ControllerPath("user-read", "prisma-adapter", (1, 5, 25, 50, 100), 1, True),
               ControllerPath("feed-read", "feed-adapter", (10, 100), 0, False)),
        guardrails={"error_rate_pct": 2}, observe_seconds=3600, max_holds=max_holds, approval=approval,
        approval_timeout_seconds=86400, period_seconds=60, poll_interval_seconds=45)


def _targets(state: dict) -> set[str]:
    out = {state["Next"]} if "Next" in state else set()
    out |= {c["Next"] for c in state.get("Choices", [])} | {c["Next"] for c in state.get("Catch", [])}
    if "Default" in state:
        out.add(state["Default"])
    return out


@pytest.mark.parametrize("approval", [True, False])
def test_every_transition_names_a_state_and_every_state_is_reachable(approval: bool) -> None:
    asl = definition(config(approval=approval))
    states = asl["States"]
    seen, todo = set(), [asl["StartAt"]]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        assert name in states, f"{name} is a target but not a state"
        todo += sorted(_targets(states[name]))
    assert seen == set(states)


def test_a_rollback_verdict_ends_the_machine_and_never_deploys() -> None:
    states = definition(config())["States"]
    verdict = {c["StringEquals"]: c["Next"] for c in states["Verdict"]["Choices"]}
    assert states[verdict["ROLLBACK"]] == {"Type": "Fail", "Error": "cutover.Rollback",
                                           "Cause": ENDINGS["RolledBack"][1]}
    # Anything the function did not plan for (STOP, an unknown verdict) stops too.
    assert states[states["Verdict"]["Default"]]["Error"] == "cutover.Stopped"
    assert states[states["Route"]["Default"]]["Error"] == "cutover.Stopped"
    assert states[states["Settled"]["Default"]]["Error"] == "cutover.Stopped"


@pytest.mark.parametrize("approval", [True, False])
def test_the_only_deploy_follows_a_promote_of_what_is_served_or_an_approval_of_that_step(approval: bool) -> None:
    states = definition(config(approval=approval))["States"]

    def into(target: str) -> set[str]:
        return {name for name, s in states.items() if target in _targets(s)}

    assert into("Deploy") == {"Promoted"}
    assert into("Promoted") == ({"Verdict", "RouteApproved"} if approval else {"Verdict"})
    assert {c["StringEquals"] for c in states["Verdict"]["Choices"] if c["Next"] == "Promoted"} == {"PROMOTE"}
    # A survey that found the next step safe leads to a judgement of what is served, never to a deploy.
    assert {c["StringEquals"]: c["Next"] for c in states["Route"]["Choices"]}["NEXT"] == "Judge"
    assert states["Deploy"]["Parameters"]["ConfigurationVersion.$"] == "$.survey.stage.version"
    if approval:
        rule = states["RouteApproved"]["Choices"][0]["And"]
        assert rule == [{"Variable": "$.survey.action", "StringEquals": "NEXT"},
                        {"Variable": "$.survey.stage.version", "StringEqualsPath": "$.approved.version"}]
        assert into("SurveyApproved") == {"Approved"}


def test_every_wait_for_data_is_followed_by_a_new_survey() -> None:
    states = definition(config())["States"]
    assert states["Observe"]["Next"] == "Survey"
    # A settled step goes back to the survey, which says OBSERVE until it has been served long enough.
    assert states["Settled"]["Choices"][1] == {"Variable": "$.settle.action", "StringEquals": "SETTLED",
                                               "Next": "Survey"}
    assert {c["StringEquals"]: c["Next"] for c in states["Route"]["Choices"]}["OBSERVE"] == "Observe"


def test_config_carries_what_the_judge_reads() -> None:
    state = definition(config())["States"]["Begin"]["Parameters"]["config"]
    assert (state["periodSeconds"], state["pollIntervalSeconds"]) == (60, 45)
    assert state["paths"][1] == {"name": "feed-read", "flag": "feed-adapter", "steps": [10, 100], "percent": 0,
                                 "shadow": False}


@pytest.mark.parametrize(("approval", "after_holds"), [(True, "AskApproval"), (False, "Held")])
def test_holds_rejudge_up_to_the_limit_then_ask_or_stop(approval: bool, after_holds: str) -> None:
    states = definition(config(approval=approval, max_holds=2))["States"]
    rule = states["HoldsLeft"]["Choices"][0]
    assert (rule["NumericLessThanEquals"], rule["Next"]) == (2, "Observe")
    assert states["HoldsLeft"]["Default"] == after_holds
    assert ("AskApproval" in states) is approval


def test_every_placeholder_is_used_and_substitution_keeps_json_valid() -> None:
    text = json.dumps(definition(config()), indent=2)
    for name in PLACEHOLDERS:
        assert "${" + name + "}" in text
    values = {name: f"arn:aws:x:us-east-1:123456789012:{name}" for name in PLACEHOLDERS}
    done = json.loads(substitute(text, values))
    assert done["States"]["Deploy"]["Parameters"]["ApplicationId"].endswith(":application_id")
    assert "${" not in json.dumps(done)


def test_substitute_refuses_a_missing_value_and_a_value_that_needs_escaping() -> None:
    text = json.dumps(definition(config()))
    with pytest.raises(PlaceholderError, match="no value for topic_arn"):
        substitute(text, {n: "x" for n in PLACEHOLDERS if n != "topic_arn"})
    with pytest.raises(PlaceholderError, match="escaping"):
        substitute(text, {n: 'a"b' for n in PLACEHOLDERS})
