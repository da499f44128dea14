"""The comparator builds difference records for the first ``RECORDED_DIFFERENCES`` only and
counts the rest (contracts.md §4): the records kept are the first ones of the full
answer, in document order, and ``total`` is exactly how many differences there are."""

from __future__ import annotations

import json

import pytest
from candidate.shadow_report import MAX_LOGGED_DIFFS, ShadowReporter
from cutover_runtime import compare as module
from cutover_runtime.compare import CompareRules, Differences, ShadowComparator, digest
from cutover_runtime.telemetry import Identity
from hypothesis import given
from hypothesis import strategies as st

from .conftest import events, metric_totals

RULES = CompareRules(unordered_lists=("$.items",), ignore_paths=("$.items[*].etag",),
                     redact_paths=("$.r",), numeric_tolerance=0.01)


def _never_moves() -> float:
    return 0.0


def _compare(a, b, bound, rules=RULES):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "RECORDED_DIFFERENCES", bound)
        return ShadowComparator(rules, clock=_never_moves).compare(a, b)


def _assert_prefix(a, b, bound, rules=RULES):
    """Bounded: the unbounded answer's first ``bound`` records and its exact count."""
    every = _compare(a, b, 10**9, rules)
    kept = _compare(a, b, bound, rules)
    assert kept.total == every.total == len(every)
    assert kept == every[:bound]
    assert bool(kept) == bool(every)  # the verdict: mismatch or match


def test_records_past_the_bound_are_counted_even_through_pairing_trials():
    # GIVEN 150 changed fields, a redacted one, then an unordered list whose leftovers are
    # paired by trials (closest element), one of them left over (missing)
    control = {"a": {f"k{i:03d}": i for i in range(150)}, "r": "x",
               "items": [{"sku": "s", "v": [1, 2, 3]}, {"sku": "t", "v": [4, 5]}, {"sku": "m"},
                         {"sku": "z", "v": [7] * 9}]}
    candidate = {"a": {f"k{i:03d}": -i - 1 for i in range(150)}, "r": "y",
                 "items": [{"sku": "t", "v": [4, 6]}, {"sku": "s", "v": [1, 2, 9]}, {"sku": "e"}]}
    every = _compare(control, candidate, 10**9)
    assert [(d["path"], d["kind"]) for d in every[150:]] == [
        ("$.r", "changed"), ("$.items[2].sku", "changed"), ("$.items[0].v[2]", "changed"),
        ("$.items[1].v[1]", "changed"), ("$.items[3]", "missing")]
    # THEN at any bound the records are the first ones and the count is the same
    for bound in (1, 20, 100, 149, 150, 151, 153, 154, 155, 156):
        _assert_prefix(control, candidate, bound)
    kept = ShadowComparator(RULES, clock=_never_moves).compare(control, candidate)
    assert len(kept) == module.RECORDED_DIFFERENCES and kept.total == 155


def test_a_comparator_builds_records_again_for_its_next_comparison():
    comparator = ShadowComparator(CompareRules(), clock=_never_moves)
    many = comparator.compare({"k": list(range(500))}, {"k": list(range(1, 501))})
    assert many.total == 500 and len(many) == module.RECORDED_DIFFERENCES
    assert comparator.compare({"a": 1}, {"a": 2}) == [
        {"path": "$.a", "kind": "changed", "control": digest(1)[:16], "candidate": digest(2)[:16]}]


def test_a_comparison_that_ran_out_of_budget_past_the_bound_leaves_nothing_behind():
    class Clock:  # past the budget once the records are built and more are counted
        now = 0.0

        def __call__(self):
            self.now += 0.001
            return self.now

    comparator = ShadowComparator(CompareRules(), budget_ms=5, clock=Clock())
    with pytest.raises(module.CompareBudgetExceeded):
        comparator.compare([list(range(50))] * 2_000, [list(range(1, 51))] * 2_000)
    comparator.budget_ms = float("inf")
    assert comparator.compare({"a": 1}, {"a": 2})[0]["path"] == "$.a"


def test_oversized_event_fields_are_bounded_the_same_way():
    comparator = ShadowComparator(CompareRules(), clock=_never_moves)
    fields = {"$.a": list(range(300)), "$.b": 1}
    candidate = {"a": list(range(1, 301)), "b": 2, "c": 3}
    diffs = comparator.compare_fields(fields, {"$.d": digest(5)}, candidate)
    assert diffs.total == 303 and len(diffs) == module.RECORDED_DIFFERENCES
    assert [d["path"] for d in diffs[:2]] == ["$.a[0]", "$.a[1]"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["a", "b", "x"]),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.sampled_from(["sku", "v", "etag", "k"]), children, max_size=4),
    max_leaves=30)


@given(st.lists(json_values, max_size=8), st.lists(json_values, max_size=8), json_values,
       json_values, st.integers(1, 6))
def test_any_bound_keeps_the_first_records_and_the_exact_count(items_a, items_b, x, y, bound):
    _assert_prefix({"items": items_a, "x": x, "r": x}, {"items": items_b, "x": y, "r": y}, bound)


def test_every_consumer_reads_no_more_records_than_the_comparator_builds():
    # the candidate logs the first MAX_LOGGED_DIFFS; the rehearsal and the Insights
    # query read the logged ones; the metrics and diffCount need only the total
    assert MAX_LOGGED_DIFFS <= module.RECORDED_DIFFERENCES


def test_the_candidate_reports_the_exact_count_and_logs_the_first_records(capsys):
    control = {"k": list(range(1_000))}
    candidate = {"k": list(range(1, 1_001))}
    reporter = ShadowReporter(ShadowComparator(CompareRules(), clock=_never_moves),
                              Identity("rel", "user-read", "Cutover"))
    event = {"eventId": "e-1", "userHash": "h", "request": {"userId": "u"},
             "control": {"digest": "", "body": control, "durationMs": 1.0}}
    assert reporter.report(event, lambda _user: candidate) == {"status": "diff", "diffCount": 1_000}
    out = capsys.readouterr().out
    [line] = events(out, "SHADOW-DIFF")
    assert line["match"] == 0 and line["diffCount"] == 1_000
    assert [d["path"] for d in line["diffs"]] == [f"$.k[{i}]" for i in range(MAX_LOGGED_DIFFS)]
    assert metric_totals(out)["ShadowMismatches"] == 1
    same = {**event, "eventId": "e-2", "control": {"digest": digest(control), "body": control}}
    assert reporter.report(same, lambda _user: json.loads(json.dumps(control))) == {
        "status": "ok", "diffCount": 0}


def test_differences_are_a_list_of_records_with_their_total():
    assert Differences() == [] and Differences().total == 0
    assert Differences([{"path": "$", "kind": "type"}], 7).total == 7
