"""Structural JSON comparison driven by the spec's rules (contracts.md §4).

``ShadowComparator(rules).compare(control, candidate)`` returns the differences
``{"path", "kind", "control", "candidate"}`` where values are a sha256 prefix of their
canonical JSON, or ``"<redacted>"`` under a redacted path: a difference never carries a
raw value. Records are built for the first ``RECORDED_DIFFERENCES`` only; the rest are
counted, so ``Differences.total`` is always exact (and the verdict with it).

Rules are compiled once into tuples of path segments (``"*"`` for any index), so the
walk costs one tuple concatenation and a few set look-ups per node. The walk is
iterative (an explicit stack of container frames), so no depth of nesting raises
``RecursionError``; equal scalars are skipped without a call. NaN equals NaN, and
NaN or Infinity never make the walk raise. A comparison has a time budget
(``budget_ms``): past it, ``CompareBudgetExceeded`` is raised and the caller reports
the comparison as inconclusive, not as a difference.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from itertools import repeat
from operator import itemgetter, mul
from typing import Any

REDACTED = "<redacted>"
DIGEST_CHARS = 16
PAIRING_LIMIT = 1024  # leftover pairs tried when matching unordered elements under tolerance
PAIRING_WORK = 50_000  # differences the trials of one list may count; past it, key order
COMPARE_BUDGET_MS = 250.0  # per comparison (one shadow event)
# Difference records built per comparison; past them differences are only counted. Every
# consumer reads fewer: the candidate logs the first 20 (MAX_LOGGED_DIFFS), which the
# rehearsal and the Insights query read; the metrics and diffCount need only the total.
RECORDED_DIFFERENCES = 100
_CHECK_EVERY = 64  # container frames between two looks at the clock

_NUMBERS = (int, float)
_SEGMENT = re.compile(r"\.([^.\[\]]+)|\[\*\]")
_EXACT = 2.0 ** 52  # snapped numbers beyond this are keyed by their exact value
_END = object()
KEY_DEPTH = 32  # levels of an unordered element's match key; deeper parts by digest
_COUNTED = {"path": "", "kind": "counted"}  # a difference found by a pairing trial
_NAN_KEY = ("n", "nan")
_KEY_CHUNK = 64  # unordered elements keyed between two looks at the clock
_COLUMNS_FROM = 32  # objects keyed a field at a time from this many (fewer: one by one)
_DICT_ONLY = {dict}
_second = itemgetter(1)  # a leftover's index
_NUMBER_TYPES = {int, float}


class Differences(list):
    """The first ``RECORDED_DIFFERENCES`` differences in document order (a list of
    records); ``total`` is how many there are in all, past the records too."""

    __slots__ = ("total",)

    def __init__(self, records=(), total: int | None = None) -> None:
        super().__init__(records)
        self.total = len(self) if total is None else total


def _differences(out: list) -> Differences:
    """What a comparison's ``out`` (records, then a count entry per difference past them)
    answers."""
    return Differences(out[:RECORDED_DIFFERENCES], len(out))


class CompareBudgetExceeded(Exception):
    """The comparison took longer than its budget: its outcome is unknown."""


class RulesError(ValueError):
    """Comparison rules that cannot be used."""


def parse_path(text: str) -> tuple[str, ...]:
    """``$.items[*].etag`` -> ``("items", "*", "etag")``."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise RulesError(f"path must start with '$': path={text!r}")
    segments: list[str] = []
    pos = 1
    while pos < len(text):
        match = _SEGMENT.match(text, pos)
        if match is None:
            raise RulesError(f"path segment not understood: path={text!r} at={pos}")
        segments.append(match.group(1) if match.group(1) is not None else "*")
        pos = match.end()
    return tuple(segments)


class _Text(str):
    """A path segment standing for a run of levels, already written (``[0][0].k``)."""

    __slots__ = ()


def _segment_text(segment: Any) -> str:
    if type(segment) is int:
        return f"[{segment}]"
    return segment if type(segment) is _Text else f".{segment}"


def _path_text(path: Any) -> str:
    """A cons-cell path ``(parent, segment)`` (None: the root) as ``$.a[0].b``."""
    parts = []
    while path is not None:
        path, segment = path
        parts.append(_segment_text(segment))
    parts.append("$")
    parts.reverse()
    return "".join(parts)


def format_path(segments: tuple) -> str:
    parts = ["$"]
    for seg in segments:
        parts.append(f"[{seg}]" if type(seg) is int else f".{seg}")
    return "".join(parts)


_c_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                default=str).encode
_encode_str = json.encoder.encode_basestring  # what the encoder uses with ensure_ascii=False


def canonical_json(value: Any) -> str:
    """Keys sorted, separators ``,`` ``:``, UTF-8 text; the same text at any depth."""
    try:
        return _c_canonical(value)
    except RecursionError:  # the C encoder recurses: deeper documents are encoded here
        return _canonical_iterative(value)


def digest(value: Any) -> str:
    try:
        text = _c_canonical(value)
    except RecursionError:
        text = _canonical_iterative(value)
    try:
        data = text.encode()
    except UnicodeEncodeError:  # a lone surrogate (JSON can carry one as an escape)
        data = text.encode("utf-8", "surrogatepass")
    return sha256(data).hexdigest()


def _scalar_json(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _encode_str(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value:  # noqa: PLR0124 - NaN, without float() (a huge int overflows)
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    return _encode_str(str(value))  # default=str


def _key_json(key: Any) -> str:
    if isinstance(key, str):
        return _encode_str(key)
    if key is None or isinstance(key, (bool, int, float)):
        return _encode_str(_scalar_json(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _canonical_iterative(root: Any) -> str:
    """``canonical_json`` without recursion: one frame per open container."""
    parts: list[str] = []
    add = parts.append
    frames: list[list] = []  # [iterator, closing text, first entry?, id]
    on_path: set[int] = set()
    value = root
    while True:
        if isinstance(value, (list, tuple, dict)):
            if id(value) in on_path:
                raise ValueError("Circular reference detected")
            on_path.add(id(value))
            is_dict = isinstance(value, dict)
            add("{" if is_dict else "[")
            frames.append([iter(sorted(value.items()) if is_dict else value),
                           "}" if is_dict else "]", True, id(value)])
        else:
            add(_scalar_json(value))
        while frames:
            frame = frames[-1]
            entry = next(frame[0], _END)
            if entry is _END:
                frames.pop()
                on_path.discard(frame[3])
                add(frame[1])
                continue
            if not frame[2]:
                add(",")
            frame[2] = False
            if frame[1] == "}":
                add(_key_json(entry[0]))
                add(":")
                value = entry[1]
            else:
                value = entry
            break
        else:
            return "".join(parts)


def _short(value: Any) -> str:
    return digest(value)[:DIGEST_CHARS]


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _short_text(text: str) -> str:
    """``_short`` of a scalar from its canonical JSON text."""
    try:
        data = text.encode()
    except UnicodeEncodeError:  # a lone surrogate
        data = text.encode("utf-8", "surrogatepass")
    return sha256(data).digest()[:DIGEST_CHARS // 2].hex()  # hexdigest()[:16], cheaper


def salted_digest(value: Any, salt: str) -> str:
    """What travels instead of a redacted value (contracts.md §7)."""
    return "sha256:" + sha256(f"{salt}:{canonical_json(value)}".encode()).hexdigest()


def compile_paths(paths: tuple[str, ...] | list[str]) -> frozenset[tuple[str, ...]]:
    return frozenset(parse_path(p) for p in paths)


def redact(body: Any, paths: frozenset[tuple[str, ...]], salt: str) -> Any:
    """``body`` with the value at each redacted path replaced by its salted digest.

    Copy on write: containers off the redacted paths are shared, ``body`` is never
    modified (the router's answer may still be in use)."""
    if not paths:
        return body
    if () in paths:
        return salted_digest(body, salt)
    if type(body) is dict:
        copy = None
        for key, value in body.items():
            below = frozenset(p[1:] for p in paths if p[0] == key)
            if below:
                copy = dict(body) if copy is None else copy
                copy[key] = redact(value, below, salt)
        return body if copy is None else copy
    if type(body) is list:
        below = frozenset(p[1:] for p in paths if p[0] == "*")
        return [redact(item, below, salt) for item in body] if below else body
    return body


def _json_kind(value: Any) -> str:
    t = type(value)
    if t is bool:
        return "boolean"
    if t is int or t is float:
        return "number"
    if t is str:
        return "string"
    if value is None:
        return "null"
    if t is dict:
        return "object"
    if t is list:
        return "array"
    return t.__name__


def _parse_timestamp(text: str) -> datetime | None:
    if len(text) < 10 or text[4] != "-" or text[7] != "-":
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _shared_fields(items: list) -> tuple | None:
    """The field list every element of ``items`` has, in one order, when all are objects."""
    if set(map(type, items)) != _DICT_ONLY:
        return None
    fields = tuple(items[0])
    return fields if all(map(fields.__eq__, map(tuple, items))) else None


def _sort_leftovers(items: list) -> None:
    """Order by match key so similar elements line up; repr when types do not compare."""
    try:
        items.sort()
    except TypeError:
        items.sort(key=lambda item: (repr(item[0]), item[1]))


def _match(keys_a: list, keys_b: list) -> tuple[list, list]:
    """Match elements of equal keys, as multisets: the ``(key, index)`` left on each side."""
    index = dict(zip(keys_b, range(len(keys_b))))
    left_a = []
    if len(index) == len(keys_b):  # no two elements of b alike (the usual case)
        for i, k in enumerate(keys_a):
            if index.pop(k, None) is None:
                left_a.append((k, i))
        return left_a, list(index.items())
    slots: dict[Any, list[int]] = {}
    for j, k in enumerate(keys_b):
        slots.setdefault(k, []).append(j)
    for i, k in enumerate(keys_a):
        slot = slots.get(k)
        if slot:
            slot.pop()
        else:
            left_a.append((k, i))
    return left_a, [(k, j) for k, slot in slots.items() for j in slot]


@dataclass(frozen=True)
class CompareRules:
    ignore_paths: tuple[str, ...] = ()
    numeric_tolerance: float = 0.0
    timestamp_tolerance_seconds: float = 0.0
    unordered_lists: tuple[str, ...] = ()
    redact_paths: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, text: str | None) -> CompareRules:
        if not text:
            return cls()
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise RulesError(f"compare rules are not JSON: error={exc}") from None
        if not isinstance(raw, dict):
            raise RulesError(f"compare rules must be an object: type={type(raw).__name__}")
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise RulesError(f"unknown compare rule keys: keys={sorted(unknown)}")
        return cls(
            ignore_paths=tuple(raw.get("ignore_paths", ())),
            numeric_tolerance=float(raw.get("numeric_tolerance", 0.0)),
            timestamp_tolerance_seconds=float(raw.get("timestamp_tolerance_seconds", 0.0)),
            unordered_lists=tuple(raw.get("unordered_lists", ())),
            redact_paths=tuple(raw.get("redact_paths", ())),
        )


@dataclass
class ShadowComparator:
    """Not thread-safe: one comparison at a time per instance (one per execution environment)."""

    rules: CompareRules = field(default_factory=CompareRules)
    budget_ms: float = COMPARE_BUDGET_MS
    clock: Callable[[], float] = time.perf_counter

    def __post_init__(self) -> None:
        self._ignore = frozenset(parse_path(p) for p in self.rules.ignore_paths)
        self._unordered = frozenset(parse_path(p) for p in self.rules.unordered_lists)
        self._redact = frozenset(parse_path(p) for p in self.rules.redact_paths)
        self._ignore_prefixes = frozenset(p[:i] for p in self._ignore for i in range(len(p)))
        # patterns under which some rule may still apply; any other subtree is walked with
        # the pattern None (no rule below it), so deep nesting costs no growing tuples
        self._rule_prefixes = frozenset(
            p[:i] for p in self._ignore | self._unordered | self._redact for i in range(len(p) + 1))
        # for each prefix of an ignored path: child keys to drop, child keys to descend into
        self._key_spec: dict[tuple, tuple[frozenset, frozenset]] = {
            prefix: (frozenset(p[-1] for p in self._ignore if p[:-1] == prefix),
                     frozenset(p[len(prefix)] for p in self._ignore_prefixes
                               if len(p) > len(prefix) and p[:len(prefix)] == prefix))
            for prefix in self._ignore_prefixes}
        self._num_tol = self.rules.numeric_tolerance
        self._grid = 1.0 / self._num_tol if self._num_tol > 0 else 0.0
        self._ts_tol = self.rules.timestamp_tolerance_seconds
        self._deadline = float("inf")
        self._key_levels = KEY_DEPTH
        self._fresh()

    def _fresh(self) -> None:
        """What one comparison remembers: scalar digests by their JSON text, and the text
        of the last parent path written (siblings' differences share it)."""
        self._digests: dict[str, str] = {}
        self._digests_by_value: dict[int | str, str] = {}
        self._key_levels = KEY_DEPTH
        self._counting = False  # True in a pairing trial, and once the records are built
        self._text_parent: Any = None
        self._text_prefix = "$"
        self._text_grand: Any = None
        self._text_grand_prefix = "$"

    # -- public -----------------------------------------------------------------------
    def redacted(self, body: Any, salt: str) -> Any:
        """The candidate's answer with redacted paths digested like the router's."""
        return redact(body, self._redact, salt)

    def compare(self, control: Any, candidate: Any) -> Differences:
        """Differences in document order (the first ``RECORDED_DIFFERENCES`` as records,
        ``total`` exact); CompareBudgetExceeded past ``budget_ms``."""
        self._deadline = self.clock() + self.budget_ms / 1000.0
        self._fresh()
        out: list[dict[str, str]] = []
        try:
            self._run(control, candidate, self._pattern((), None), None, False, out)
        finally:
            self._fresh()
        return _differences(out)

    def compare_fields(self, fields: dict[str, Any], field_digests: dict[str, str],
                       candidate: Any) -> Differences:
        """Compare a candidate body with the control's top-level fields (oversized event)."""
        self._deadline = self.clock() + self.budget_ms / 1000.0
        self._fresh()
        out: list[dict[str, str]] = []
        try:
            self._fields(fields, field_digests, candidate, out)
        finally:
            self._fresh()
        return _differences(out)

    def _fields(self, fields, field_digests, candidate, out) -> None:
        if not isinstance(candidate, dict):
            self._diff(out, None, "type", fields, candidate, False)
            return
        seen = set()
        for path_text, value in fields.items():
            pat = parse_path(path_text)
            seen.add(pat[0])
            self._walk_key(value, candidate, pat, (None, pat[0]), False, out)
        for path_text, control_digest in field_digests.items():
            pat = parse_path(path_text)
            seen.add(pat[0])
            if pat in self._ignore:
                continue
            redacted = pat in self._redact
            if pat[0] not in candidate:
                out.append({"path": path_text, "kind": "missing"})
            elif digest(candidate[pat[0]]) != control_digest:
                out.append({"path": path_text, "kind": "changed",
                            "control": REDACTED if redacted else control_digest[:DIGEST_CHARS],
                            "candidate": REDACTED if redacted else _short(candidate[pat[0]])})
        for key in candidate:
            if key not in seen and (key,) not in self._ignore:
                out.append({"path": format_path((key,)), "kind": "extra"})

    # -- walk -------------------------------------------------------------------------
    def _check_budget(self) -> None:
        if self.clock() > self._deadline:
            raise CompareBudgetExceeded(f"comparison exceeded its budget: budgetMs={self.budget_ms}")

    def _pattern(self, prefix, key):
        """The rule pattern of a child (``key`` appended; None: the node itself), or None
        when no rule applies at or below it."""
        pat = prefix if key is None else prefix + (key,)
        return pat if pat in self._rule_prefixes else None

    def _walk_key(self, value, candidate, pat, path, redacted, out):
        key = pat[0]
        if pat in self._ignore:
            return
        if key not in candidate:
            self._gone(out, path, "missing")
            return
        self._run(value, candidate[key], self._pattern(pat, None), path, redacted, out)

    def _diff(self, out, path, kind, a, b, redacted):
        if self._counting:  # a pairing trial, or past the records: only counted
            out.append(_COUNTED)
            return
        if redacted:
            out.append({"path": self._text(path), "kind": kind,
                        "control": REDACTED, "candidate": REDACTED})
        else:
            out.append({"path": self._text(path), "kind": kind,
                        "control": self._digest16(a), "candidate": self._digest16(b)})
        if len(out) >= RECORDED_DIFFERENCES:
            self._counting = True  # the records are built: count the rest

    def _gone(self, out, path, kind):
        """A ``missing`` or ``extra`` difference (past the records, only counted)."""
        if self._counting:
            out.append(_COUNTED)
            return
        out.append({"path": self._text(path), "kind": kind})
        if len(out) >= RECORDED_DIFFERENCES:
            self._counting = True

    def _digest16(self, value):
        """``_short(value)``; a scalar's is computed once per comparison from its JSON text
        (an int's or a string's found by the value itself: neither equals the other)."""
        t = type(value)
        if t is int or t is str:
            found = self._digests_by_value.get(value)
            if found is None:
                found = self._digests_by_value[value] = _short_text(
                    int.__repr__(value) if t is int else _encode_str(value))
            return found
        if t not in _SCALARS:
            return _short(value)
        text = _scalar_json(value)
        found = self._digests.get(text)
        if found is None:
            found = self._digests[text] = _short_text(text)
        return found

    def _text(self, path):
        """``_path_text(path)``, the parent's text kept for the next sibling."""
        if path is None:
            return "$"
        parent, segment = path
        if parent is not self._text_parent:
            self._text_parent = parent
            if parent is None:
                self._text_prefix = "$"
            else:  # the grandparent's text is kept too: cousins share it
                grand, last = parent
                if grand is not self._text_grand:
                    self._text_grand = grand
                    self._text_grand_prefix = _path_text(grand)
                self._text_prefix = self._text_grand_prefix + _segment_text(last)
        if type(segment) is int:
            return f"{self._text_prefix}[{segment}]"
        return self._text_prefix + _segment_text(segment)

    def _run(self, a, b, pat, path, redacted, out, limit=None):
        """Depth-first walk with an explicit stack of container frames (generators that
        yield the frames of their container children), so differences come out in
        document order at any depth. With ``limit``, stop once ``out`` holds that many."""
        frame = self._visit(a, b, pat, path, redacted, out)
        if frame is not None:
            self._drive(frame, out, limit)

    def _drive(self, frame, out, limit=None):
        """Run a frame and the frames it yields, depth first (``_run``'s loop)."""
        frames = [frame]
        ticks = _CHECK_EVERY
        while frames:
            child = next(frames[-1], None)
            if child is None:
                frames.pop()
                continue
            frames.append(child)
            ticks -= 1
            if not ticks:
                ticks = _CHECK_EVERY
                self._check_budget()
            if limit is not None and len(out) >= limit:
                return

    def _visit(self, a, b, pat, path, redacted, out):
        """Compare a scalar pair at once; for two containers, return their frame."""
        ta = type(a)
        tb = type(b)
        if pat is None:  # no rule at or below: follow single-child containers in a loop
            if ta is tb and (ta is list or ta is dict) and len(a) == 1 and len(b) == 1:
                a, b, path = self._chain(a, b, path)
                ta = type(a)
                tb = type(b)
        elif pat in self._ignore:
            return None
        elif not redacted and pat in self._redact:
            redacted = True
        if ta is dict and tb is dict:
            return self._dict_frame(a, b, pat, path, redacted, out)
        if ta is list and tb is list:
            if pat in self._unordered:
                self._walk_unordered(a, b, pat, path, redacted, out)
                return None
            return self._list_frame(a, b, pat, path, redacted, out)
        if ta is tb or (ta in _NUMBERS and tb in _NUMBERS):
            if a == b:
                return None
            if ta in _NUMBERS and tb in _NUMBERS:
                if a != a and b != b:  # noqa: PLR0124 - NaN is NaN
                    return None
                try:
                    if abs(a - b) <= self._num_tol:
                        return None
                except OverflowError:  # an int too large for a float differs anyway
                    pass
            elif ta is str and self._ts_tol > 0:
                ts_a = _parse_timestamp(a)
                if ts_a is not None:
                    ts_b = _parse_timestamp(b)
                    if ts_b is not None and abs((ts_a - ts_b).total_seconds()) <= self._ts_tol:
                        return None
            self._diff(out, path, "changed", a, b, redacted)
            return None
        self._diff(out, path, "type", a, b, redacted)
        return None

    def _chain(self, a, b, path):
        """Descend while both sides hold one same child (``[[[...]]]``, ``{"k": {"k": ...}}``)
        with no frame and no path cell per level: the levels' text is written once, as one
        segment. Returns the first pair that is not such a chain, and its path."""
        parts: list[str] = []
        add = parts.append
        while True:
            t = type(a)
            if t is not type(b) or (t is not list and t is not dict) or len(a) != 1 or len(b) != 1:
                break
            if t is list:
                a = a[0]
                b = b[0]
                add("[0]")
            elif t is dict:
                (key,) = a
                if key not in b:
                    break
                a = a[key]
                b = b[key]
                add(_segment_text(key))
            if not len(parts) & 1023:
                self._check_budget()
        return a, b, (path, _Text("".join(parts)))

    def _dict_frame(self, a, b, pat, path, redacted, out):
        """Paths are cons cells ``(parent, segment)`` and patterns None outside the rules,
        so a level of nesting costs O(1) however deep it is."""
        ignore = self._ignore
        prefixes = self._rule_prefixes
        visit = self._visit
        missing = 0
        for key, va in a.items():
            if key in b:
                vb = b[key]
                tv = type(va)
                if tv is type(vb) and tv is not dict and tv is not list and va == vb:
                    continue  # equal scalars: nothing to report, ignored or not
                kp = None
                if pat is not None:
                    kp = pat + (key,)
                    if kp not in prefixes:
                        kp = None
                frame = visit(va, vb, kp, (path, key), redacted, out)
                if frame is not None:
                    yield frame
            else:
                missing += 1
                if pat is None or pat + (key,) not in ignore:
                    self._gone(out, (path, key), "missing")
        if len(b) == len(a) - missing:  # every key of b was one of a's: nothing extra
            return
        for key in b:
            if key not in a and (pat is None or pat + (key,) not in ignore):
                self._gone(out, (path, key), "extra")

    def _list_frame(self, a, b, pat, path, redacted, out):
        ep = self._pattern(pat, "*") if pat is not None else None
        visit = self._visit
        numbers = ep is None  # no rule below: two numbers of one type are compared here
        tol = self._num_tol
        n = min(len(a), len(b))
        for i in range(n):
            va = a[i]
            vb = b[i]
            tv = type(va)
            if tv is type(vb) and tv is not dict and tv is not list:
                if va == vb:
                    continue
                if numbers and (tv is int or tv is float):  # _visit's rule, without a call
                    if not (va != va and vb != vb) and not abs(va - vb) <= tol:  # noqa: PLR0124
                        if self._counting:  # past the records: counted, no path cell
                            out.append(_COUNTED)
                        else:
                            self._diff(out, (path, i), "changed", va, vb, redacted)
                    continue
            frame = visit(va, vb, ep, (path, i), redacted, out)
            if frame is not None:
                yield frame
        if ep is not None and ep in self._ignore:
            return
        for i in range(n, len(a)):
            self._gone(out, (path, i), "missing")
        for i in range(n, len(b)):
            self._gone(out, (path, i), "extra")

    # -- unordered lists --------------------------------------------------------------
    def _match_key(self, value, pat):
        """What identifies an unordered element, as a hashable value: ignored sub-paths
        removed and numbers snapped to the tolerance grid, so that noise below the
        tolerance still matches (two grid cells apart means a difference > tolerance).
        Recurses only along the ignore rules' paths (a bounded depth); below them,
        ``_plain_key`` stops after ``KEY_DEPTH`` levels."""
        spec = self._key_spec.get(pat)
        if spec is None:
            return self._plain_key(value)
        drop, deeper = spec
        t = type(value)
        plain = self._plain_key
        if t is dict:
            if not deeper:  # the usual case: only leaves are ignored
                return tuple(sorted([(k, v if type(v) is str else plain(v))
                                     for k, v in value.items() if k not in drop]))
            return tuple(sorted([
                (k, self._match_key(v, pat + (k,)) if k in deeper else plain(v))
                for k, v in value.items() if k not in drop]))
        if t is list:
            if "*" in drop:
                return ("[",)
            ep = pat + ("*",)
            return ("[", *[self._match_key(v, ep) for v in value])
        return plain(value)

    def _plain_key(self, value):
        """Nested tuples at most ``KEY_DEPTH`` levels deep: a deeper part is keyed by its
        digest (exact), so building, hashing and comparing a key never recurse further."""
        t = type(value)
        if t is str or value is None:
            return value
        if t is float or t is int:
            grid = self._grid
            if grid:
                try:
                    snapped = value * grid
                except OverflowError:  # an int too large for a float
                    return ("n", value)
                if -_EXACT < snapped < _EXACT:  # False for NaN and Infinity
                    return round(snapped)
            return self._number_key(value)
        if t is dict or t is list:
            if self._key_levels <= 0:
                return ("#", digest(value))
            self._key_levels -= 1
            try:
                plain = self._plain_key
                if t is dict:
                    return tuple(sorted([(k, v if type(v) is str else plain(v))
                                         for k, v in value.items()]))
                if len(value) > 8:  # a long list: its scalars keyed in one loop
                    return ("[", *self._keys_of(value))
                return ("[", *[v if type(v) is str else plain(v) for v in value])
            finally:
                self._key_levels += 1
        if t is bool:
            return ("b", value)  # True must not match the number 1
        return repr(value)

    def _element_keys(self, items, ep):
        """``[self._match_key(item, ep) for item in items]``, the budget checked every
        ``_KEY_CHUNK`` elements. Objects whose fields are all kept or dropped (the usual
        element) are keyed here: a run of them with one field list column by column (each
        field's values keyed in one loop, the pairs zipped), any other one by one."""
        spec = self._key_spec.get(ep)
        drop = () if spec is None else spec[0]
        if spec is not None and spec[1]:
            drop = None  # some field has ignored paths below it: _match_key's walk
        keys = []
        orders: dict[tuple, list] = {}
        for start in range(0, len(items), _KEY_CHUNK):
            self._check_budget()
            chunk = items if len(items) <= _KEY_CHUNK else items[start:start + _KEY_CHUNK]
            fields = None if drop is None or len(chunk) < _COLUMNS_FROM else _shared_fields(chunk)
            if fields is None:
                keys += self._object_keys(chunk, ep, spec, drop, orders)
                continue
            order = orders.get(fields)
            if order is None:
                order = orders[fields] = sorted([k for k in fields if k not in drop])
            keys += self._column_keys(chunk, order, spec is None)
        return keys

    def _column_keys(self, chunk, order, counts_level):
        """The keys of objects that share one field list, ``order`` their kept fields:
        what ``_object_keys`` gives, built a field at a time."""
        if not order:
            return [()] * len(chunk)
        if counts_level:
            self._key_levels -= 1  # as _plain_key counts an object's level
        try:
            columns = [zip(repeat(k), self._keys_of([item[k] for item in chunk])) for k in order]
        finally:
            if counts_level:
                self._key_levels += 1
        return list(zip(*columns))

    def _object_keys(self, items, ep, spec, drop, orders):
        """The keys of ``items`` one element at a time: an object whose fields are all kept
        or dropped is keyed in this loop, its strings and numbers without a call, its kept
        fields sorted once per distinct field list."""
        key = self._match_key
        plain = self._plain_key
        grid = self._grid
        exact = _EXACT
        keys = []
        fields = order = None
        for item in items:
            if type(item) is not dict or drop is None:
                keys.append(key(item, ep))
                continue
            if spec is None:
                self._key_levels -= 1  # as _plain_key counts an object's level
            if tuple(item) != fields:  # most elements have the fields of the one before
                fields = tuple(item)
                order = orders.get(fields)
                if order is None:
                    order = orders[fields] = sorted([k for k in fields if k not in drop])
            parts = []
            add = parts.append
            for k in order:
                v = item[k]
                t = type(v)
                if t is str:
                    add((k, v))
                elif grid and (t is float or t is int):
                    try:
                        snapped = v * grid
                    except OverflowError:  # an int too large for a float
                        add((k, ("n", v)))
                        continue
                    add((k, round(snapped) if -exact < snapped < exact else self._number_key(v)))
                elif t is list and len(v) <= 8:  # a short list: _plain_key's, inline
                    for x in v:
                        if type(x) is not str:
                            self._key_levels -= 1
                            add((k, ("[", *[x if type(x) is str else plain(x) for x in v])))
                            self._key_levels += 1
                            break
                    else:  # strings only (tags, ids): keyed as they are (one level down)
                        add((k, ("[", *v)))
                else:
                    add((k, plain(v)))
            if spec is None:
                self._key_levels += 1
            keys.append(tuple(parts))
        return keys

    def _keys_of(self, values):
        """``[self._plain_key(v) for v in values]``, with strings and numbers keyed in the
        loop (no call per scalar: most of an element's key), and short lists of strings
        (tags, ids) as ``_plain_key`` keys them."""
        if len(values) > 16 and type(values[0]) in _NUMBER_TYPES:
            keys = self._number_keys(values)
            if keys is not None:
                return keys
        plain = self._plain_key
        number = self._number_key
        grid = self._grid
        short = self._key_levels > 0  # a list here is keyed, not digested
        keys = []
        add = keys.append
        for v in values:
            t = type(v)
            if t is str or v is None:
                add(v)
            elif t is float or t is int:
                if grid:
                    try:
                        snapped = v * grid
                    except OverflowError:  # an int too large for a float
                        add(("n", v))
                        continue
                    if -_EXACT < snapped < _EXACT:  # False for NaN and Infinity
                        add(round(snapped))
                        continue
                add(number(v))
            elif t is list and short and len(v) <= 8:
                for x in v:
                    if type(x) is not str:
                        add(plain(v))
                        break
                else:
                    add(("[", *v))
            else:
                add(plain(v))
        return keys

    def _number_keys(self, values):
        """The keys of a list of numbers (no boolean) in a few passes at C speed, or None
        when one of them needs the rules one by one (NaN, off the grid, a huge int)."""
        if set(map(type, values)) - _NUMBER_TYPES:
            return None
        grid = self._grid
        try:
            snapped = list(map(mul, values, repeat(grid))) if grid else values
            total = sum(snapped)  # NaN when one is NaN
        except OverflowError:  # an int too large for a float
            return None
        if total != total:  # noqa: PLR0124 - NaN
            return None
        if not grid:
            return list(values)  # 1 and 1.0 are the same key
        if -_EXACT < min(snapped) and max(snapped) < _EXACT:
            return list(map(float.__round__, snapped))  # round(), without its look-up
        return None

    def _number_key(self, value):
        if value != value:  # noqa: PLR0124 - NaN, without float() (a huge int overflows)
            return _NAN_KEY  # NaN matches NaN
        grid = self._grid
        if not grid:
            return value  # 1 and 1.0 are the same key
        try:
            snapped = value * grid
        except OverflowError:  # an int too large for a float
            return ("n", value)
        if -_EXACT < snapped < _EXACT:
            return round(snapped)
        return ("n", value)  # huge or infinite: exact

    def _walk_unordered(self, a, b, pat, path, redacted, out):
        ep = pat + ("*",)  # pat is an unordered rule, so not None
        if ep in self._ignore:
            return
        if len(a) == 1 and len(b) == 1:
            # One element each: nothing to match but each other, so no keys (a deep
            # element's would be digested below KEY_DEPTH): walked as the closest pair is.
            self._check_budget()  # as for the first element of any unordered list
            self._run(a[0], b[0], self._pattern(ep, None), (path, 0), redacted, out)
            return
        left_a, left_b = _match(self._element_keys(a, ep), self._element_keys(b, ep))
        _sort_leftovers(left_a)
        _sort_leftovers(left_b)
        if left_a and left_b and len(left_a) * len(left_b) <= PAIRING_LIMIT:
            left_a_idx, left_b_idx = self._pair_closest(a, b, left_a, left_b, ep, path,
                                                        redacted, out)
        else:
            # Many leftovers: pair in the order of their keys, which keeps similar
            # elements together, in O(n log n).
            n = min(len(left_a), len(left_b))
            pairs = zip(map(_second, left_a), map(_second, left_b))  # n pairs, built lazily
            self._drive(self._pairs_frame(a, b, pairs, self._pattern(ep, None), path,
                                          redacted, out), out)
            left_a_idx = [i for _, i in left_a[n:]]
            left_b_idx = [j for _, j in left_b[n:]]
        for i in sorted(left_a_idx):
            self._gone(out, (path, i), "missing")
        for j in sorted(left_b_idx):
            self._gone(out, (path, j), "extra")

    def _pairs_frame(self, a, b, pairs, pat, path, redacted, out):
        """A frame walking the pairs ``(i, j)`` (an iterable) one after the other: one walk, not one per
        pair. A pair of objects is walked in this loop, any other pair's frame is delegated
        to (``yield from``); children are still walked depth first, in order. The budget is
        checked every 16 pairs."""
        visit = self._visit
        check = self._check_budget
        gone = self._gone
        diff = self._diff
        tol = self._num_tol
        for n, (i, j) in enumerate(pairs):
            if not n & 15:
                check()
            va = a[i]
            vb = b[j]
            if pat is None and type(va) is dict and type(vb) is dict:  # the usual element
                # _dict_frame's loop (no rule below), inline: no generator per element
                at = (path, i)
                missing = 0
                for key, x in va.items():
                    if key not in vb:
                        missing += 1
                        gone(out, (at, key), "missing")
                        continue
                    y = vb[key]
                    t = type(x)
                    if t is type(y) and t is not dict and t is not list:
                        if x == y:
                            continue
                        if t is int or t is float:  # _visit's rule for numbers, without a call
                            if not (x != x and y != y) and not abs(x - y) <= tol:  # noqa: PLR0124
                                if self._counting:  # past the records: counted
                                    out.append(_COUNTED)
                                else:
                                    diff(out, (at, key), "changed", x, y, redacted)
                            continue
                    frame = visit(x, y, None, (at, key), redacted, out)
                    if frame is not None:
                        yield frame
                if len(vb) != len(va) - missing:
                    for key in vb:
                        if key not in va:
                            gone(out, (at, key), "extra")
                continue
            frame = visit(va, vb, pat, (path, i), redacted, out)
            if frame is not None:
                yield from frame

    def _pair_closest(self, a, b, left_a, left_b, ep, path, redacted, out):
        """Few leftovers: pair each with its closest counterpart (fewest differences).
        Trials only count differences (no digests) and stop as soon as they cannot beat
        the best so far; the chosen pair is then walked for real. Once the trials of this
        list have counted ``PAIRING_WORK`` differences (large elements that match nothing:
        each trial walks most of one), the rest is paired in key order."""
        remaining = [j for _, j in left_b]
        unmatched = []
        walk_pat = self._pattern(ep, None)
        work = 0
        for n, (_, i) in enumerate(left_a):
            if work > PAIRING_WORK:
                rest = [i for _, i in left_a[n:]]
                m = min(len(rest), len(remaining))
                pairs = list(zip(rest[:m], remaining[:m]))
                self._drive(self._pairs_frame(a, b, pairs, walk_pat, path, redacted, out), out)
                return unmatched + rest[m:], remaining[m:]
            best, best_count, counted = self._closest(a, b, i, remaining, walk_pat, path, redacted)
            work += counted
            if best is None:
                unmatched.append(i)
                continue
            remaining.remove(best)
            if best_count:
                self._run(a[i], b[best], walk_pat, (path, i), redacted, out)
        return unmatched, remaining

    def _closest(self, a, b, i, candidates, walk_pat, path, redacted):
        """The candidate closest to ``a[i]``, its differences, and how many were counted."""
        best = best_count = None
        counted = 0
        counting = self._counting
        self._counting = True
        try:
            for j in candidates:
                self._check_budget()
                trial: list[dict[str, str]] = []
                self._run(a[i], b[j], walk_pat, (path, i), redacted, trial, best_count)
                counted += len(trial)
                if best_count is None or len(trial) < best_count:
                    best, best_count = j, len(trial)
                    if not trial:
                        break
        finally:
            self._counting = counting
        return best, best_count, counted
