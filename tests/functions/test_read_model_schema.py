"""The example's read model as JSON Schema (example/user-profile/read-model.schema.json)
and in Python (example/user-profile/user_profile/read_model.py) describe the same answers.

The generator checks a spec's comparison paths against the schema, and the operations'
preflight checks a live answer with it; the router checks a canary answer with
``validate_profile``. If the two drifted apart, a path the generator accepts could name
nothing the backends answer.
"""

from __future__ import annotations

import copy
import json

import pytest
from jsonschema import Draft202012Validator
from user_profile.mock import mock_profile
from user_profile.read_model import (
    ITEM_FIELDS,
    PLANS,
    PROFILE_FIELDS,
    MalformedResponse,
    validate_profile,
)

from tests.support.example import READ_MODEL

SCHEMA = json.loads(READ_MODEL.read_text())
VALIDATOR = Draft202012Validator(SCHEMA)
USERS = [f"user-{n:05d}" for n in range(400)]


def _schema_accepts(body) -> bool:
    return VALIDATOR.is_valid(body)


def _contract_accepts(body) -> bool:
    try:
        validate_profile(body)
    except MalformedResponse:
        return False
    return True


def test_the_schema_is_a_valid_json_schema():
    Draft202012Validator.check_schema(SCHEMA)


def test_the_schema_names_the_contracts_fields_and_plans():
    item = SCHEMA["$defs"]["item"]
    assert set(SCHEMA["properties"]) == set(SCHEMA["required"]) == set(PROFILE_FIELDS)
    assert set(item["properties"]) == set(item["required"]) == set(ITEM_FIELDS)
    assert SCHEMA["additionalProperties"] is False and item["additionalProperties"] is False
    assert tuple(SCHEMA["properties"]["plan"]["enum"]) == PLANS


def test_every_mock_answer_validates_against_the_schema():
    bodies = [mock_profile(user) for user in USERS]
    assert {len(b["items"]) for b in bodies} == set(range(6))  # empty and full item lists
    assert {b["plan"] for b in bodies} == set(PLANS)
    for body in bodies:
        assert list(VALIDATOR.iter_errors(body)) == [], body["userId"]
        assert validate_profile(body, body["userId"]) is body


def _with(change):
    body = copy.deepcopy(mock_profile("user-00000"))
    assert body["items"], "the case needs an item"
    change(body)
    return body


MUTATIONS = [
    ("extra-field", lambda b: b.update(phone="+1 555 0100")),
    ("missing-email", lambda b: b.pop("email")),
    ("email-not-text", lambda b: b.update(email=["a@example.com"])),
    ("user-id-number", lambda b: b.update(userId=7)),
    ("unknown-plan", lambda b: b.update(plan="enterprise")),
    ("timestamp-with-offset", lambda b: b.update(createdAt="2021-03-04T05:06:07+00:00")),
    ("timestamp-date-only", lambda b: b.update(createdAt="2021-03-04")),
    ("timestamp-trailing-newline", lambda b: b.update(createdAt="2021-03-04T05:06:07Z\n")),
    ("timestamp-non-ascii-digits", lambda b: b.update(createdAt="٢٠٢١-03-04T05:06:07Z")),
    ("items-not-a-list", lambda b: b.update(items={})),
    ("item-extra-field", lambda b: b["items"][0].update(etag="x")),
    ("item-missing-price", lambda b: b["items"][0].pop("price")),
    ("item-price-text", lambda b: b["items"][0].update(price="9.99")),
    ("item-quantity-bool", lambda b: b["items"][0].update(quantity=True)),
    ("item-quantity-fraction", lambda b: b["items"][0].update(quantity=1.5)),
    ("item-not-an-object", lambda b: b["items"].append("SKU-1")),
    ("profile-is-a-list", lambda b: b.clear()),
]


@pytest.mark.parametrize("change", [m[1] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS])
def test_the_schema_and_the_contract_refuse_the_same_answers(change):
    body = _with(change)
    assert (_schema_accepts(body), _contract_accepts(body)) == (False, False)


ACCEPTED = [
    ("integer-price", lambda b: b["items"][0].update(price=12)),
    ("no-items", lambda b: b.update(items=[])),
    ("empty-texts", lambda b: b.update(displayName="", email="")),
]


@pytest.mark.parametrize("change", [m[1] for m in ACCEPTED], ids=[m[0] for m in ACCEPTED])
def test_the_schema_and_the_contract_accept_the_same_answers(change):
    body = _with(change)
    assert (_schema_accepts(body), _contract_accepts(body)) == (True, True)
