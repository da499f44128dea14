"""A spec's comparison paths must name places the read model's answers can hold.

Tables of paths against the example's read model and against schemas that use each
JSON Schema keyword the check follows; then the same refusal through the loader (file,
line, YAML path) and through the CLI (exit 2, nothing written).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cutover.generator.spec.comparison_paths import EXAMPLE_READ_MODEL, PATH_FIELDS, ReadModel
from cutover.generator.spec.errors import SpecInvalid
from cutover.generator.spec.loader import load_spec

from cutover import cli

BASE = Path(__file__).parent.parent / "data" / "base.release.yaml"
EXAMPLE = ReadModel.load(EXAMPLE_READ_MODEL)
HERE = "example/user-profile/read-model.schema.json"


def test_every_path_valued_comparison_rule_is_checked():
    # a new path-valued rule in ComparisonRules is picked up by its type; this pins the set
    assert set(PATH_FIELDS) == {"ignore_paths", "unordered_lists", "redact_paths"}


VALID = ["$", "$.email", "$.displayName", "$.userId", "$.plan", "$.createdAt", "$.items",
         "$.items[*]", "$.items[*].name", "$.items[*].price", "$.items[*].sku",
         "$.items[*].quantity"]


@pytest.mark.parametrize("path", VALID)
def test_a_path_into_the_example_read_model_is_accepted(path):
    assert EXAMPLE.why_not(path) is None


INVALID = [
    # (path, what follows "'<path>'")
    ("$.profile.email", (f" cannot exist in the read model ({HERE}): no .profile after $; allowed "
     "after $: .createdAt, .displayName, .email, .items, .plan, .userId")),
    ("$.meta.requestId", (f" cannot exist in the read model ({HERE}): no .meta after $; allowed "
     "after $: .createdAt, .displayName, .email, .items, .plan, .userId")),
    ("$.Email", (f" cannot exist in the read model ({HERE}): no .Email after $; allowed "
     "after $: .createdAt, .displayName, .email, .items, .plan, .userId")),
    ("$.items.name", (f" cannot exist in the read model ({HERE}): no .name after $.items; allowed "
     "after $.items: [*]")),
    ("$.items[*].etag", (f" cannot exist in the read model ({HERE}): no .etag after $.items[*]; "
     "allowed after $.items[*]: .name, .price, .quantity, .sku")),
    ("$.email.domain", (f" cannot exist in the read model ({HERE}): $.email is a string: no path "
     "goes below it")),
    ("$.email[*]", (f" cannot exist in the read model ({HERE}): $.email is a string: no path goes "
     "below it")),
    ("$[*]", (f" cannot exist in the read model ({HERE}): no [*] after $; allowed after $: "
     ".createdAt, .displayName, .email, .items, .plan, .userId")),
    ("$.plan.tier", (f" cannot exist in the read model ({HERE}): $.plan is a string: no path goes "
     "below it")),
    ("$.items[0].name", (": the comparator cannot use it; a path is $ followed by .key and [*] "
     "steps ([*] is any element; a single index [N] is not supported)")),
]


@pytest.mark.parametrize("path,reason", INVALID, ids=[c[0] for c in INVALID])
def test_a_path_that_names_nothing_is_refused_with_what_is_allowed(path, reason):
    assert EXAMPLE.why_not(path) == f"{path!r}{reason}"


@pytest.mark.parametrize("path,ok", [("$.items", True), ("$.email", False), ("$", False),
                                     ("$.items[*]", False)])
def test_unordered_lists_must_name_arrays(path, ok):
    why = EXAMPLE.why_not(path, arrays_only=True)
    assert (why is None) is ok
    if not ok:
        assert why.endswith("; unordered_lists names arrays")


def test_the_example_read_model_marks_the_email_and_the_name_personal():
    assert EXAMPLE.personal == [("displayName",), ("email",)]


# -- the JSON Schema keywords the walk follows ----------------------------------------------

ITEM = {"type": "object", "properties": {"id": {"type": "string"}}, "additionalProperties": False}
SCHEMAS = {
    "additional-schema": {"type": "object", "additionalProperties": {"type": "object", "properties": {
        "n": {"type": "number"}}, "additionalProperties": False}},
    "additional-default": {"type": "object", "properties": {"a": {"type": "string"}}},
    "pattern": {"type": "object", "patternProperties": {"^x-": {"type": "array", "items": ITEM}},
                "additionalProperties": False},
    "ref": {"type": "object", "properties": {"list": {"type": "array", "items": {"$ref": "#/$defs/item"}},
                                              "self": {"$ref": "#"}},
            "additionalProperties": False, "$defs": {"item": ITEM}},
    "any-of": {"type": "object", "properties": {"v": {"anyOf": [
        {"type": "string"}, {"type": "object", "properties": {"k": {}}, "additionalProperties": False}]}},
        "additionalProperties": False},
    "all-of": {"allOf": [{"type": "object", "properties": {"a": {}, "b": {}}},
                         {"properties": {"a": {}}, "additionalProperties": False}]},
    "prefix-items": {"type": "array", "prefixItems": [{"type": "string"}, ITEM], "items": False},
    "nullable": {"type": "object", "properties": {"o": {"type": ["object", "null"], "properties": {
        "z": {}}, "additionalProperties": False}}, "additionalProperties": False},
    "boolean": {"type": "object", "properties": {"open": True, "shut": False},
                "additionalProperties": False},
    "const": {"type": "object", "properties": {"c": {"const": {"k": 1}}, "e": {"enum": ["a", "b"]}},
              "additionalProperties": False},
}
KEYWORD_CASES = [
    # (schema, path, exists)
    ("additional-schema", "$.anything.n", True),
    ("additional-schema", "$.anything.m", False),
    ("additional-schema", "$.anything[*]", False),
    ("additional-default", "$.b.c[*].d", True),
    ("additional-default", "$.a.b", False),
    ("pattern", "$.x-tags[*].id", True),
    ("pattern", "$.tags", False),
    ("pattern", "$.x-tags.id", False),
    ("ref", "$.list[*].id", True),
    ("ref", "$.list[*].other", False),
    ("ref", "$.self.self.list[*].id", True),
    ("ref", "$.self.nothing", False),
    ("any-of", "$.v", True),
    ("any-of", "$.v.k", True),
    ("any-of", "$.v.j", False),
    ("all-of", "$.a", True),
    ("all-of", "$.b", False),
    ("prefix-items", "$[*].id", True),
    ("prefix-items", "$[*].other", False),
    ("nullable", "$.o.z", True),
    ("nullable", "$.o.y", False),
    ("boolean", "$.open.any[*].thing", True),
    ("boolean", "$.shut", False),
    ("const", "$.c.k", True),
    ("const", "$.e.k", False),
]


@pytest.mark.parametrize("name,path,exists", KEYWORD_CASES,
                         ids=[f"{c[0]}:{c[1]}" for c in KEYWORD_CASES])
def test_each_schema_keyword_decides_where_a_value_can_be(name, path, exists):
    model = ReadModel(SCHEMAS[name], name)
    assert (model.why_not(path) is None) is exists


def test_an_object_keyed_by_anything_is_described_as_such():
    model = ReadModel(SCHEMAS["additional-schema"], "m.json")
    assert model.why_not("$[*]") == ("'$[*]' cannot exist in the read model (m.json): no [*] after "
                                     "$; allowed after $: .<any key>")


def test_personal_fields_are_found_through_references_and_items():
    schema = {"type": "object", "properties": {
        "contacts": {"type": "array", "items": {"$ref": "#/$defs/contact"}},
        "name": {"type": "string", "x-cutover-personal": True}},
        "$defs": {"contact": {"type": "object", "properties": {
            "phone": {"type": "string", "x-cutover-personal": True}}}}}
    assert ReadModel(schema, "m").personal == [("contacts", "*", "phone"), ("name",)]


# -- through the loader: file, line, YAML path --------------------------------------------


def _spec(tmp_path: Path, *edits: tuple[str, str], name: str = "case.release.yaml") -> Path:
    text = BASE.read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    spec = tmp_path / name
    spec.write_text(text)
    return spec


def _errors(spec: Path) -> list[str]:
    with pytest.raises(SpecInvalid) as exc:
        load_spec(spec)
    return [e.render(spec).removeprefix(f"{spec}:") for e in exc.value.errors]


REDACT = '        redact_paths: ["$.email", "$.displayName"]'


def test_the_old_shipped_paths_are_refused_at_their_lines(tmp_path):
    spec = _spec(tmp_path, ('        ignore_paths: []', '        ignore_paths: ["$.meta.requestId"]'),
                 (REDACT, '        redact_paths: ["$.profile.email", "$.profile.phone"]'))
    allowed = "allowed after $: .createdAt, .displayName, .email, .items, .plan, .userId"
    personal = (f"it is personal in the read model ({HERE}, x-cutover-personal), and unredacted "
                "it travels in clear in every shadow event and dead-letter message")
    assert _errors(spec) == [
        (f"52: read_paths[0].shadow.compare.ignore_paths[0]: '$.meta.requestId' cannot exist in the "
        f"read model ({HERE}): no .meta after $; {allowed}"),
        f"56: read_paths[0].shadow.compare.redact_paths: add $.displayName: {personal}",
        f"56: read_paths[0].shadow.compare.redact_paths: add $.email: {personal}",
        (f"56: read_paths[0].shadow.compare.redact_paths[0]: '$.profile.email' cannot exist in the "
        f"read model ({HERE}): no .profile after $; {allowed}"),
        (f"56: read_paths[0].shadow.compare.redact_paths[1]: '$.profile.phone' cannot exist in the "
        f"read model ({HERE}): no .profile after $; {allowed}"),
    ]


def test_an_unordered_list_that_is_not_an_array_is_refused(tmp_path):
    spec = _spec(tmp_path, ('        unordered_lists: ["$.items"]', '        unordered_lists: ["$.plan"]'))
    assert _errors(spec) == [
        (f"55: read_paths[0].shadow.compare.unordered_lists[0]: '$.plan' is a string in the read "
        f"model ({HERE}); unordered_lists names arrays")]


def test_an_ignored_personal_field_must_still_be_redacted(tmp_path):
    # ignoring skips the comparison only: the value would still travel in the event
    spec = _spec(tmp_path, ('        ignore_paths: []', '        ignore_paths: ["$.email"]'))
    assert load_spec(spec).read_paths[0].shadow.compare.ignore_paths == ["$.email"]
    spec = _spec(tmp_path, ('        ignore_paths: []', '        ignore_paths: ["$.email"]'),
                 (REDACT, '        redact_paths: ["$.displayName"]'))
    [error] = _errors(spec)
    assert error.startswith("56: read_paths[0].shadow.compare.redact_paths: add $.email: ")


def test_a_redact_path_above_a_personal_field_covers_it(tmp_path):
    spec = _spec(tmp_path, (REDACT, '        redact_paths: ["$"]'))
    assert load_spec(spec).read_paths[0].shadow.compare.redact_paths == ["$"]


def test_a_spec_names_its_own_read_model_relative_to_itself(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "feed.json").write_text(json.dumps({
        "type": "object", "additionalProperties": False, "properties": {"posts": {
            "type": "array", "items": {
                "type": "object", "properties": {"author": {"x-cutover-personal": True}}}}}}))
    spec = _spec(tmp_path, ("    database:", "    read_model: models/feed.json\n    database:"),
                 (REDACT, '        redact_paths: ["$.posts[*].author"]'),
                 ('        unordered_lists: ["$.items"]', '        unordered_lists: ["$.posts"]'))
    assert load_spec(spec).read_paths[0].read_model == "models/feed.json"
    spec = _spec(tmp_path, ("    database:", "    read_model: models/feed.json\n    database:"))
    errors = _errors(spec)
    line = spec.read_text().splitlines().index(REDACT) + 1
    assert (f"{line}: read_paths[0].shadow.compare.redact_paths: add $.posts[*].author: it "
                         f"is personal in the read model ({tmp_path / 'models' / 'feed.json'}, "
                         "x-cutover-personal), and unredacted it travels in clear in every shadow "
                         "event and dead-letter message") in errors
    assert len(errors) == 4  # and the three example paths it does not have


@pytest.mark.parametrize("content,message", [
    (None, "cannot read the read model {file}: No such file or directory"),
    ("{not json", ("the read model {file} is not JSON: Expecting property name enclosed in double "
     "quotes: line 1 column 2 (char 1)")),
    ('{"type": "thing"}', ("the read model {file} is not a JSON Schema: 'thing' is not valid under "
     "any of the given schemas")),
    ('{"properties": {"a": {"$ref": "other.json#/a"}}}', ("{file}: only local references ('#/...') "
     "are supported, not 'other.json#/a'")),
    ('{"properties": {"a": {"$ref": "#/$defs/none"}}}', ("{file}: the reference '#/$defs/none' "
     "names nothing")),
    ("5", "the read model {file} is not a JSON Schema: a schema is an object or a boolean, not int"),
    ('["a"]', ("the read model {file} is not a JSON Schema: a schema is an object or a boolean, "
     "not list")),
    ('{"patternProperties": {"(": {}}}', ("the read model {file} is not a JSON Schema: '(' is "
     "not a 'regex'")),
])
def test_a_read_model_that_cannot_be_used_is_a_located_error(tmp_path, content, message):
    model = tmp_path / "model.json"
    if content is not None:
        model.write_text(content)
    spec = _spec(tmp_path, ("    database:", "    read_model: model.json\n    database:"))
    line = spec.read_text().splitlines().index("    read_model: model.json") + 1
    assert _errors(spec) == [f"{line}: read_paths[0].read_model: {message.format(file=model)}"]


def test_a_read_model_edited_between_two_loads_is_read_again(tmp_path):
    model = tmp_path / "m.json"
    model.write_text('{"type": "object", "properties": {"a": {}}, "additionalProperties": false}')
    assert ReadModel.load(model).why_not("$.b") is not None
    model.write_text('{"type": "object", "properties": {"a": {}, "b": {}}, '
                     '"additionalProperties": false}')
    assert ReadModel.load(model).why_not("$.b") is None


def test_the_cli_refuses_a_path_that_names_nothing_and_writes_nothing(project, capsys):
    spec = project / "config" / "production.release.yaml"
    spec.write_text(spec.read_text().replace('redact_paths: ["$.email", "$.displayName"]',
                                             'redact_paths: ["$.email", "$.displayName", "$.phone"]'))
    assert cli.main(["--root", str(project), "render", "--all"]) == 2
    err = capsys.readouterr().err
    assert "config/production.release.yaml: 1 error in the release spec; nothing was written" in err
    line = spec.read_text().splitlines().index(
        '        redact_paths: ["$.email", "$.displayName", "$.phone"]') + 1
    assert (f"config/production.release.yaml:{line}: read_paths[0].shadow.compare.redact_paths[2]: "
            f"'$.phone' cannot exist in the read model ({HERE}): no .phone after $; allowed after "
            "$: .createdAt, .displayName, .email, .items, .plan, .userId") in err
    assert not (project / "terraform" / "envs").exists()


ANSWER = {"userId": "user-7", "displayName": "Ada Lovelace", "email": "user-1@example.com",
          "plan": "pro", "createdAt": "2021-03-04T05:06:07Z",
          "items": [{"sku": "SKU-1", "name": "Lamp", "price": 12.5, "quantity": 2}]}


@pytest.mark.parametrize(("answer", "broken"), [
    (ANSWER, []),
    ({**ANSWER, "userId": 7}, ["$.userId: 7 is not of type 'string'"]),
    ({**ANSWER, "items": [{**ANSWER["items"][0], "price": float("nan")}]},
     ["the answer holds NaN or Infinity, which are not JSON"]),
    ({**ANSWER, "passwordHash": "x"}, ["$: Additional properties are not allowed ('passwordHash' was unexpected)"]),
])
def test_an_answer_is_checked_against_the_read_model_as_operations_preflight_does(answer, broken):
    assert EXAMPLE.violations(answer) == broken
