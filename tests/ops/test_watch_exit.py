"""`cutover monitor --watch` ends with an exit code, not a Result: run() returns it as is
(it crashed with AttributeError on Ctrl-C, after the screens it had shown)."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

from cutover.ops import cli as ops_cli


class _Clients:
    region = "us-east-1"
    session = SimpleNamespace(region_name="us-east-1")

    def require_credentials(self) -> None:
        return None


def test_a_command_that_printed_as_it_went_exits_with_its_code(monkeypatch, tmp_path: Path, capsys):
    monkeypatch.setattr("cutover.ops.names.load", lambda root, env: (SimpleNamespace(region="us-east-1"), None, None))
    monkeypatch.setattr(ops_cli, "_dispatch", lambda args, ctx: 0)
    args = argparse.Namespace(command="monitor", env="production", json=False, watch=True)
    assert ops_cli.run(args, tmp_path, _Clients()) == 0
    assert capsys.readouterr().err == ""
