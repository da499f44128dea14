"""`cutover status` against moto (Lambda, CloudWatch, CodeDeploy) and a stubbed AppConfig."""

from __future__ import annotations

import json

from generator.cli import main
from tests.ops.conftest import deployment, expect_deployments, expect_document, expect_resolve, flags_with


def _status(project, em, capsys) -> tuple[int, dict]:
    code = main(["--root", str(project), "status", "--env", "production", "--json"], clients=em.clients())
    return code, json.loads(capsys.readouterr().out)


def test_status_without_drift(project, release, names, capsys):
    stub = release.stub("appconfig")
    expect_resolve(stub, names)
    expect_deployments(stub, deployment(3, "COMPLETE", 7))
    expect_document(stub, 7, flags_with(names, 1))
    code, out = _status(project, release, capsys)
    assert out["drift"] == []
    assert code == 0
    assert out["flags"]["canaryPercent"] == {"user-read": 1.0}
    assert {a["function"]: a["version"] for a in out["aliases"]} == {"huntaze-mock-read": "1", "huntaze-prisma-read": "1"}
    assert out["alarms"][names.rollback_alarm] in ("OK", "INSUFFICIENT_DATA")
