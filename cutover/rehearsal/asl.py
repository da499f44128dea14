"""The Amazon States Language (JSONPath) as Step Functions applies it: the definition checks
(what the evaluator supports, everything else refused by state and field), paths, payload
templates with intrinsic functions, and Choice rules.

Used by ``cutover.rehearsal.states`` (the evaluator); docs/aws-rules.md ("Step Functions")
has the documented rule behind each behaviour.
"""

from __future__ import annotations

import json
import re
from typing import Any

RUNTIME = "States.Runtime"
INTRINSIC_FAILURE = "States.IntrinsicFailure"
ALL = "States.ALL"
# Not matched by States.ALL ("States.ALL ... can't catch the States.DataLimitExceeded terminal
# error or Runtime error types": "Error handling in Step Functions workflows").
UNCATCHABLE = frozenset({RUNTIME, "States.DataLimitExceeded"})


class DefinitionError(ValueError):
    """The definition uses something Step Functions refuses or the evaluator does not run."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


class StateError(Exception):
    """A state failed with an ASL error name (States.Runtime, States.IntrinsicFailure, ...)."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


# ---------------------------------------------------------------------------- paths

_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\['([^'\\]*)'\]|\[(\d+)\]")


class Path:
    """A JSONPath of the forms Step Functions' reference paths allow: ``$``, ``$.a.b``,
    ``$['a']``, ``$.a[0]``, on the state input (``$``) or the context object (``$$``).
    Wildcards, filters, slices and unions are refused (a reference path "must identify
    only a single node"; the evaluator uses reference paths everywhere)."""

    def __init__(self, text: Any, where: str) -> None:
        if not isinstance(text, str) or not text.startswith("$"):
            raise DefinitionError(where, f"{text!r} is not a JSONPath (it must start with '$')")
        self.text = text
        self.context = text.startswith("$$")
        rest = text[2:] if self.context else text[1:]
        self.parts: list[str | int] = []
        pos = 0
        while pos < len(rest):
            match = _SEGMENT.match(rest, pos)
            if match is None:
                raise DefinitionError(where, f"{text!r}: unsupported JSONPath at {rest[pos:]!r} "
                                      "(only .name, ['name'] and [index] segments)")
            name, quoted, index = match.groups()
            self.parts.append(int(index) if index is not None else (name if name is not None else quoted))
            pos = match.end()

    def get(self, document: Any, field: str) -> Any:
        node = document
        for part in self.parts:
            if _has(node, part):
                node = node[part]
            else:
                raise StateError(RUNTIME, f"The JSONPath '{self.text}' specified for the field "
                                 f"'{field}' could not be found in the input '{compact(document)}'")
        return node

    def present(self, document: Any) -> bool:
        try:
            self.get(document, "")
        except StateError:
            return False
        return True

    def put(self, document: Any, value: Any) -> Any:
        """``document`` with ``value`` at this path, intermediate objects created (ResultPath)."""
        if not self.parts:
            return value
        node = document
        for i, part in enumerate(self.parts):
            last = i == len(self.parts) - 1
            if isinstance(part, int) or not isinstance(node, dict):
                raise StateError(RUNTIME, f"Unable to apply ReferencePath {self.text} to input "
                                 f"'{compact(document)}'")
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        return document


def _has(node: Any, part: str | int) -> bool:
    if isinstance(part, int):
        return isinstance(node, list) and part < len(node)
    return isinstance(node, dict) and part in node


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# ----------------------------------------------------------------- payload templates

_CALL = re.compile(r"^(States\.[A-Za-z]+)\((.*)\)$", re.DOTALL)
INTRINSICS = ("States.Format", "States.MathAdd", "States.JsonToString")


class Intrinsic:
    """``States.Format('...', $.a)``, ``States.MathAdd($.a, 1)``, ``States.JsonToString($.a)``."""

    def __init__(self, text: str, where: str) -> None:
        match = _CALL.match(text.strip())
        if match is None:
            raise DefinitionError(where, f"{text!r} is neither a JSONPath nor an intrinsic function call")
        self.name = match.group(1)
        if self.name not in INTRINSICS:
            raise DefinitionError(where, f"intrinsic function {self.name} is not supported "
                                  f"(supported: {', '.join(INTRINSICS)})")
        self.args = [_argument(a, where) for a in _split_arguments(match.group(2), where)]
        if self.name == "States.JsonToString" and (len(self.args) != 1 or not isinstance(self.args[0], Path)):
            raise DefinitionError(where, "States.JsonToString takes exactly one JSONPath argument")
        if self.name == "States.MathAdd" and len(self.args) != 2:
            raise DefinitionError(where, "States.MathAdd takes exactly two arguments")
        if self.name == "States.Format" and (not self.args or not isinstance(self.args[0], str)):
            raise DefinitionError(where, "States.Format takes a template string first")

    def evaluate(self, data: Any, context: Any, field: str) -> Any:
        values = [_resolve(a, data, context, field) for a in self.args]
        if self.name != "States.Format":
            values = [v.translate(_UNBRACE) if isinstance(v, str) else v for v in values]
        return {"States.Format": _format, "States.MathAdd": _math_add,
                "States.JsonToString": lambda v: compact(v[0])}[self.name](values)


def _split_arguments(text: str, where: str) -> list[str]:
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(text):
        c = text[i]
        if quoted:
            i += 2 if c == "\\" else 1
            quoted = quoted and c != "'"
            continue
        if c == "'":
            quoted = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    if quoted or depth:
        raise DefinitionError(where, f"unbalanced quotes or parentheses in {text!r}")
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _argument(text: str, where: str) -> Any:
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        # \' \{ \} \\ are escapes; an escaped brace is never a States.Format placeholder
        return re.sub(r"\\(.)", lambda m: _BRACES.get(m.group(1), m.group(1)), text[1:-1])
    if text.startswith("$"):
        return Path(text, where)
    if text.startswith("States."):
        return Intrinsic(text, where)
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text) if "." in text else int(text)
    raise DefinitionError(where, f"intrinsic argument {text!r} is not a string, number, path or call")


_BRACES = {"{": "\ue000", "}": "\ue001"}
_UNBRACE = str.maketrans({"\ue000": "{", "\ue001": "}"})


def _resolve(arg: Any, data: Any, context: Any, field: str) -> Any:
    if isinstance(arg, Path):
        return arg.get(context if arg.context else data, field)
    if isinstance(arg, Intrinsic):
        return arg.evaluate(data, context, field)
    return arg


def _format(values: list[Any]) -> str:
    template, args = values[0], values[1:]
    pieces = [p.translate(_UNBRACE) for p in template.split("{}")]
    if len(pieces) - 1 != len(args):
        raise StateError(INTRINSIC_FAILURE, f"States.Format: {len(pieces) - 1} placeholders, {len(args)} arguments")
    out = pieces[0]
    for arg, piece in zip(args, pieces[1:], strict=True):
        if isinstance(arg, (dict, list)):
            raise StateError(INTRINSIC_FAILURE, "States.Format: an argument is an object or array")
        out += (arg.translate(_UNBRACE) if isinstance(arg, str) else compact(arg)) + piece
    return out


def _math_add(values: list[Any]) -> int:
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise StateError(INTRINSIC_FAILURE, f"States.MathAdd: {compact(value)} is not an integer")
    return int(values[0]) + int(values[1])


class Template:
    """A Parameters / ResultSelector object: keys ending in ``.$`` take a path or an intrinsic
    call, other values are copied (nested objects processed the same way)."""

    def __init__(self, template: Any, where: str) -> None:
        if not isinstance(template, dict):
            raise DefinitionError(where, "must be a JSON object")
        self.where = where
        self.fields: list[tuple[str, Any]] = []
        for key, value in template.items():
            here = f"{where}.{key}"
            if key.endswith(".$"):
                if not isinstance(value, str):
                    raise DefinitionError(here, "a '.$' field takes a path or an intrinsic function (a string)")
                self.fields.append((key[:-2], Path(value, here) if value.startswith("$") else Intrinsic(value, here)))
            else:
                self.fields.append((key, _template_value(value, here)))

    def apply(self, data: Any, context: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.fields:
            if isinstance(value, (Path, Intrinsic)):
                out[key] = _resolve(value, data, context, f"{key}.$")
            else:
                out[key] = _apply_value(value, data, context)
        return out


def _template_value(value: Any, where: str) -> Any:
    """A static value of a template: objects (however deeply nested, in arrays too) are
    templates themselves ("If any field within the Payload Template (however deeply nested)
    has a name ending with the characters '.$'", the States Language)."""
    if isinstance(value, dict):
        return Template(value, where)
    if isinstance(value, list):
        return [_template_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return ("static", value)


def _apply_value(value: Any, data: Any, context: Any) -> Any:
    if isinstance(value, Template):
        return value.apply(data, context)
    if isinstance(value, list):
        return [_apply_value(v, data, context) for v in value]
    return json.loads(compact(value[1]))


# ---------------------------------------------------------------------- Choice rules

COMPARISONS = {
    "StringEquals": (str, lambda a, b: a == b),
    "NumericLessThanEquals": ((int, float), lambda a, b: a <= b),
    "NumericGreaterThanEquals": ((int, float), lambda a, b: a >= b),
    "BooleanEquals": (bool, lambda a, b: a == b),
}


# "...Path" comparators compare the Variable with the value at another path of the
# state's input (or the context object); a missing path is a runtime error, as for Variable.
PATH_COMPARISONS = {"StringEqualsPath": "StringEquals"}


class Rule:
    """A Choice rule: one comparison on ``Variable``, IsPresent, or And/Or/Not of rules."""

    def __init__(self, rule: Any, where: str, top: bool) -> None:
        if not isinstance(rule, dict):
            raise DefinitionError(where, "a Choice rule must be a JSON object")
        self.next = rule.get("Next")
        if top != ("Next" in rule):
            raise DefinitionError(where, "a top-level Choice rule needs Next; a nested one must not have it")
        ops = [k for k in rule if k not in ("Next", "Variable", "Comment")]
        if len(ops) != 1:
            raise DefinitionError(where, f"a Choice rule takes exactly one operator, found {ops or 'none'}")
        self.op = ops[0]
        self.value = rule[self.op]
        here = f"{where}.{self.op}"
        if self.op in ("And", "Or"):
            if not isinstance(self.value, list) or not self.value:
                raise DefinitionError(here, "takes a non-empty list of rules")
            self.value = [Rule(r, f"{here}[{i}]", False) for i, r in enumerate(self.value)]
        elif self.op == "Not":
            self.value = Rule(self.value, here, False)
        else:
            self._comparison(rule, where, here)

    def _comparison(self, rule: dict[str, Any], where: str, here: str) -> None:
        if self.op in PATH_COMPARISONS:
            if "Variable" not in rule:
                raise DefinitionError(where, f"{self.op} needs a Variable")
            self.variable = Path(rule["Variable"], f"{where}.Variable")
            self.value = Path(self.value, here)
            return
        if self.op not in COMPARISONS and self.op != "IsPresent":
            supported = ", ".join([*COMPARISONS, *PATH_COMPARISONS, "IsPresent", "And", "Or", "Not"])
            raise DefinitionError(here, f"Choice operator {self.op} is not supported (supported: {supported})")
        expected = bool if self.op == "IsPresent" else COMPARISONS[self.op][0]
        if isinstance(self.value, bool) and expected is not bool or not isinstance(self.value, expected):
            raise DefinitionError(here, f"{self.op} takes a {getattr(expected, '__name__', 'number')} value")
        if "Variable" not in rule:
            raise DefinitionError(where, f"{self.op} needs a Variable")
        self.variable = Path(rule["Variable"], f"{where}.Variable")

    def matches(self, data: Any, context: Any) -> bool:
        if self.op == "And":
            return all(r.matches(data, context) for r in self.value)
        if self.op == "Or":
            return any(r.matches(data, context) for r in self.value)
        if self.op == "Not":
            return not self.value.matches(data, context)
        document = context if self.variable.context else data
        if self.op == "IsPresent":
            return self.variable.present(document) == self.value
        if not self.variable.present(document):
            raise StateError(RUNTIME, f"Invalid path '{self.variable.text}': The choice state's "
                             "condition path references an invalid value.")
        actual = self.variable.get(document, "Variable")
        if self.op in PATH_COMPARISONS:
            return self._against_path(actual, data, context)
        kind, compare = COMPARISONS[self.op]
        if isinstance(actual, bool) != (kind is bool) or not isinstance(actual, kind):
            return False  # a value of another type never matches (no conversion)
        return compare(actual, self.value)

    def _against_path(self, actual: Any, data: Any, context: Any) -> bool:
        other = self.value
        document = context if other.context else data
        if not other.present(document):
            raise StateError(RUNTIME, f"Invalid path '{other.text}': The choice state's condition path "
                             "references an invalid value.")
        expected = other.get(document, self.op)
        kind, compare = COMPARISONS[PATH_COMPARISONS[self.op]]
        if any(isinstance(v, bool) != (kind is bool) or not isinstance(v, kind) for v in (actual, expected)):
            return False  # values of another type never match (no conversion)
        return compare(actual, expected)
