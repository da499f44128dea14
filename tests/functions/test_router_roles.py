"""The router routes; the control's answer is its own module; each request's outcome is a
record; the settings name no release."""

from __future__ import annotations

import json

from router import outcome
from router.outcome import Outcome
from router.settings import RouterSettings
from user_profile.mock import control_answer

from .conftest import events, flag_values


def test_unset_flag_keys_read_no_flag_whatever_the_document_holds(router_env, extension, lambda_service,
                                                                 monkeypatch, capsys):
    # GIVEN a document that would send everyone to the canary under the example's flag names
    extension.document = flag_values(percent=100, shadow=True)
    monkeypatch.delenv("CUTOVER_CANARY_FLAG")
    monkeypatch.delenv("CUTOVER_SHADOW_FLAG")
    assert (RouterSettings.from_env().canary_flag, RouterSettings.from_env().shadow_flag) == ("", "")
    # WHEN a request comes in THEN the control answers, nothing is sent to the candidate
    assert router_env.lambda_handler({"userId": "user-7"}, None) == control_answer("user-7")
    assert lambda_service.calls == []
    [line] = events(capsys.readouterr().out, "REQUEST")
    assert (line["servedBy"], line["canary"], line["shadow"]) == ("control", 0, 0)


def test_the_control_answer_is_what_the_router_serves_and_can_be_replaced(router_env, extension):
    extension.document = flag_values(percent=0)
    router = router_env.router()
    assert router.control is control_answer
    router.control = lambda user_id: {"userId": user_id, "from": "another control"}
    assert router_env.lambda_handler({"userId": "user-7"}, None) == {"userId": "user-7", "from": "another control"}


def test_each_outcome_says_where_the_request_went_and_who_answered():
    cases = {
        "control": (outcome.control(), {"servedBy": "control", "canary": 0, "shadow": 0, "failed": 0, "fallback": 0}, "INFO"),
        "teed": (outcome.control(shadow=True), {"servedBy": "control", "canary": 0, "shadow": 1, "failed": 0, "fallback": 0}, "INFO"),
        "served": (outcome.CANARY_SERVED, {"servedBy": "candidate", "canary": 1, "shadow": 0, "failed": 0, "fallback": 0}, "INFO"),
        "fell back": (outcome.CANARY_FELL_BACK, {"servedBy": "control", "canary": 1, "shadow": 0, "failed": 1, "fallback": 1}, "INFO"),
        "failed": (outcome.CANARY_FAILED, {"servedBy": "candidate", "canary": 1, "shadow": 0, "failed": 1, "fallback": 0}, "ERROR"),
    }
    for name, (result, fields, level) in cases.items():
        assert (result.log_fields(), result.level) == (fields, level), name
    assert Outcome(routed="canary").canary and not outcome.control().canary
    assert json.dumps(outcome.CANARY_SERVED.log_fields())  # plain JSON values for the log line
