"""The shadow comparison's paths, checked against the read model (a JSON Schema).

The comparator cannot tell a path that matches nothing from one that matches a field
the answers happen not to hold: a redact path that names no field leaves the field it
meant in clear in every shadow event and dead-letter message, an ignore path that names
no field ignores nothing, an unordered path that names no array orders nothing. So
every path-valued rule of ``shadow.compare`` (`PATH_FIELDS`) must name a place that can
exist in an answer that follows the read path's read model, and every field the read
model marks ``x-cutover-personal`` must be redacted.

Paths are read by the comparator's own parser (``cutover_runtime.compare.parse_path``),
so a path the comparator cannot use is refused too. A step is walked through the JSON
Schema keywords that decide where a value can be: ``type``, ``enum``/``const``,
``properties``, ``patternProperties``, ``additionalProperties``, ``items``,
``prefixItems``, ``additionalItems``, local ``$ref``, ``allOf``, ``anyOf``, ``oneOf`` and
boolean schemas. Other keywords do not narrow where a value can be: a path they would
forbid is accepted (the check never refuses a path that can exist).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from cutover.generator.spec.errors import Loc, Problem
from cutover.generator.spec.model import ComparisonRules, JsonPath, ReleaseSpec
from cutover.runtime import compare
from jsonschema import exceptions as schema_errors
from jsonschema import validators

ROOT = Path(__file__).resolve().parents[2]
# the default read model: the example release's user profile (example/user-profile/README.md)
EXAMPLE_READ_MODEL = ROOT / "example" / "user-profile" / "read-model.schema.json"
PERSONAL = "x-cutover-personal"
# every path-valued comparison rule of the spec, found by its type
PATH_FIELDS = tuple(name for name, f in ComparisonRules.model_fields.items()
                    if f.annotation == list[JsonPath])
_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null",
          dict: "object", list: "array"}
_ANY = "\0any"  # a key no schema names: does the schema allow keys it does not name?


class ReadModelError(ValueError):
    """A read model that cannot be used: not readable, not JSON, not a JSON Schema."""


def check(spec: ReleaseSpec, base: Path | None = None) -> Iterator[Problem]:
    """Every comparison path of every read path that cannot exist in its read model."""
    for i, path in enumerate(spec.read_paths):
        at: Loc = ("read_paths", i)
        try:
            model = ReadModel.load(read_model_file(path.read_model, base))
        except ReadModelError as exc:
            yield Problem((*at, "read_model"), str(exc))
            continue
        rules = path.shadow.compare
        for field in PATH_FIELDS:
            for j, text in enumerate(getattr(rules, field)):
                why = model.why_not(text, arrays_only=field == "unordered_lists")
                if why:
                    yield Problem((*at, "shadow", "compare", field, j), why)
        yield from _unredacted(model, rules, (*at, "shadow", "compare", "redact_paths"))


def read_model_file(named: str | None, base: Path | None) -> Path:
    """The file of a read path's ``read_model`` (relative to the spec's folder ``base``)."""
    if named is None:
        return EXAMPLE_READ_MODEL
    return (base or Path()) / named


def _unredacted(model: ReadModel, rules: ComparisonRules, at: Loc) -> Iterator[Problem]:
    redacted = [model.parse(p) for p in rules.redact_paths]
    for segments in model.personal:
        if not any(r == segments[:len(r)] for r in redacted if r is not None):
            text = _format(segments)
            yield Problem(at, (
                f"add {text}: it is personal in the read model ({model.name}, {PERSONAL}), and "
                "unredacted it travels in clear in every shadow event and dead-letter message"))


def _format(segments: tuple[str, ...]) -> str:
    return "$" + "".join("[*]" if s == "*" else f".{s}" for s in segments)


class ReadModel:
    """A read model's JSON Schema, and where in an answer a value can be."""

    def __init__(self, schema: Any, name: str) -> None:
        self.schema = schema
        self.name = name
        self.personal = sorted(self._personal(schema, (), set()))

    @staticmethod
    def load(file: Path) -> ReadModel:
        """The read model in ``file``, or ReadModelError saying why it cannot be used."""
        try:
            stat = file.stat()
        except OSError as exc:
            raise ReadModelError(f"cannot read the read model {_shown(file)}: {exc.strerror}") from None
        return ReadModel._load(file, stat.st_mtime_ns, stat.st_size)

    @staticmethod
    @cache
    def _load(file: Path, _mtime_ns: int, _size: int) -> ReadModel:
        """Parsed once per version of the file (a spec's read paths often share one)."""
        name = _shown(file)
        try:
            schema = json.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ReadModelError(f"cannot read the read model {name}: {exc.strerror}") from None
        except ValueError as exc:
            raise ReadModelError(f"the read model {name} is not JSON: {exc}") from None
        if not isinstance(schema, (dict, bool)):
            raise ReadModelError(f"the read model {name} is not a JSON Schema: a schema is an "
                                 f"object or a boolean, not {type(schema).__name__}")
        try:
            validators.validator_for(schema).check_schema(schema)
        except schema_errors.SchemaError as exc:
            raise ReadModelError(f"the read model {name} is not a JSON Schema: {exc.message}") from None
        model = ReadModel(schema, name)
        model._check_keywords(schema)
        return model

    def violations(self, answer: Any) -> list[str]:
        """How ``answer`` breaks the read model (empty: it follows it); NaN and Infinity,
        which are not JSON, break every read model."""
        try:
            json.dumps(answer, allow_nan=False)
        except ValueError:
            return ["the answer holds NaN or Infinity, which are not JSON"]
        validator = validators.validator_for(self.schema)(self.schema)
        return [f"{error.json_path}: {error.message}"
                for error in sorted(validator.iter_errors(answer), key=lambda e: e.json_path)]

    def parse(self, text: str) -> tuple[str, ...] | None:
        try:
            return compare.parse_path(text)
        except ValueError:
            return None

    def why_not(self, text: str, arrays_only: bool = False) -> str | None:
        """Why ``text`` names no place in an answer (None: it can exist)."""
        segments = self.parse(text)
        if segments is None:
            return (f"{text!r}: the comparator cannot use it; a path is $ followed by .key "
                    "and [*] steps ([*] is any element; a single index [N] is not supported)")
        frontier = [self.schema]
        for k, segment in enumerate(segments):
            found = [child for s in frontier for child in self._step(s, segment)]
            if not found:
                return (f"{text!r} cannot exist in the read model ({self.name}): "
                        f"{self._allowed(frontier, segments[:k], segment)}")
            frontier = found
        if arrays_only and not any(_may_be(self._types(s), "array") for s in frontier):
            kinds = " or ".join(sorted({t for s in frontier for t in self._types(s) or ("any",)}))
            return (f"{text!r} is {_article(kinds)} in the read model ({self.name}); "
                    "unordered_lists names arrays")
        return None

    # -- one step ------------------------------------------------------------------------
    def _step(self, schema: Any, segment: str, seen: frozenset[str] = frozenset()) -> list[Any]:
        """The schemas a value one ``segment`` below a ``schema`` value follows, as
        alternatives (empty: there is no such value; ``[True]``: anything goes)."""
        if not isinstance(schema, dict):
            return [] if schema is False else [True]
        found = []
        for children in self._conjuncts(schema, segment, seen):
            children = [c for c in children if c is not False]
            if not children:
                return []
            if True not in children:
                found.append(children)
        if not found:
            return [True]
        if len(found) == 1:
            return found[0]
        return [{"allOf": [{"anyOf": children} for children in found]}]

    def _conjuncts(self, schema: dict, segment: str, seen: frozenset[str]) -> Iterator[list[Any]]:
        """What each part of ``schema`` that must hold allows one ``segment`` below."""
        yield self._own_children(schema, segment)
        for keyword in ("anyOf", "oneOf"):
            if keyword in schema:
                yield [c for branch in schema[keyword] for c in self._step(branch, segment, seen)]
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref not in seen:  # a reference to itself adds nothing
            yield self._step(self._resolve(ref), segment, seen | {ref})
        for branch in schema.get("allOf", ()):
            yield self._step(branch, segment, seen)

    def _own_children(self, schema: dict, segment: str) -> list[Any]:
        """What the schema's own keywords (not $ref, allOf, anyOf, oneOf) allow below it."""
        if segment == "*":
            return self._items(schema) if _may_be(self._own_types(schema), "array") else []
        if not _may_be(self._own_types(schema), "object"):
            return []
        props = schema.get("properties", {})
        found = [props[segment]] if segment in props else []
        found += [s for pattern, s in schema.get("patternProperties", {}).items()
                  if _matches(pattern, segment)]
        if found:
            return found
        extra = schema.get("additionalProperties", True)
        return [extra] if extra is not False else []

    @staticmethod
    def _items(schema: dict) -> list[Any]:
        items = schema.get("items", True)
        prefix = list(schema.get("prefixItems", ()))
        if isinstance(items, list):  # draft 7 and earlier: a tuple
            prefix, items = items, schema.get("additionalItems", True)
        return [*prefix, *([items] if items is not False else [])]

    # -- types -----------------------------------------------------------------------------
    def _types(self, schema: Any, seen: frozenset[str] = frozenset()) -> set[str] | None:
        """The JSON types a value of ``schema`` may have (None: any)."""
        if not isinstance(schema, dict):
            return set() if schema is False else None
        parts = [self._own_types(schema)]
        for keyword in ("anyOf", "oneOf"):
            if keyword in schema:
                union: set[str] | None = set()
                for branch in schema[keyword]:
                    kinds = self._types(branch, seen)
                    union = None if kinds is None or union is None else union | kinds
                parts.append(union)
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            parts.append(self._types(self._resolve(ref), seen | {ref}))
        parts += [self._types(branch, seen) for branch in schema.get("allOf", ())]
        found = None
        for kinds in parts:
            if kinds is not None:
                found = kinds if found is None else found & kinds
        return found

    @staticmethod
    def _own_types(schema: dict) -> set[str] | None:
        found = None
        if "type" in schema:
            declared = schema["type"]
            found = {declared} if isinstance(declared, str) else set(declared)
            if "number" in found:
                found.add("integer")
        values = [schema["const"]] if "const" in schema else schema.get("enum")
        if isinstance(values, list):
            kinds = {_TYPES.get(type(v), "object") for v in values}
            found = kinds if found is None else found & kinds
        return found

    # -- messages, references, personal fields --------------------------------------------
    def _allowed(self, frontier: list[Any], where: tuple[str, ...], segment: str) -> str:
        at = _format(where)
        wanted = _format((segment,))[1:]
        keys = sorted({key for s in frontier for key in self._names(s, set())
                       if any(self._step(f, key) for f in frontier)})
        steps = [f".{key}" for key in keys]
        if any(self._step(s, _ANY) for s in frontier):
            steps.append(".<any key>")
        if any(self._step(s, "*") for s in frontier):
            steps.append("[*]")
        if steps:
            return f"no {wanted} after {at}; allowed after {at}: {', '.join(steps)}"
        kinds = " or ".join(sorted({t for s in frontier for t in self._types(s) or ("any",)}))
        return f"{at} is {_article(kinds)}: no path goes below it"

    def _names(self, schema: Any, seen: set[str]) -> Iterator[str]:
        """Every property name a schema, its references and its branches declare."""
        if not isinstance(schema, dict):
            return
        yield from schema.get("properties", {})
        ref = schema.get("$ref")
        if ref is not None and ref not in seen:
            seen.add(ref)
            yield from self._names(self._resolve(ref), seen)
        for keyword in ("allOf", "anyOf", "oneOf"):
            for branch in schema.get(keyword, ()):
                yield from self._names(branch, seen)

    def _resolve(self, ref: str) -> Any:
        """A local reference (``#`` or ``#/a/b``): the read model is one self-contained file."""
        if not ref.startswith("#"):
            raise ReadModelError(f"{self.name}: only local references ('#/...') are supported, not {ref!r}")
        node = self.schema
        for raw in filter(None, ref[1:].split("/")):
            key = raw.replace("~1", "/").replace("~0", "~")
            try:
                node = node[int(key)] if isinstance(node, list) else node[key]
            except (KeyError, IndexError, ValueError, TypeError):
                raise ReadModelError(f"{self.name}: the reference {ref!r} names nothing") from None
        return node

    def _check_keywords(self, schema: Any) -> None:
        """Every $ref resolves here (check_schema does not look; it checks the regexes)."""
        if isinstance(schema, dict):
            if isinstance(schema.get("$ref"), str):
                self._resolve(schema["$ref"])
            for key, value in schema.items():
                if key not in ("enum", "const", "examples", "default"):
                    self._check_keywords(value)
        elif isinstance(schema, list):
            for value in schema:
                self._check_keywords(value)

    def _personal(self, schema: Any, at: tuple[str, ...], seen: set[str]) -> Iterator[tuple[str, ...]]:
        """Paths of the values the schema marks personal (through properties and items)."""
        if not isinstance(schema, dict):
            return
        if schema.get(PERSONAL) is True:
            yield at
            return
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            yield from self._personal(self._resolve(ref), at, seen | {ref})
        for key, child in schema.get("properties", {}).items():
            yield from self._personal(child, (*at, key), seen)
        items = schema.get("items")
        for child in [*schema.get("prefixItems", ()), *(items if isinstance(items, list) else [items])]:
            yield from self._personal(child, (*at, "*"), seen)
        for keyword in ("allOf", "anyOf", "oneOf"):
            for branch in schema.get(keyword, ()):
                yield from self._personal(branch, at, seen)


def _matches(pattern: str, key: str) -> bool:
    """patternProperties: an ECMA-262 pattern Python cannot read may match (never refuse a
    path that can exist)."""
    try:
        return re.search(pattern, key) is not None
    except re.error:
        return True


def _may_be(kinds: set[str] | None, kind: str) -> bool:
    return kinds is None or kind in kinds


def _article(kinds: str) -> str:
    return f"an {kinds}" if kinds[:1] in "aeiou" else f"a {kinds}"


def _shown(file: Path) -> str:
    """The file as the user knows it: relative to the project when it is inside."""
    try:
        return file.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(file)
