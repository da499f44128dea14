from __future__ import annotations

import json

import pytest
from cutover_runtime.compare import (
    RECORDED_DIFFERENCES,
    REDACTED,
    CompareRules,
    RulesError,
    ShadowComparator,
    digest,
    parse_path,
)
from hypothesis import given
from hypothesis import strategies as st

RULES = CompareRules.from_json(json.dumps({
    "ignore_paths": ["$.meta.requestId", "$.items[*].etag"],
    "numeric_tolerance": 0.0001,
    "timestamp_tolerance_seconds": 1.0,
    "unordered_lists": ["$.items"],
    "redact_paths": ["$.email", "$.items[*].phone"],
}))


def _never_moves() -> float:
    """The comparator's clock here: its budget is wall time, and a loaded machine must not
    turn a comparison into "inconclusive" (the budget has its own tests, with fake clocks)."""
    return 0.0


def compare(a, b, rules=RULES):
    return ShadowComparator(rules, clock=_never_moves).compare(a, b)


def _unbounded(monkeypatch, a, b, rules=RULES):
    """``compare`` with a record built for every difference (no bound)."""
    from cutover_runtime import compare as module

    with monkeypatch.context() as patch:
        patch.setattr(module, "RECORDED_DIFFERENCES", 10**9)
        return compare(a, b, rules)


def test_paths_parse_to_segments_and_bad_paths_say_where():
    assert parse_path("$") == ()
    assert parse_path("$.items[*].etag") == ("items", "*", "etag")
    with pytest.raises(RulesError, match="path="):
        parse_path("items.etag")
    with pytest.raises(RulesError, match="at="):
        parse_path("$.items[3]")


def test_unknown_rule_keys_are_rejected_with_their_names():
    with pytest.raises(RulesError, match="ignore_path"):
        CompareRules.from_json('{"ignore_path": []}')


def test_equal_documents_have_no_differences():
    doc = {"a": 1, "b": [1, 2, {"c": None}], "d": "x"}
    assert compare(doc, json.loads(json.dumps(doc))) == []


def test_missing_extra_changed_and_type_are_reported_with_hashed_values():
    diffs = compare({"a": 1, "b": "x", "c": [1, 2], "d": True},
                    {"a": 2, "b": 3, "c": [1], "e": 1, "d": 1})
    by_path = {d["path"]: d for d in diffs}
    assert by_path["$.a"] == {"path": "$.a", "kind": "changed",
                              "control": digest(1)[:16], "candidate": digest(2)[:16]}
    assert by_path["$.b"]["kind"] == "type"
    assert by_path["$.c[1]"]["kind"] == "missing"
    assert by_path["$.e"]["kind"] == "extra"
    assert by_path["$.d"]["kind"] == "type"  # a boolean is not the number 1
    assert len(diffs) == 5


def test_ignored_paths_never_differ():
    assert compare({"meta": {"requestId": "a"}, "items": [{"sku": 1, "etag": "x"}]},
                   {"meta": {"requestId": "b"}, "items": [{"sku": 1, "etag": "y"}]}) == []
    assert compare({"meta": {"requestId": "a"}}, {"meta": {}}) == []


def test_numbers_within_tolerance_are_equal_and_int_equals_float():
    assert compare({"p": 1.0}, {"p": 1.00005}) == []
    assert compare({"p": 1}, {"p": 1.0}) == []
    assert compare({"p": 1.0}, {"p": 1.001})[0]["kind"] == "changed"


def test_timestamps_within_tolerance_are_equal_across_formats():
    assert compare({"t": "2024-01-01T00:00:00Z"}, {"t": "2024-01-01T00:00:00.900+00:00"}) == []
    assert compare({"t": "2024-01-01T00:00:00Z"}, {"t": "2024-01-01T01:00:00+01:00"}) == []
    assert compare({"t": "2024-01-01T00:00:00Z"}, {"t": "2024-01-01T00:00:02Z"})[0]["path"] == "$.t"


def test_unordered_lists_match_elements_in_any_order_even_with_ignored_fields():
    control = {"items": [{"sku": i, "etag": f"c{i}"} for i in range(50)]}
    candidate = {"items": [{"sku": i, "etag": f"d{i}"} for i in reversed(range(50))]}
    assert compare(control, candidate) == []
    assert compare({"list": [1, 2]}, {"list": [2, 1]}) != []  # not declared unordered


def test_unordered_lists_pair_near_matches_and_report_the_field_that_differs():
    control = {"items": [{"sku": "a", "price": 1.0}, {"sku": "b", "price": 2.0}]}
    candidate = {"items": [{"sku": "b", "price": 2.00001}, {"sku": "a", "price": 9.0}]}
    diffs = compare(control, candidate)
    assert [(d["path"], d["kind"]) for d in diffs] == [("$.items[0].price", "changed")]


def test_unordered_lists_report_missing_and_extra_elements():
    diffs = compare({"items": [{"sku": "a"}, {"sku": "b"}]}, {"items": [{"sku": "b"}]},
                    CompareRules(unordered_lists=("$.items",)))
    assert diffs == [{"path": "$.items[0]", "kind": "missing"}]
    diffs = compare({"items": [{"sku": "b"}]}, {"items": [{"sku": "c"}, {"sku": "b"}]},
                    CompareRules(unordered_lists=("$.items",)))
    assert diffs == [{"path": "$.items[0]", "kind": "extra"}]


def test_redacted_paths_carry_no_value_not_even_a_hash():
    diffs = compare({"email": "ada@example.com", "items": [{"sku": 1, "phone": "555-0100"}]},
                    {"email": "eve@example.com", "items": [{"sku": 1, "phone": "555-0199"}]})
    assert {d["path"] for d in diffs} == {"$.email", "$.items[0].phone"}
    for d in diffs:
        assert d["control"] == REDACTED and d["candidate"] == REDACTED


def test_redaction_covers_everything_under_a_redacted_object():
    diffs = compare({"email": {"local": "ada"}}, {"email": {"local": "eve"}})
    assert diffs[0]["control"] == REDACTED


def test_oversized_event_fields_and_digests_are_compared_against_the_candidate():
    comparator = ShadowComparator(RULES, clock=_never_moves)
    candidate = {"userId": "u", "plan": "pro", "items": [1, 2, 3], "new": 1}
    diffs = comparator.compare_fields({"$.userId": "u", "$.plan": "free"},
                                      {"$.items": digest([1, 2, 4])}, candidate)
    assert {(d["path"], d["kind"]) for d in diffs} == {
        ("$.plan", "changed"), ("$.items", "changed"), ("$.new", "extra")}
    assert comparator.compare_fields({"$.userId": "u"}, {"$.items": digest([1, 2, 3])},
                                     {"userId": "u", "items": [1, 2, 3]}) == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20)


@given(json_values)
def test_any_document_equals_itself(doc):
    assert compare(doc, json.loads(json.dumps(doc))) == []


@given(json_values, json_values)
def test_differences_never_contain_raw_values(a, b):
    for diff in compare({"x": a}, {"x": b}, CompareRules()):
        assert set(diff) <= {"path", "kind", "control", "candidate"}
        for side in ("control", "candidate"):
            if side in diff:
                assert len(diff[side]) == 16 and int(diff[side], 16) >= 0


def test_unordered_matching_respects_tolerance_across_grid_lines_and_bool_vs_number():
    rules = CompareRules(numeric_tolerance=0.0001, unordered_lists=("$.l",))
    # 0.00004 and 0.00013 fall in different 1e-4 grid cells yet differ by < tolerance
    assert compare({"l": [{"v": 0.00004}, {"v": 5}]}, {"l": [{"v": 5}, {"v": 0.00013}]},
                   rules) == []
    assert compare({"l": [True, 2]}, {"l": [2, 1]}, rules) == [
        {"path": "$.l[0]", "kind": "type", "control": digest(True)[:16],
         "candidate": digest(1)[:16]}]


def test_many_unordered_leftovers_are_paired_by_key_order_not_reported_wholesale(monkeypatch):
    control = {"items": [{"sku": i, "price": float(i)} for i in range(300)]}
    candidate = {"items": [{"sku": i, "price": float(i) + 0.5} for i in reversed(range(300))]}
    for diffs in (compare(control, candidate), _unbounded(monkeypatch, control, candidate)):
        assert diffs.total == 300
        assert {d["kind"] for d in diffs} == {"changed"}
        assert all(d["path"].endswith(".price") for d in diffs)


def test_redacted_paths_travel_as_salted_digests_and_compare_by_digest():
    import copy

    from cutover_runtime.compare import compile_paths, redact, salted_digest
    from cutover_runtime.shadow import build_shadow_event

    rules = CompareRules(redact_paths=("$.email", "$.items[*].name"), unordered_lists=("$.items",))
    paths = compile_paths(rules.redact_paths)
    body = {"userId": "u", "email": "grace@example.com",
            "items": [{"sku": "A", "name": "Lamp"}, {"sku": "B", "name": "Desk"}]}
    before = copy.deepcopy(body)
    event = json.loads(build_shadow_event({"userId": "u"}, body, 1.0, "h", 500,
                                          redact_paths=paths))
    assert body == before  # the router's answer is never modified
    salt = event["eventId"]
    sent = event["control"]["body"]
    assert sent["email"] == salted_digest("grace@example.com", salt)
    assert [i["name"] for i in sent["items"]] == [salted_digest("Lamp", salt),
                                                  salted_digest("Desk", salt)]
    assert sent["items"][0]["sku"] == "A" and sent["userId"] == "u"
    assert event["control"]["digest"] == digest(redact(body, paths, salt))
    # the same value under another event id gives another digest
    assert salted_digest("grace@example.com", "other") != sent["email"]
    comparator = ShadowComparator(rules, clock=_never_moves)
    same = comparator.redacted(copy.deepcopy(before), salt)
    assert comparator.compare(sent, same) == []
    moved = copy.deepcopy(before)
    moved["email"] = "grace@example.org"
    moved["items"].reverse()
    assert comparator.compare(sent, comparator.redacted(moved, salt)) == [
        {"path": "$.email", "kind": "changed", "control": "<redacted>", "candidate": "<redacted>"}]


def test_an_oversized_event_redacts_its_fields_and_field_digests_too():
    from cutover_runtime.compare import compile_paths, salted_digest
    from cutover_runtime.shadow import build_shadow_event

    body = {"userId": "u", "email": "grace@example.com", "items": [{"sku": str(i)} for i in range(20_000)]}
    paths = compile_paths(("$.email",))
    payload = build_shadow_event({"userId": "u"}, body, 1.0, "h", 500, limit=200 * 1024,
                                 redact_paths=paths)
    assert b"grace@example.com" not in payload
    event = json.loads(payload)
    assert event["control"]["body"] is None
    assert event["control"]["fields"]["$.email"] == salted_digest("grace@example.com", event["eventId"])


# -- hostile shapes -----------------------------------------------------------------------

NAN, INF = float("nan"), float("inf")


def test_nan_equals_nan_and_infinity_equals_itself():
    doc = {"p": NAN, "q": INF, "r": -INF, "items": [{"sku": 1, "price": NAN}]}
    assert compare(doc, json.loads(json.dumps(doc))) == []
    assert compare({"p": NAN}, {"p": 1.0})[0]["kind"] == "changed"
    assert compare({"p": INF}, {"p": -INF})[0]["kind"] == "changed"


@pytest.mark.parametrize("value", [NAN, INF, -INF, 10**400, -(10**400), 1e308])
def test_non_finite_and_huge_numbers_in_unordered_lists_never_raise(value):
    control = {"items": [{"sku": "a", "price": value}, {"sku": "b", "price": 1.0}]}
    candidate = {"items": [{"sku": "b", "price": 1.0}, {"sku": "a", "price": value}]}
    assert compare(control, candidate) == []
    other = {"items": [{"sku": "b", "price": 1.0}, {"sku": "a", "price": 2.0}]}
    assert [d["path"] for d in compare(control, other)] == ["$.items[0].price"]


def test_huge_and_infinite_numbers_do_not_match_by_snapping():
    # 1e305 * grid overflows to infinity: it must not be keyed like Infinity
    rules = CompareRules(numeric_tolerance=0.0001, unordered_lists=("$.l",))
    assert compare({"l": [1e305]}, {"l": [INF]}, rules)[0]["kind"] == "changed"
    assert compare({"l": [2**60]}, {"l": [2**60 + 1]}, rules)[0]["kind"] == "changed"


def _nested(depth: int, leaf, mixed: bool = True) -> object:
    doc = leaf
    for i in range(depth):
        doc = [doc] if i % 2 or not mixed else {"k": doc}
    return doc


@pytest.mark.parametrize("depth,mixed", [
    (5_000, True),  # RecursionError at ~1,000 before
    pytest.param(120_000, False, marks=pytest.mark.slow),  # [[[...]]]: 240 KB of JSON
])
def test_any_depth_that_fits_one_event_compares_without_recursion(depth, mixed):
    control = {"items": [_nested(depth, 1, mixed)], "deep": _nested(depth, "x", mixed)}
    candidate = {"items": [_nested(depth, 1, mixed)], "deep": _nested(depth, "y", mixed)}
    # A clock that never moves: the budget (wall time) is not what this test is about,
    # and a loaded machine must not turn a full comparison into "inconclusive".
    comparator = ShadowComparator(RULES, budget_ms=250.0, clock=_never_moves)
    diffs = comparator.compare(control, candidate)
    assert len(diffs) == 1 and diffs[0]["kind"] == "changed"
    assert diffs[0]["path"].count("[0]") == (depth // 2 if mixed else depth)
    assert len(digest(control)) == 64  # the canonical JSON of a deep document


def test_deep_and_shallow_canonical_json_are_the_same_text():
    from cutover_runtime.compare import _canonical_iterative, canonical_json

    doc = {"b": [1, 2.5, None, True, "é\u2028", {"z": [], "a": {}}], "a": NAN, "c": -INF,
           "d": 10**30, "e": "\ud800"}
    assert _canonical_iterative(doc) == canonical_json(doc)


@given(json_values)
def test_the_iterative_encoder_matches_the_c_encoder(doc):
    from cutover_runtime.compare import _canonical_iterative, canonical_json

    assert _canonical_iterative(doc) == canonical_json(doc)


def test_a_comparison_past_its_budget_is_inconclusive_not_a_difference():
    from cutover_runtime.compare import CompareBudgetExceeded

    class Clock:  # one millisecond per look at the clock
        now = 0.0

        def __call__(self):
            self.now += 0.001
            return self.now

    # GIVEN unordered lists of large elements that do not match (the slow case) ...
    control = {"items": [{"sku": i, "blob": list(range(200))} for i in range(30)]}
    candidate = {"items": [{"sku": i + 100, "blob": list(range(1, 201))} for i in range(30)]}
    # ... and a comparator whose clock says 1 ms passes per look, with a 20 ms budget
    comparator = ShadowComparator(RULES, budget_ms=20, clock=Clock())
    # THEN the comparison gives up instead of answering
    with pytest.raises(CompareBudgetExceeded, match="budgetMs=20"):
        comparator.compare(control, candidate)
    # and without a budget the same comparison answers
    assert ShadowComparator(RULES, budget_ms=float("inf")).compare(control, candidate)


def test_pairing_trials_stop_once_they_cannot_beat_the_best_pair():
    # the closest element is found even when the others are far off
    control = {"items": [{"sku": "a", "v": list(range(50))}]}
    far = [{"sku": f"x{i}", "v": list(range(100, 150))} for i in range(5)]
    near = {"sku": "a", "v": list(range(49)) + [999]}
    diffs = compare(control, {"items": [*far, near]})
    assert [d["path"] for d in diffs if d["kind"] == "changed"] == ["$.items[0].v[49]"]
    assert sorted(d["path"] for d in diffs if d["kind"] == "extra") == [
        f"$.items[{i}]" for i in range(5)]


# -- the hostile shapes of the benchmark (tests/support/hostile.py): their answers --------

def _hostile(name, monkeypatch=None):
    """The shape's differences; with ``monkeypatch``, a record for every one of them."""
    from tests.support import hostile

    control, candidate = hostile.SHAPES[name]()
    rules = CompareRules.from_json(json.dumps(hostile.RULES))
    if monkeypatch is not None:
        return _unbounded(monkeypatch, control, candidate, rules)
    return compare(control, candidate, rules)


def _pattern(path: str) -> str:
    import re

    return re.sub(r"\[\d+\]", "[n]", path)


@pytest.mark.parametrize("name", ["nan-infinity-unordered", "huge-numbers-unordered"])
def test_hostile_shapes_that_are_equal_under_the_rules_have_no_difference(name):
    assert _hostile(name) == []


@pytest.mark.parametrize("name,depth,pattern", [
    ("deep-mixed-5000", 5_000, "$.deep" + "[n].k" * 2_500),
    ("deep-lists", 115_000, "$.deep" + "[n]" * 115_000),
])
def test_hostile_deep_shapes_report_their_one_leaf(name, depth, pattern):
    from cutover_runtime.compare import digest

    [diff] = _hostile(name)
    assert _pattern(diff["path"]) == pattern and diff["path"].count("[0]") == (
        depth // 2 if name == "deep-mixed-5000" else depth)
    assert diff == {"path": diff["path"], "kind": "changed",
                    "control": digest("x")[:16], "candidate": digest("y")[:16]}


def test_hostile_unmatched_large_elements_are_paired_and_walked(monkeypatch):
    diffs = _hostile("unmatched-large-elements")
    assert diffs.total == 63_053 and len(diffs) == RECORDED_DIFFERENCES
    assert [d["path"] for d in diffs[:2]] == ["$.items[15].sku", "$.items[15].blob[1]"]
    every = _hostile("unmatched-large-elements", monkeypatch)  # every record built
    assert len(every) == 63_053 and {d["kind"] for d in every} == {"changed"}
    shapes = [_pattern(d["path"]) for d in every]
    assert shapes.count("$.items[n].sku") == 100 and shapes.count("$.items[n].blob[n]") == 62_953
    assert diffs == every[:RECORDED_DIFFERENCES]  # the records kept are the first ones


def test_hostile_many_small_unmatched_report_each_changed_field():
    diffs = _hostile("many-small-unmatched")
    assert diffs.total == 7_500
    assert [d["path"] for d in diffs] == [f"$.items[{i}].q" for i in range(RECORDED_DIFFERENCES)]
    assert diffs[0]["control"] == digest(0)[:16] and diffs[0]["candidate"] == digest(1)[:16]
    assert diffs[-1]["control"] == digest(99)[:16] and diffs[-1]["candidate"] == digest(100)[:16]


def test_hostile_wide_object_reports_every_tenth_key():
    diffs = _hostile("wide-object")
    assert diffs.total == 1_200
    assert [d["path"] for d in diffs] == [f"$.key{i:05d}" for i in range(0, 1_000, 10)]


def test_scalar_digests_kept_for_a_comparison_never_mix_types_or_signs():
    # 1, 1.0, True and "1", 0.0 and -0.0: each difference names its own value's digest
    pairs = [(1, 2), (1.0, 2.5), (True, False), ("1", "2"), (0.0, -0.5), (-0.0, 0.5), (None, 1)]
    control = {f"k{i}": a for i, (a, _) in enumerate(pairs)}
    candidate = {f"k{i}": b for i, (_, b) in enumerate(pairs)}
    diffs = compare(control, candidate, CompareRules())
    assert [(d["control"], d["candidate"]) for d in diffs] == [
        (digest(a)[:16], digest(b)[:16]) for a, b in pairs]


def test_unordered_duplicates_match_as_a_multiset():
    rules = CompareRules(unordered_lists=("$.l",))
    assert compare({"l": [1, 1, 2]}, {"l": [2, 1, 1]}, rules) == []
    assert compare({"l": [1, 1, 2]}, {"l": [2, 2, 1]}, rules) == [
        {"path": "$.l[1]", "kind": "changed", "control": digest(1)[:16], "candidate": digest(2)[:16]}]
    assert compare({"l": [1, 1]}, {"l": [1]}, rules) == [{"path": "$.l[1]", "kind": "missing"}]
    assert compare({"l": [{"a": 1}]}, {"l": [{"a": 1}, {"a": 1}]}, rules) == [
        {"path": "$.l[0]", "kind": "extra"}]  # the last of the equal elements is matched first


def test_single_child_chains_keep_their_rules_and_their_paths():
    # a chain stops where a rule applies: the ignored and redacted leaves keep their rules
    rules = CompareRules(ignore_paths=("$.a.b",), redact_paths=("$.r[*].s",))
    assert compare({"a": {"b": [[1]]}}, {"a": {"b": [[2]]}}, rules) == []
    assert compare({"r": [{"s": [["x"]]}]}, {"r": [{"s": [["y"]]}]}, rules) == [
        {"path": "$.r[0].s[0][0]", "kind": "changed", "control": REDACTED, "candidate": REDACTED}]
    # and a chain that ends in different keys reports them at their place
    assert compare({"x": [{"k": [{"a": 1}]}]}, {"x": [{"k": [{"b": 1}]}]}, CompareRules()) == [
        {"path": "$.x[0].k[0].a", "kind": "missing"}, {"path": "$.x[0].k[0].b", "kind": "extra"}]


@pytest.mark.parametrize("x,y", [
    ({"sku": 1, "price": 1.0}, {"sku": 1, "price": 1.00001}),  # within tolerance
    ({"sku": 1, "price": 1}, {"sku": 1, "price": 1.0}),  # 1 equals 1.0, keyed apart below
    ({"sku": 1, "at": "2024-01-02T03:04:05Z"}, {"sku": 1, "at": "2024-01-02T03:04:05.5Z"}),
    ({"sku": 1, "etag": "a"}, {"sku": 1, "etag": "b"}),  # ignored
    ({"sku": 1, "price": NAN}, {"sku": 1, "price": NAN}),
    ({"sku": 1, "price": 1.0, "phone": "1"}, {"sku": 2, "price": 3.0, "phone": "2"}),
    (True, 1), ([1, [2]], [1, [3]]), ("a", None),
])
def test_one_element_each_is_walked_as_its_closest_pair(x, y):
    # alone, the two elements are walked as a pair; beside an element they share, the
    # same two are what is left to pair after matching: the same differences either way
    same = {"sku": "shared"}
    assert compare({"items": [x]}, {"items": [y]}) == compare({"items": [x, same]}, {"items": [y, same]})


def test_pairing_trials_stop_after_their_work_bound_and_pair_the_rest_in_key_order(monkeypatch):
    from cutover_runtime import compare as module

    rules = CompareRules(unordered_lists=("$.items",))
    control = {"items": [{"id": "a", "v": [1, 2, 3, 4]}, {"id": "b", "v": [5, 6, 7, 8]}]}
    candidate = {"items": [{"id": "c", "v": [5, 6, 7, 8]}, {"id": "d", "v": [1, 2, 3, 4]}]}
    # within the bound each element is paired with its closest (only the ids differ) ...
    assert [d["path"] for d in compare(control, candidate, rules)] == ["$.items[0].id", "$.items[1].id"]
    # ... past it (here from the start) the leftovers are paired in key order: a-c, b-d
    monkeypatch.setattr(module, "PAIRING_WORK", -1)
    assert len(compare(control, candidate, rules)) == 10


def test_large_unmatched_elements_within_the_pairing_limit_still_answer(monkeypatch):
    # 32 x 32 leftovers of 700 numbers each: 1,024 trials, bounded by PAIRING_WORK
    import random

    rng = random.Random(10)
    control = {"items": [{"sku": i, "blob": [rng.randint(0, 9) for _ in range(700)]} for i in range(32)]}
    candidate = {"items": [{"sku": i + 1000, "blob": [rng.randint(0, 9) for _ in range(700)]}
                           for i in range(32)]}
    rules = CompareRules(unordered_lists=("$.items",))
    assert compare(control, candidate, rules).total == _unbounded(monkeypatch, control, candidate,
                                                                  rules).total
    diffs = _unbounded(monkeypatch, control, candidate, rules)  # every pair's records
    assert {_pattern(d["path"]) for d in diffs} == {"$.items[n].sku", "$.items[n].blob[n]"}
    assert len({_pattern(d["path"]) for d in diffs if d["path"].endswith(".sku")}) == 1
    assert len([d for d in diffs if d["path"].endswith(".sku")]) == 32


def test_an_unordered_list_of_one_element_each_still_looks_at_the_clock():
    from cutover_runtime.compare import CompareBudgetExceeded

    class Clock:  # a second per look: the first look inside the walk is past the budget
        now = 0.0

        def __call__(self):
            self.now += 1.0
            return self.now

    comparator = ShadowComparator(RULES, clock=Clock())
    with pytest.raises(CompareBudgetExceeded):
        comparator.compare({"items": [{"sku": 1}]}, {"items": [{"sku": 2}]})
