"""`cutover doctor --env E`: what the operations commands need from AWS, checked before
they need it: the region, the endpoint, who the caller is (sts:GetCallerIdentity), and
the permissions of docs/operations.md simulated for the caller
(iam:SimulatePrincipalPolicy) when the caller may use it; otherwise it says that it
could not check them."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import botocore.exceptions

from cutover.ops import permissions
from cutover.ops.aws import Clients, describe, error_code

ASSUMED = re.compile(r"^arn:(?P<part>[^:]+):sts::(?P<account>\d+):assumed-role/(?P<role>[^/]+)/.+$")


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join([*self.lines, *(f"WARNING: {w}" for w in self.warnings),
                          *(f"PROBLEM: {p}" for p in self.problems)])


def principal(arn: str, clients: Clients) -> str:
    """The IAM principal a caller ARN stands for: an assumed role's session is its role
    (with the role's path, when iam:GetRole answers)."""
    match = ASSUMED.match(arn)
    if match is None:
        return arn
    try:
        return clients("iam").get_role(RoleName=match["role"])["Role"]["Arn"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
        return f"arn:{match['part']}:iam::{match['account']}:role/{match['role']}"


def simulate(clients: Clients, arn: str, actions: list[str]) -> dict[str, str]:
    """action -> EvalDecision ('allowed', 'implicitDeny', 'explicitDeny')."""
    iam, decisions, marker = clients("iam"), {}, None
    while True:
        answer = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=actions,
                                               **({"Marker": marker} if marker else {}))
        decisions |= {r["EvalActionName"]: r["EvalDecision"] for r in answer.get("EvaluationResults", [])}
        marker = answer.get("Marker") if answer.get("IsTruncated") else None
        if not marker:
            return decisions


def _where(clients: Clients, region: str | None, report: Report) -> None:
    source = "release.region" if clients.region else "AWS_REGION / the profile"
    region = region or clients.session.region_name
    if not region:
        report.problems.append("no AWS region: set release.region in the spec, or AWS_REGION")
        return
    endpoint = clients.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or clients("sts").meta.endpoint_url
    report.lines += [f"region:       {region} ({source})", f"endpoint:     {endpoint}"]


def _permissions(clients: Clients, arn: str, report: Report) -> None:
    actions = list(dict.fromkeys([*permissions.READ_ONLY, *permissions.WRITING]))
    try:
        decisions = simulate(clients, principal(arn, clients), actions)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        why = error_code(exc) or type(exc).__name__
        report.warnings.append(f"could not check the permissions ({why}: the caller may not use "
                               f"iam:SimulatePrincipalPolicy); compare the role with docs/operations.md, Permissions")
        return
    denied = [a for a in actions if decisions.get(a, "implicitDeny") != "allowed"]
    report.lines.append(f"permissions:  {len(actions) - len(denied)} of {len(actions)} allowed (simulated)")
    read = [a for a in denied if a in permissions.READ_ONLY]
    if read:
        report.problems.append(f"denied (every read-only command needs them): {', '.join(read)} — grant them to "
                               f"the role you run cutover with (docs/operations.md, Permissions)")
    for action in (a for a in denied if a not in permissions.READ_ONLY):
        report.warnings.append(f"denied: {action} (needed by: {permissions.WRITING[action]})")


def check(clients: Clients, region: str | None) -> Report:
    report = Report()
    _where(clients, region, report)
    if report.problems:
        return report
    try:
        identity = clients("sts").get_caller_identity()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        report.problems.append(describe(exc, "find who you are (sts:GetCallerIdentity)") or f"AWS: {exc}")
        return report
    report.lines.append(f"caller:       {identity['Arn']} (account {identity['Account']})")
    _permissions(clients, identity["Arn"], report)
    return report
