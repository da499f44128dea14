"""Every command that takes `--json` prints one JSON document on stdout, on success and on
error (docs/operations.md, JSON output). The commands come from the argparse tree, so a
new command with `--json` is covered the day it is added."""

from __future__ import annotations

import argparse
import json

import pytest

from cutover import cli
from cutover.cli import main
from cutover.ops import cli as ops_cli


def _choices(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    return dict(sub.choices) if sub else {}


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    """Every command by the words that name it: "status", and the actions of an operations
    command that has them ("controller start")."""
    out = {}
    for name, p in _choices(cli.parser()).items():
        actions = _choices(p) if name in ops_cli.COMMANDS else {}
        out.update({f"{name} {a}": q for a, q in actions.items()} if actions else {name: p})
    return out


JSON_COMMANDS = sorted(name for name, p in _subcommands().items() if "--json" in p._option_string_actions)


def _required(name: str) -> list[str]:
    """The least argv the command parses: each required positional or option with a value
    and one option of each required group."""
    p = _subcommands()[name]
    argv: list[str] = []
    for group in p._mutually_exclusive_groups:
        if group.required:
            action = group._group_actions[0]
            argv += [action.option_strings[0], *([] if action.nargs == 0 else ["x"])]
    for action in p._actions:
        if not action.option_strings and action.required:
            argv.append("x")
        elif action.option_strings and action.required:
            argv += [action.option_strings[0], "x"]
    return argv


def _document(out: str, code: int) -> dict:
    document = json.loads(out)  # one document, nothing else on stdout
    assert document["exitCode"] == code if "exitCode" in document else code in (0, 3, 4)
    if code == 2:
        error = document["error"]
        assert set(error) == {"message", "exitCode", "kind"} and error["exitCode"] == 2 and error["message"]
    return document


def test_the_tree_has_the_commands_the_docs_name():
    assert {"status", "ramp", "rollback", "deploy", "analyze", "traces", "cost", "controller start",
            "controller status", "controller stop", "approve", "reject"} <= set(JSON_COMMANDS)


@pytest.mark.parametrize("command", JSON_COMMANDS)
def test_a_usage_error_is_a_json_error(project, capsys, command):
    with pytest.raises(SystemExit) as exc:
        main(["--root", str(project), *command.split(), *_required(command), "--json", "--no-such-option"])
    captured = capsys.readouterr()
    assert exc.value.code == 2
    document = _document(captured.out, 2)
    assert document["error"]["kind"] == "usage" and "--no-such-option" in document["error"]["message"]
    assert "--no-such-option" in captured.err  # argparse's own usage line is still there


@pytest.mark.parametrize("command", JSON_COMMANDS)
def test_an_unknown_environment_is_a_json_error(project, aws_env, capsys, command):
    code = main(["--root", str(project), *command.split(), *_required(command), "--env", "nowhere", "--json"])
    captured = capsys.readouterr()
    assert code == 2
    document = _document(captured.out, 2)
    assert "nowhere" in document["error"]["message"] and document["command"] == command
    assert "nowhere" in captured.err


@pytest.mark.parametrize("command", JSON_COMMANDS)
def test_against_the_release_stdout_is_json_whatever_happens(project, release, capsys, command, fake_appconfig,
                                                             monkeypatch):
    """The applied release in moto: each command succeeds, finds something wrong, or
    refuses; stdout is one JSON document in every case."""
    monkeypatch.setattr("cutover.ops.ramp.plan_and_apply", lambda ctx: 0)
    code = main(["--root", str(project), *command.split(), *_required(command), "--json"], clients=release.clients())
    _document(capsys.readouterr().out, code)


@pytest.mark.parametrize("command", ["ramp --sync", "approve --reason x"])
def test_with_options_not_required_stdout_is_json_too(project, release, capsys, command, fake_appconfig):
    """The options the least argv leaves out, with the controller's state machine in moto."""
    code = main(["--root", str(project), *command.split(), "--json"], clients=release.clients())
    document = _document(capsys.readouterr().out, code)
    assert document["command"] == command.split(" --")[0]
