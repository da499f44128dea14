"""The comparator's fast paths give the answers of its general rules: numbers keyed a list
at a time, objects keyed a field at a time, two numbers compared without ``_visit`` in a
list and in objects paired in key order."""

from __future__ import annotations

import pytest
from cutover_runtime import compare as module
from cutover_runtime.compare import CompareRules, ShadowComparator
from hypothesis import given
from hypothesis import strategies as st

NAN, INF = float("nan"), float("inf")
TOLERANCES = [0.0, 0.0001, 0.5]
numbers = st.one_of(st.integers(-10, 10), st.integers(), st.floats(), st.sampled_from(
    [NAN, INF, -INF, 0.0, -0.0, 1e305, 2**53, 10**400, 0.00004, 0.00007, -0.00007, 2.75, 2.25]))
scalars = st.one_of(numbers, st.booleans(), st.none(), st.sampled_from(
    ["a", "b", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00.5Z"]))


def _comparator(tolerance, **rules) -> ShadowComparator:
    return ShadowComparator(CompareRules(numeric_tolerance=tolerance,
                                         timestamp_tolerance_seconds=1.0, **rules),
                            clock=lambda: 0.0)


@given(st.lists(st.one_of(numbers, st.booleans()), min_size=9, max_size=40),
       st.sampled_from(TOLERANCES))
def test_numbers_keyed_a_list_at_a_time_are_keyed_as_one_by_one(values, tolerance):
    comparator = _comparator(tolerance)
    assert comparator._keys_of(values) == [comparator._plain_key(v) for v in values]


@given(st.lists(st.one_of(scalars, st.lists(st.sampled_from(["a", "b"]), max_size=9),
                         st.lists(scalars, max_size=3)), min_size=1, max_size=40),
       st.sampled_from(TOLERANCES), st.sampled_from([0, 1, 2, 32]))
def test_values_keyed_in_one_loop_are_keyed_as_one_by_one_at_any_key_depth(values, tolerance,
                                                                           levels):
    # short lists of strings (tags) are keyed in the loop, unless the key is already as
    # deep as keys go (then a list is keyed by its digest)
    comparator = _comparator(tolerance)
    comparator._key_levels = levels
    assert comparator._keys_of(values) == [comparator._plain_key(v) for v in values]


@pytest.mark.parametrize("tolerance", TOLERANCES)
def test_a_list_of_plain_numbers_takes_the_fast_path(tolerance):
    comparator = _comparator(tolerance)
    values = [3, 1.5, -2, 0.00004, 0.00007, -0.00007, 2.75, 2.25, 7] * 2  # x.5 rounds to even
    assert comparator._number_keys(values) == [comparator._plain_key(v) for v in values]
    assert comparator._number_keys([*values, NAN]) is None
    assert comparator._number_keys([*values, True]) is None


fields = st.dictionaries(st.sampled_from(["sku", "q", "etag", "tags", "n"]),
                         st.one_of(scalars, st.lists(scalars, max_size=10)), max_size=4)


@given(fields, st.lists(st.one_of(scalars, st.lists(scalars, max_size=10)), max_size=150),
       st.sampled_from(TOLERANCES), st.booleans())
def test_objects_keyed_a_field_at_a_time_are_keyed_as_one_by_one(shape, values, tolerance,
                                                                   drop_etag):
    # a run of objects with one field list (and a stray element among them at times)
    keys = list(shape)
    items = [{k: values[(n + i) % len(values)] if values else n for i, k in enumerate(keys)}
             for n in range(150)]
    if values and isinstance(values[0], str):
        items[70] = values[0]
    rules = {"unordered_lists": ("$.items",),
             "ignore_paths": ("$.items[*].etag",) if drop_etag else ()}
    comparator = _comparator(tolerance, **rules)
    ep = ("items", "*")
    assert comparator._element_keys(items, ep) == [comparator._match_key(i, ep) for i in items]


@given(scalars, scalars, st.sampled_from(TOLERANCES))
def test_two_scalars_differ_alike_in_an_object_a_list_and_objects_paired_in_key_order(
        a, b, tolerance):
    comparator = _comparator(tolerance, unordered_lists=("$.items",))
    kinds = [d["kind"] for d in comparator.compare({"x": a}, {"x": b})]
    assert [d["kind"] for d in comparator.compare({"l": [0, a]}, {"l": [0, b]})] == kinds
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "PAIRING_LIMIT", 0)  # every leftover paired in key order
        paired = comparator.compare({"items": [{"id": n, "m": "A", "x": a} for n in range(3)]},
                                    {"items": [{"id": n, "m": "B", "x": b} for n in range(3)]})
    assert paired.total == 3 * (1 + len(kinds))
    assert [d["kind"] for d in paired if d["path"].endswith(".x")] == kinds * 3
