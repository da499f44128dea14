"""A subset of CloudWatch Logs Insights' classic query language, enough for every query
the generator renders (generator/plan/queries.py) and ``cutover query`` runs.

Commands: ``filter``, ``fields``/``display``, ``parse FIELD /regex/`` (named groups) or
``parse FIELD "glob * with *" as a, b``, ``stats AGG [as name], ... [by EXPR [as name], ...]``,
``sort KEY [asc|desc], ...``, ``limit N``. Expressions: strings, numbers, fields (a JSON
log line's fields, nested ones as ``a.b`` and ``list.0.x``; ``@timestamp``,
``@message``, ``@logStream``, ``@log``), ``= != < > <= >=``, ``in [...]``, ``not in``,
``and or not``, ``+ - * /``, ``like /re/``; aggregates ``count(*)``, ``count(f)``,
``sum avg min max``, ``pct(f, N)``, ``earliest latest``, ``count_distinct``; ``bin(5m)``.
Anything else is a MalformedQueryException, never a silent empty answer. There is no
``join`` and no ``eval`` (docs/aws-rules.md): they are refused too.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

AGGREGATES = {"count", "sum", "avg", "min", "max", "pct", "earliest", "latest", "count_distinct", "stddev"}
REGEX = re.compile(r"\s*(?P<re>/(?:[^/\\]|\\.)+/)")
TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')'
                   r'|(?P<num>\d+(?:\.\d+)?(?:ms|s|m|h|d)?)|(?P<name>[@A-Za-z_][@A-Za-z0-9_.\-]*(?<![.\-]))'
                   r'|(?P<op>!=|<=|>=|=|<|>|\(|\)|\[|\]|,|\+|-|\*|/))')
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


class QueryError(ValueError):
    pass


@dataclass
class Query:
    commands: list[tuple[str, Any]] = field(default_factory=list)
    limit: int | None = None


def _tokens(text: str, regex_at: int = -1) -> list[tuple[str, str]]:
    """Tokens; a /regex/ only after ``like`` or as token ``regex_at`` (parse's pattern)."""
    out: list[tuple[str, str]] = []
    pos, text = 0, text.strip()
    while pos < len(text):
        allowed = len(out) == regex_at or (out and out[-1][1].lower() == "like")
        match = (allowed and REGEX.match(text, pos)) or TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise QueryError(f"cannot read {text[pos:pos + 30]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str, regex_at: int = -1) -> None:
        self.tokens, self.pos, self.text = _tokens(text, regex_at), 0, text

    def peek(self, n: int = 0) -> tuple[str, str] | None:
        return self.tokens[self.pos + n] if self.pos + n < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1].lower() != value):
            raise QueryError(f"expected {value or 'more'} in {self.text!r}")
        self.pos += 1
        return token

    def word(self, *values: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "name" and token[1].lower() in values

    def expr(self) -> tuple:
        left = self.conj()
        while self.word("or"):
            self.take()
            left = ("or", left, self.conj())
        return left

    def conj(self) -> tuple:
        left = self.neg()
        while self.word("and"):
            self.take()
            left = ("and", left, self.neg())
        return left

    def neg(self) -> tuple:
        if self.word("not"):
            self.take()
            return ("not", self.neg())
        return self.compare()

    def compare(self) -> tuple:
        left = self.additive()
        token = self.peek()
        if token and token[1] in ("=", "!=", "<", ">", "<=", ">="):
            self.take()
            return ("cmp", token[1], left, self.additive())
        negate = self.word("not") and self.peek(1) is not None and self.peek(1)[1].lower() == "in"
        if negate:
            self.take()
        if self.word("in"):
            self.take()
            self.take("[")
            items = [self.additive()]
            while self.peek() and self.peek()[1] == ",":
                self.take()
                items.append(self.additive())
            self.take("]")
            node = ("in", left, items)
            return ("not", node) if negate else node
        if self.word("like"):
            self.take()
            kind, value = self.take()
            pattern = value[1:-1] if kind == "re" else re.escape(value[1:-1])
            return ("like", left, re.compile(pattern))
        return left

    def additive(self) -> tuple:
        left = self.term()
        while self.peek() and self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            left = ("arith", op, left, self.term())
        return left

    def term(self) -> tuple:
        left = self.unary()
        while self.peek() and self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            left = ("arith", op, left, self.unary())
        return left

    def unary(self) -> tuple:
        kind, value = self.take()
        if value == "-":
            return ("arith", "-", ("num", 0.0), self.unary())
        if value == "(":
            inner = self.expr()
            self.take(")")
            return inner
        if kind == "str":
            return ("str", json.loads('"' + value[1:-1].replace('"', '\\"') + '"') if value[0] == "'" else json.loads(value))
        if kind == "num":
            unit = re.sub(r"[\d.]", "", value)
            return ("num", float(value[: len(value) - len(unit)]) * UNITS.get(unit, 1)) if unit else ("num", float(value))
        if kind == "re":
            return ("re", re.compile(value[1:-1]))
        if kind == "name" and self.peek() and self.peek()[1] == "(":
            self.take("(")
            args = []
            if self.peek() and self.peek()[1] == "*":
                self.take()
                args.append(("star",))
            elif self.peek() and self.peek()[1] != ")":
                args.append(self.expr())
            while self.peek() and self.peek()[1] == ",":
                self.take()
                args.append(self.expr())
            self.take(")")
            return ("call", value.lower(), args)
        if kind == "name":
            return ("field", value)
        raise QueryError(f"unexpected {value!r} in {self.text!r}")

    def done(self) -> None:
        if self.peek() is not None:
            raise QueryError(f"unexpected {self.peek()[1]!r} in {self.text!r}")

    def named_list(self) -> list[tuple[tuple, str]]:
        """``expr [as name], ...``."""
        items = []
        while True:
            start = self.pos
            node = self.expr()
            name = " ".join(v for _, v in self.tokens[start:self.pos])
            if self.word("as"):
                self.take()
                name = self.take()[1]
            items.append((node, name))
            if not (self.peek() and self.peek()[1] == ","):
                return items
            self.take()


def _split(text: str) -> list[str]:
    """The commands: split on ``|`` outside quotes and regexes."""
    parts, current, quote = [], [], ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'" or ch == "/" and _regex_starts("".join(current)):
            quote = ch
        elif ch == "|":
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _regex_starts(before: str) -> bool:
    """Whether a ``/`` opens a regex: after ``like``, or as the pattern of ``parse``."""
    words = before.split()
    return bool(words) and (words[-1].lower() == "like" or words[0].lower() == "parse" and len(words) <= 2)


def parse(text: str) -> Query:
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    query = Query()
    for part in _split(body):
        command, _, rest = part.partition(" ")
        command = command.lower()
        handler = _COMMANDS.get(command)
        if handler is None:
            raise QueryError(f"{command!r} is not a command of the sandbox's Logs Insights "
                             f"(one of {', '.join(sorted(_COMMANDS))})")
        query.commands.append((command, handler(rest.strip(), query)))
    return query


def _filter(rest: str, query: Query) -> Any:
    p = _Parser(rest)
    node = p.expr()
    p.done()
    return node


def _fields(rest: str, query: Query) -> Any:
    p = _Parser(rest)
    items = p.named_list()
    p.done()
    return items


def _parse_command(rest: str, query: Query) -> Any:
    p = _Parser(rest, regex_at=0 if rest.startswith("/") else 1)
    source = p.take()[1] if p.peek() and p.peek()[0] == "name" else "@message"
    kind, pattern = p.take()
    if kind == "re":
        regex = re.compile(re.sub(r"\(\?<([A-Za-z_][A-Za-z0-9_]*)>", r"(?P<\1>", pattern[1:-1]))
        p.done()
        return source, regex, None
    if kind != "str":
        raise QueryError("parse takes a /regex/ or a \"glob\" pattern")
    p.take("as")
    names = [p.take()[1]]
    while p.peek() and p.peek()[1] == ",":
        p.take()
        names.append(p.take()[1])
    p.done()
    glob = re.compile(".*?".join(re.escape(piece) for piece in pattern[1:-1].split("*")).replace(".*?", "(.*?)")
                      + "$" if pattern[1:-1].endswith("*") is False else
                      "(.*?)".join(re.escape(piece) for piece in pattern[1:-1].split("*")) + "$")
    return source, glob, names


def _stats(rest: str, query: Query) -> Any:
    split = re.split(r"\s+by\s+", rest, maxsplit=1, flags=re.IGNORECASE)
    p = _Parser(split[0])
    aggregates = p.named_list()
    p.done()
    groups: list[tuple[tuple, str]] = []
    if len(split) > 1:
        q = _Parser(split[1])
        groups = q.named_list()
        q.done()
    return aggregates, groups


def _sort(rest: str, query: Query) -> Any:
    keys = []
    for piece in rest.split(","):
        words = piece.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise QueryError(f"sort takes KEY [asc|desc], not {piece.strip()!r}")
        keys.append((words[0], (words[1].lower() if len(words) == 2 else "desc") == "desc"))
    return keys


def _limit(rest: str, query: Query) -> Any:
    if not rest.isdigit() or not 1 <= int(rest) <= 10_000:
        raise QueryError(f"limit takes 1-10000, not {rest!r}")
    query.limit = int(rest)
    return int(rest)


_COMMANDS = {"filter": _filter, "fields": _fields, "display": _fields, "parse": _parse_command,
             "stats": _stats, "sort": _sort, "limit": _limit}


# --- running ----------------------------------------------------------------------------------

def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            _flatten(item, f"{prefix}.{n}", out)
    else:
        out[prefix] = value


def record(event: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    try:
        parsed = json.loads(event.message)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        _flatten(parsed, "", fields)
    fields.update({"@timestamp": event.timestamp, "@message": event.message, "@logStream": event.stream,
                   "@log": event.group})
    return fields


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    x, y = _number(a), _number(b)
    if x is None or y is None or isinstance(a, str) and isinstance(b, str):
        x, y = str(a).lower() if isinstance(a, bool) else str(a), str(b).lower() if isinstance(b, bool) else str(b)
    return {"=": x == y, "!=": x != y, "<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]


def value(node: tuple, row: dict[str, Any]) -> Any:
    kind = node[0]
    if kind in ("str", "num"):
        return node[1]
    if kind == "field":
        return row.get(node[1])
    if kind == "cmp":
        return _compare(node[1], value(node[2], row), value(node[3], row))
    if kind == "in":
        left = value(node[1], row)
        return any(_compare("=", left, value(item, row)) for item in node[2])
    if kind == "like":
        left = value(node[1], row)
        return left is not None and node[2].search(str(left)) is not None
    if kind == "not":
        return not value(node[1], row)
    if kind in ("and", "or"):
        a = bool(value(node[1], row))
        return (a and bool(value(node[2], row))) if kind == "and" else (a or bool(value(node[2], row)))
    if kind == "arith":
        return _arith(node[1], value(node[2], row), value(node[3], row))
    if kind == "call" and node[1] == "bin":
        width = node[2][0][1]
        return math.floor(row["@timestamp"] / width) * width
    if kind == "call" and node[1] in ("abs", "floor", "ceil"):
        x = _number(value(node[2][0], row))
        return None if x is None else {"abs": abs, "floor": math.floor, "ceil": math.ceil}[node[1]](x)
    raise QueryError(f"{node!r} cannot be evaluated per log event")


def _arith(op: str, a: Any, b: Any) -> float | None:
    x, y = _number(a), _number(b)
    if x is None or y is None:
        return None
    if op == "/":
        return None if y == 0 else x / y
    return {"+": x + y, "-": x - y, "*": x * y}[op]


def aggregate(node: tuple, rows: list[dict[str, Any]]) -> Any:
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "arith":
        return _arith(node[1], aggregate(node[2], rows), aggregate(node[3], rows))
    if kind != "call" or node[1] not in AGGREGATES:
        raise QueryError(f"stats takes aggregate functions ({', '.join(sorted(AGGREGATES))}), not {node!r}")
    name, args = node[1], node[2]
    if name == "count" and (not args or args[0][0] == "star"):
        return float(len(rows))
    values = [(row["@timestamp"], value(args[0], row)) for row in rows]
    present = [(t, v) for t, v in values if v is not None]
    if name == "count":
        return float(len(present))
    if name == "count_distinct":
        return float(len({str(v) for _, v in present}))
    if name in ("earliest", "latest"):
        if not present:
            return None
        found = (min if name == "earliest" else max)(present, key=lambda p: p[0])[1]
        return ("time", found) if args[0] == ("field", "@timestamp") else found
    numbers = sorted(x for _, v in present if (x := _number(v)) is not None)
    if not numbers:
        return None
    if name == "pct":
        rank = max(1, math.ceil(float(args[1][1]) / 100.0 * len(numbers)))
        return numbers[rank - 1]
    mean = sum(numbers) / len(numbers)
    return {"sum": sum(numbers), "avg": mean, "min": numbers[0], "max": numbers[-1],
            "stddev": math.sqrt(sum((x - mean) ** 2 for x in numbers) / len(numbers))}[name]


def run(query: Query, events: list[Any], to_wall: Any) -> tuple[list[dict[str, str]], int]:
    """The result rows (field -> text, in order) and how many events were scanned."""
    rows = [record(e) for e in events]
    selected: list[tuple[tuple, str]] | None = None
    aggregated = False
    for command, arg in query.commands:
        if command == "filter":
            rows = [r for r in rows if value(arg, r)]
        elif command == "parse":
            rows = [_parsed(r, *arg) for r in rows]
        elif command in ("fields", "display"):
            rows = [dict(r, **{name: value(node, r) for node, name in arg if node != ("field", name)}) for r in rows]
            selected = arg
        elif command == "stats":
            rows, selected, aggregated = _grouped(rows, *arg), None, True
        elif command == "sort":
            for key, descending in reversed(arg):
                rows.sort(key=lambda r, k=key: (r.get(k) is None, _sort_key(r.get(k))), reverse=descending)
        elif command == "limit":
            rows = rows[:arg]
    if not aggregated and not any(c == "sort" for c, _ in query.commands):
        rows.sort(key=lambda r: -r["@timestamp"])
    names = [name for _, name in selected] if selected else None
    return [_text(r, names, to_wall, aggregated) for r in rows], len(events)


def _parsed(row: dict[str, Any], source: str, regex: re.Pattern[str], names: list[str] | None) -> dict[str, Any]:
    text = row.get(source)
    if text is None:
        return row
    match = regex.search(str(text))
    if match is None:
        return row
    found = dict(zip(names, match.groups(), strict=False)) if names else match.groupdict()
    return dict(row, **{k: v for k, v in found.items() if v is not None})


def _grouped(rows: list[dict[str, Any]], aggregates: list, groups: list) -> list[dict[str, Any]]:
    buckets: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        key = tuple(json.dumps(value(node, row), default=str) for node, _ in groups)
        buckets.setdefault(key, []).append(row)
    out = []
    for members in buckets.values():
        result = {name: value(node, members[0]) for node, name in groups}
        for node, name in groups:
            if node[0] == "call" and node[1] == "bin":
                result[name] = ("bin", result[name])
        result.update({name: aggregate(node, members) for node, name in aggregates})
        out.append(result)
    return out


def _sort_key(v: Any) -> Any:
    if isinstance(v, tuple):
        return (0, v[1], "")
    x = _number(v)
    return (0, x, "") if x is not None else (1, 0.0, str(v))


def _text(row: dict[str, Any], names: list[str] | None, to_wall: Any, aggregated: bool) -> dict[str, str]:
    keys = names if names is not None else (list(row) if aggregated else ["@timestamp", "@message"])
    out = {}
    for key in keys:
        v = row.get(key)
        if v is None:
            continue
        if key == "@timestamp" or isinstance(v, tuple):
            seconds = v[1] if isinstance(v, tuple) else v
            out[key] = datetime.fromtimestamp(to_wall(seconds), tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        elif isinstance(v, bool):
            out[key] = str(v).lower()
        elif isinstance(v, float):
            out[key] = str(int(v)) if v.is_integer() else f"{v:.4f}".rstrip("0")
        else:
            out[key] = str(v)
    if not aggregated:
        out["@ptr"] = f"sandbox/{row.get('@logStream')}/{row.get('@timestamp')}"
    return out


def matches_pattern(pattern: str, message: str) -> bool:
    """A CloudWatch Logs filter pattern, in its simplest forms: empty (everything), terms
    that must all appear (``"quoted phrase"`` or bare words), or a JSON pattern
    ``{ $.key = "value" }`` / ``{ $.key = number }`` joined by ``&&``."""
    pattern = pattern.strip()
    if not pattern:
        return True
    if pattern.startswith("{") and pattern.endswith("}"):
        try:
            data: dict[str, Any] = {}
            _flatten(json.loads(message), "", data)
        except ValueError:
            return False
        for clause in pattern[1:-1].split("&&"):
            match = re.fullmatch(r'\s*\$\.([\w.]+)\s*(=|!=)\s*("?)([^"]*)\3\s*', clause)
            if match is None:
                raise ValueError(f"filter pattern clause {clause.strip()!r} is not supported by the sandbox")
            equal = str(data.get(match[1])).lower() == match[4].lower() or \
                (_number(data.get(match[1])) is not None and _number(data.get(match[1])) == _number(match[4]))
            if equal != (match[2] == "="):
                return False
        return True
    terms = re.findall(r'"([^"]*)"|(\S+)', pattern)
    return all((q or w) in message for q, w in terms)
