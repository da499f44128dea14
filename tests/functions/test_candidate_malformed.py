"""A row that breaks the read model (a NaN price, a NULL quantity) is the data's fault:
the candidate answers a structured error, counts it as a canary read error and logs
what is wrong (fields, never values); nothing escapes the handler, so no traceback
reaches the router or the caller. Against PostgreSQL: test_candidate_postgres.py."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from candidate.db import MalformedRow, _shaped
from candidate.handler import MALFORMED_ROW, Candidate
from cutover_runtime.telemetry import Identity, Tracer
from user_profile.mock import mock_profile

from .conftest import emf_documents, events, metric_totals

USER = "user-11"


class Store:
    def __init__(self, body=None, error=None) -> None:
        self.body, self.error = body, error

    def profile(self, user_id):
        if self.error is not None:
            raise self.error
        return self.body


def candidate(store) -> Candidate:
    reporter = SimpleNamespace(identity=Identity("rel", "user-read", "Cutover"))
    return Candidate(store, reporter, Tracer("off", "hashed"))


def nan_price() -> dict:
    body = mock_profile(USER)
    return {**body, "items": [{"sku": "S-1", "name": "Mug", "price": float("nan"), "quantity": 1}]}


HTTP = {"version": "2.0", "requestContext": {}, "queryStringParameters": {"userId": USER}}


@pytest.mark.parametrize("store", [Store(nan_price()), Store(error=MalformedRow("row cannot be shaped: TypeError"))],
                         ids=["nan-price", "unshapeable-row"])
def test_a_malformed_row_is_a_structured_error_counted_as_a_canary_read_error(store, capsys):
    # GIVEN a store whose row for the user breaks the read model
    # WHEN the router's canary invoke and an HTTP caller read it
    direct = candidate(store).handle({"userId": USER})
    http = candidate(store).handle(HTTP)
    out = capsys.readouterr().out
    # THEN each gets a structured error answer, never a traceback
    assert direct == MALFORMED_ROW
    assert http["statusCode"] == 500 and json.loads(http["body"]) == MALFORMED_ROW
    assert "Traceback" not in json.dumps([direct, http])
    # ... each read is a canary read error, logged at ERROR without the user's id or values
    assert metric_totals(out) == {"CanaryReads": 2, "CanaryReadErrors": 2}
    lines = events(out, "CANARY-READ-MALFORMED")
    assert [line["level"] for line in lines] == ["ERROR", "ERROR"]
    assert USER not in out and "Mug" not in out and "NaN" not in out
    assert len(emf_documents(out)) == 2


def test_a_database_failure_still_raises(capsys):
    # a failure of the database is not the data's: Lambda's Errors and the router see it
    with pytest.raises(ConnectionError):
        candidate(Store(error=ConnectionError("down"))).handle({"userId": USER})
    assert metric_totals(capsys.readouterr().out) == {"CanaryReads": 1, "CanaryReadErrors": 1}


def test_a_row_that_cannot_be_shaped_names_no_value():
    row = (USER, "Ada", "a@example.com", "pro", None, [])
    with pytest.raises(MalformedRow) as raised:
        _shaped(row)
    assert str(raised.value) == "row cannot be shaped: AttributeError"
