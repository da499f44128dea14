"""Pathological control/candidate pairs for the comparator, each
fitting one shadow event (at most ``MAX_EVENT_BYTES`` of JSON per document).

Deterministic: the same call gives the same documents. Used by bench/rows/ (comparator
on hostile shapes vs DeepDiff) and usable by the tests.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

MAX_EVENT_BYTES = 240 * 1024
NAN, INF = float("nan"), float("inf")
RULES = {"unordered_lists": ["$.items"], "numeric_tolerance": 0.0001,
         "ignore_paths": ["$.meta.requestId"]}

Pair = tuple[Any, Any]


def size(doc: Any) -> int:
    """len(json.dumps(doc)), counted without recursion (json.dumps recurses)."""
    total, stack = 0, [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            total += 2 + 2 * max(len(value) - 1, 0)
            total += sum(len(json.dumps(str(k))) + 2 for k in value)
            stack.extend(value.values())
        elif isinstance(value, list):
            total += 2 + 2 * max(len(value) - 1, 0)
            stack.extend(value)
        else:
            total += len(json.dumps(value))
    return total


def nested(depth: int, leaf: Any, mixed: bool = True) -> Any:
    """``{"k": [{"k": [...leaf]}]}`` (mixed) or ``[[[...leaf]]]``, built without recursion."""
    doc = leaf
    for i in range(depth):
        doc = [doc] if i % 2 or not mixed else {"k": doc}
    return doc


def deep_mixed() -> Pair:
    """Objects and lists 5,000 levels deep, differing at the leaf (RecursionError once)."""
    return ({"items": [nested(5_000, 1)], "deep": nested(5_000, "x")},
            {"items": [nested(5_000, 1)], "deep": nested(5_000, "y")})


def deep_lists() -> Pair:
    """``[[[...]]]`` as deep as fits one event."""
    return {"deep": nested(115_000, "x", mixed=False)}, {"deep": nested(115_000, "y", mixed=False)}


def nan_everywhere() -> Pair:
    """NaN and Infinity in an unordered list and at the top, documents otherwise equal."""
    items = [{"sku": f"s{i}", "price": (NAN, INF, -INF, 1.5)[i % 4]} for i in range(2_000)]
    shuffled = list(reversed(items))
    return {"p": NAN, "items": items}, {"p": NAN, "items": shuffled}


def unmatched_large_elements() -> Pair:
    """An unordered list of large elements of which none match: the pairing's worst case."""
    rng = random.Random(10)
    control = {"items": [{"sku": i, "blob": [rng.randint(0, 9) for _ in range(700)]}
                         for i in range(100)]}
    candidate = {"items": [{"sku": i + 1000, "blob": [rng.randint(0, 9) for _ in range(700)]}
                           for i in range(100)]}
    return control, candidate


def many_small_unmatched() -> Pair:
    """Thousands of small objects in an unordered list, every one changed a little."""
    control = {"items": [{"sku": f"k{i:05d}", "q": i} for i in range(7_500)]}
    candidate = {"items": [{"sku": f"k{i:05d}", "q": i + 1} for i in reversed(range(7_500))]}
    return control, candidate


def wide_object() -> Pair:
    """One object with 12,000 keys, a tenth of them different."""
    control = {f"key{i:05d}": i for i in range(12_000)}
    candidate = {f"key{i:05d}": i + (1 if i % 10 == 0 else 0) for i in range(12_000)}
    return control, candidate


def huge_numbers() -> Pair:
    """Integers past float range and 1e308 inside an unordered list."""
    values = [10**400, -(10**400), 1e308, 2**60, 2**60 + 1] * 250
    return {"items": values}, {"items": list(reversed(values))}


SHAPES: dict[str, Callable[[], Pair]] = {
    "deep-mixed-5000": deep_mixed,
    "deep-lists": deep_lists,
    "nan-infinity-unordered": nan_everywhere,
    "unmatched-large-elements": unmatched_large_elements,
    "many-small-unmatched": many_small_unmatched,
    "wide-object": wide_object,
    "huge-numbers-unordered": huge_numbers,
}


def shapes() -> dict[str, Pair]:
    """Every shape, checked to fit one event."""
    pairs = {name: make() for name, make in SHAPES.items()}
    for name, (control, candidate) in pairs.items():
        largest = max(size(control), size(candidate))
        if largest > MAX_EVENT_BYTES:
            raise ValueError(f"hostile shape {name} is {largest} bytes > {MAX_EVENT_BYTES}")
    return pairs
