"""Structural JSON comparison driven by the spec's rules (contracts.md §4).

``ShadowComparator(rules).compare(control, candidate)`` returns a list of
differences ``{"path", "kind", "control", "candidate"}`` where values are a sha256
prefix of their canonical JSON, or ``"<redacted>"`` under a redacted path: a
difference never carries a raw value.

Rules are compiled once into tuples of path segments (``"*"`` for any index), so the
walk costs one tuple concatenation and a few set look-ups per node.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

REDACTED = "<redacted>"
DIGEST_CHARS = 16
PAIRING_LIMIT = 1024  # leftover pairs tried when matching unordered elements under tolerance

_NUMBERS = (int, float)
_SEGMENT = re.compile(r"\.([^.\[\]]+)|\[\*\]")


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


def format_path(segments: tuple) -> str:
    parts = ["$"]
    for seg in segments:
        parts.append(f"[{seg}]" if type(seg) is int else f".{seg}")
    return "".join(parts)


canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                  default=str).encode


def digest(value: Any) -> str:
    return sha256(canonical_json(value).encode()).hexdigest()


def _short(value: Any) -> str:
    return digest(value)[:DIGEST_CHARS]


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


def _sort_leftovers(items: list) -> None:
    """Order by match key so similar elements line up; repr when types do not compare."""
    try:
        items.sort()
    except TypeError:
        items.sort(key=lambda item: (repr(item[0]), item[1]))


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
    rules: CompareRules = field(default_factory=CompareRules)

    def __post_init__(self) -> None:
        self._ignore = frozenset(parse_path(p) for p in self.rules.ignore_paths)
        self._unordered = frozenset(parse_path(p) for p in self.rules.unordered_lists)
        self._redact = frozenset(parse_path(p) for p in self.rules.redact_paths)
        self._ignore_prefixes = frozenset(p[:i] for p in self._ignore for i in range(len(p)))
        # for each prefix of an ignored path: child keys to drop, child keys to descend into
        self._key_spec: dict[tuple, tuple[frozenset, frozenset]] = {
            prefix: (frozenset(p[-1] for p in self._ignore if p[:-1] == prefix),
                     frozenset(p[len(prefix)] for p in self._ignore_prefixes
                               if len(p) > len(prefix) and p[:len(prefix)] == prefix))
            for prefix in self._ignore_prefixes}
        self._num_tol = self.rules.numeric_tolerance
        self._grid = 1.0 / self._num_tol if self._num_tol > 0 else 0.0
        self._ts_tol = self.rules.timestamp_tolerance_seconds

    # -- public -----------------------------------------------------------------------
    def redacted(self, body: Any, salt: str) -> Any:
        """The candidate's answer with redacted paths digested like the router's."""
        return redact(body, self._redact, salt)

    def compare(self, control: Any, candidate: Any) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        self._walk(control, candidate, (), (), False, out)
        return out

    def compare_fields(self, fields: dict[str, Any], field_digests: dict[str, str],
                       candidate: Any) -> list[dict[str, str]]:
        """Compare a candidate body with the control's top-level fields (oversized event)."""
        out: list[dict[str, str]] = []
        if not isinstance(candidate, dict):
            self._diff(out, (), "type", fields, candidate, False)
            return out
        seen = set()
        for path_text, value in fields.items():
            pat = parse_path(path_text)
            seen.add(pat[0])
            self._walk_key(value, candidate, pat, pat, False, out)
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
        return out

    # -- walk -------------------------------------------------------------------------
    def _walk_key(self, value, candidate, pat, path, redacted, out):
        key = pat[0]
        if pat in self._ignore:
            return
        if key not in candidate:
            out.append({"path": format_path(path), "kind": "missing"})
            return
        self._walk(value, candidate[key], pat, path, redacted, out)

    def _diff(self, out, path, kind, a, b, redacted):
        if redacted:
            out.append({"path": format_path(path), "kind": kind,
                        "control": REDACTED, "candidate": REDACTED})
        else:
            out.append({"path": format_path(path), "kind": kind,
                        "control": _short(a), "candidate": _short(b)})

    def _walk(self, a, b, pat, path, redacted, out):
        if pat in self._ignore:
            return
        if not redacted and pat in self._redact:
            redacted = True
        ta = type(a)
        tb = type(b)
        if ta is dict and tb is dict:
            ignore = self._ignore
            for key, va in a.items():
                kp = pat + (key,)
                if key in b:
                    self._walk(va, b[key], kp, path + (key,), redacted, out)
                elif kp not in ignore:
                    out.append({"path": format_path(path + (key,)), "kind": "missing"})
            for key in b:
                if key not in a and pat + (key,) not in ignore:
                    out.append({"path": format_path(path + (key,)), "kind": "extra"})
            return
        if ta is list and tb is list:
            if pat in self._unordered:
                self._walk_unordered(a, b, pat, path, redacted, out)
                return
            ep = pat + ("*",)
            n = min(len(a), len(b))
            for i in range(n):
                self._walk(a[i], b[i], ep, path + (i,), redacted, out)
            if ep in self._ignore:
                return
            for i in range(n, len(a)):
                out.append({"path": format_path(path + (i,)), "kind": "missing"})
            for i in range(n, len(b)):
                out.append({"path": format_path(path + (i,)), "kind": "extra"})
            return
        if ta is tb or (ta in _NUMBERS and tb in _NUMBERS):
            if a == b:
                return
            if ta in _NUMBERS and tb in _NUMBERS:
                if abs(a - b) <= self._num_tol:
                    return
            elif ta is str and self._ts_tol > 0:
                ts_a = _parse_timestamp(a)
                if ts_a is not None:
                    ts_b = _parse_timestamp(b)
                    if ts_b is not None and abs((ts_a - ts_b).total_seconds()) <= self._ts_tol:
                        return
            if ta in (dict, list):  # only reached for mismatched containers
                self._diff(out, path, "type", a, b, redacted)
                return
            self._diff(out, path, "changed", a, b, redacted)
            return
        self._diff(out, path, "type", a, b, redacted)

    def _match_key(self, value, pat):
        """What identifies an unordered element, as a hashable value: ignored sub-paths
        removed and numbers snapped to the tolerance grid, so that noise below the
        tolerance still matches (two grid cells apart means a difference > tolerance)."""
        spec = self._key_spec.get(pat)
        if spec is None:
            return self._plain_key(value)
        drop, deeper = spec
        t = type(value)
        plain = self._plain_key
        if t is dict:
            return tuple(sorted([
                (k, self._match_key(v, pat + (k,)) if k in deeper else plain(v))
                for k, v in value.items() if k not in drop]))
        if t is list:
            ep = pat + ("*",)
            if "*" in drop:
                return ("[",)
            return ("[", *[self._match_key(v, ep) for v in value])
        return plain(value)

    def _plain_key(self, value):
        t = type(value)
        if t is str or value is None:
            return value
        if t is float or t is int:
            return round(value * self._grid) if self._grid else value
        if t is dict:
            plain = self._plain_key
            return tuple(sorted([(k, plain(v)) for k, v in value.items()]))
        if t is list:
            plain = self._plain_key
            return ("[", *[plain(v) for v in value])
        if t is bool:
            return ("b", value)  # True must not match the number 1
        return repr(value)

    def _walk_unordered(self, a, b, pat, path, redacted, out):
        ep = pat + ("*",)
        if ep in self._ignore:
            return
        key = self._match_key
        keys_b: dict[Any, list[int]] = {}
        for j, item in enumerate(b):
            keys_b.setdefault(key(item, ep), []).append(j)
        left_a = []
        for i, item in enumerate(a):
            k = key(item, ep)
            slot = keys_b.get(k)
            if slot:
                slot.pop()
            else:
                left_a.append((k, i))
        left_b = [(k, j) for k, slot in keys_b.items() for j in slot]
        _sort_leftovers(left_a)
        _sort_leftovers(left_b)
        if left_a and left_b and len(left_a) * len(left_b) <= PAIRING_LIMIT:
            # Few leftovers: pair each with its closest counterpart (fewest differences).
            remaining = [j for _, j in left_b]
            unmatched = []
            for _, i in left_a:
                best = None
                for j in remaining:
                    trial: list[dict[str, str]] = []
                    self._walk(a[i], b[j], ep, path + (i,), redacted, trial)
                    if best is None or len(trial) < len(best[1]):
                        best = (j, trial)
                        if not trial:
                            break
                if best is None:
                    unmatched.append(i)
                    continue
                remaining.remove(best[0])
                out.extend(best[1])
            left_a_idx, left_b_idx = unmatched, remaining
        else:
            # Many leftovers: pair in the order of their keys, which keeps similar
            # elements together, in O(n log n).
            n = min(len(left_a), len(left_b))
            for (_, i), (_, j) in zip(left_a[:n], left_b[:n]):
                self._walk(a[i], b[j], ep, path + (i,), redacted, out)
            left_a_idx = [i for _, i in left_a[n:]]
            left_b_idx = [j for _, j in left_b[n:]]
        for i in sorted(left_a_idx):
            out.append({"path": format_path(path + (i,)), "kind": "missing"})
        for j in sorted(left_b_idx):
            out.append({"path": format_path(path + (j,)), "kind": "extra"})
