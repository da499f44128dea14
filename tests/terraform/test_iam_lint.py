"""Every IAM policy the project generates passes parliament (AWS's action and resource
database, offline): no unknown action, no action granted on a resource type it does not
take (list actions need "*").

The policies are those Terraform renders for the production release: an emulator plan
after applying what the emulator implements, read from `terraform show -json`. Values
that only exist after an apply the emulator cannot do (the AppConfig environment, the
function aliases, the guard's strategy) are unknown in the plan; each is replaced by an
ARN of the kind that output holds, listed below per statement, so it is checked too.
"""

from __future__ import annotations

import json

import pytest

parliament = pytest.importorskip("parliament")

ACCOUNT = "123456789012"
APP = f"arn:aws:appconfig:us-east-1:{ACCOUNT}:application/abc1234"
ALIAS = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:huntaze-prisma-read:live"
CONTROLLER_FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:huntaze-prisma-migration-production-controller"
# Sid -> the ARN each unknown element of its resources will hold, in order.
UNKNOWN_RESOURCES = {
    "InvokeCandidateAliasOnly": [ALIAS],
    "ReadFeatureFlags": [f"{APP}/environment/def5678/configuration/ghi9012"],
    "SeeFlagDeployments": [f"{APP}/environment/def5678"],
    "StopOtherFlagDeployments": [f"{APP}/environment/def5678/deployment/*"],
    "ReadDeployedFlags": [f"{APP}/configurationprofile/ghi9012/hostedconfigurationversion/*"],
    "WriteCanaryOffFlags": [f"{APP}/configurationprofile/ghi9012"],
    "DeployCanaryOffFlags": [f"{APP}/environment/def5678", f"{APP}/configurationprofile/ghi9012",
                             f"arn:aws:appconfig:us-east-1:{ACCOUNT}:deploymentstrategy/jkl3456"],
    "ReadRollbackAlarms": [f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:huntaze-prisma-migration-production-rollback"],
    "PruneUndeployedFlagVersions": [APP, f"{APP}/*"],
    # the controller function and its state machine's role
    "ReadFlagDeployments": [f"{APP}/environment/def5678/deployment/*"],
    "FindKeptFlagVersions": [f"{APP}/configurationprofile/ghi9012"],
    "ReadKeptFlagVersions": [f"{APP}/configurationprofile/ghi9012/hostedconfigurationversion/*"],
    "InvokeControllerFunction": [CONTROLLER_FUNCTION, f"{CONTROLLER_FUNCTION}:*"],
    "DeployKeptFlagVersions": [f"{APP}/environment/def5678", f"{APP}/configurationprofile/ghi9012",
                               f"arn:aws:appconfig:us-east-1:{ACCOUNT}:deploymentstrategy/mno7890"],
}


def _statements(after: dict, unknown: dict) -> list[dict]:
    out = []
    for i, st in enumerate(after.get("statement") or []):
        flags = ((unknown.get("statement") or [{}] * (i + 1))[i] or {}).get("resources")
        resources = list(st.get("resources") or [])
        sid = st.get("sid") or ""
        if flags is True:  # the whole list is unknown
            resources = list(UNKNOWN_RESOURCES.get(sid, ["UNKNOWN"]))
        elif isinstance(flags, list) and any(flags):
            samples = iter(UNKNOWN_RESOURCES.get(sid, []))
            resources = [next(samples, "UNKNOWN") if unknown_at else r for r, unknown_at in zip(resources, flags)]
        assert "UNKNOWN" not in resources, f"{sid}: add the ARN its unknown resource will hold"
        statement = {"Sid": st.get("sid") or "", "Effect": st.get("effect") or "Allow",
                     "Action": st.get("actions") or [], "Resource": resources}
        if st.get("principals"):
            continue  # a trust or resource policy: not an identity policy
        out.append(statement)
    return out


def _policy_documents(show: dict) -> dict[str, list[dict]]:
    docs: dict[str, list[dict]] = {}
    for change in show["resource_changes"]:
        if change["type"] == "aws_iam_policy_document" and change["mode"] == "data":
            docs[change["address"]] = _statements(change["change"]["after"] or {},
                                                  change["change"]["after_unknown"] or {})

    def walk(module: dict) -> None:
        for r in module.get("resources", []):
            if r["type"] == "aws_iam_policy_document" and r["mode"] == "data" and r["address"] not in docs:
                docs[r["address"]] = _statements(r["values"], {})
        for child in module.get("child_modules", []):
            walk(child)

    walk(show.get("prior_state", {}).get("values", {}).get("root_module", {}))
    return {a: s for a, s in docs.items() if s}


@pytest.fixture(scope="module")
def production_policies(applied_release) -> dict[str, list[dict]]:
    """The policies of the plan made after applying what the emulator implements
    (tests/terraform/applied.py: the roles, so that their ARNs are known)."""
    return _policy_documents(applied_release.shown)


def test_the_plan_holds_the_policies_of_every_role(production_policies):
    roles = {a.split(".data.")[0] for a in production_policies}
    for module in ("module.user_read_control", "module.user_read_candidate", "module.cleanup", "module.guard",
                   "module.code_deploy", "module.deploy_probe", "module.controller_function", "module.controller"):
        assert module in roles, f"no policy of {module} in the plan: {sorted(roles)}"


def test_every_generated_policy_passes_parliament(production_policies):
    problems = []
    for address, statements in sorted(production_policies.items()):
        policy = json.dumps({"Version": "2012-10-17", "Statement": statements})
        for finding in parliament.analyze_policy_string(policy).findings:
            if finding.issue in ("RESOURCE_MISMATCH", "UNKNOWN_ACTION", "UNKNOWN_PREFIX", "UNKNOWN_OPERATOR",
                                 "MALFORMED", "INVALID_ARN"):
                problems.append(f"{address}: {finding.issue} {finding.detail}")
    assert problems == []


def test_parliament_flags_a_list_action_scoped_to_one_arn():
    # a bug once found on the cleanup role: this is what the test above catches
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["appconfig:ListApplications"], "Resource": [APP]}]})
    assert [f.issue for f in parliament.analyze_policy_string(policy).findings] == ["RESOURCE_MISMATCH"]


def test_list_actions_are_granted_on_star_in_the_rendered_policies(production_policies):
    cleanup = [s for a, sts in production_policies.items() if a.startswith("module.cleanup.") for s in sts]
    (find,) = [s for s in cleanup if "appconfig:ListApplications" in s["Action"]]
    assert find["Resource"] == ["*"]
    guard = {s["Sid"]: s for a, sts in production_policies.items() if a.startswith("module.guard.") for s in sts}
    assert guard["DeployCanaryOffFlags"]["Resource"][2].endswith(":deploymentstrategy/jkl3456")
    assert guard["ReadAlarmStates"] == {"Sid": "ReadAlarmStates", "Effect": "Allow",
                                        "Action": ["cloudwatch:DescribeAlarms"], "Resource": ["*"]}
    assert guard["StopOtherFlagDeployments"]["Action"] == ["appconfig:GetDeployment", "appconfig:StopDeployment"]


def test_the_controller_deploys_only_through_its_state_machine(production_policies):
    """The function reads and notifies; only the state machine's role may StartDeployment,
    on the environment, the profile and the strategy (CONTROLLER.md's IAM)."""
    def actions(prefix):
        return {a for addr, sts in production_policies.items() if addr.startswith(prefix)
                for s in sts for a in s["Action"]}

    assert "appconfig:StartDeployment" not in actions("module.controller_function.")
    machine = {s["Sid"]: s for a, sts in production_policies.items() if a.startswith("module.controller.")
               for s in sts}
    assert machine["DeployKeptFlagVersions"]["Action"] == ["appconfig:StartDeployment"]
    assert sorted(machine["InvokeControllerFunction"]["Resource"]) == [CONTROLLER_FUNCTION, f"{CONTROLLER_FUNCTION}:*"]
    function = {s["Sid"]: s for a, sts in production_policies.items() if a.startswith("module.controller_function.")
                for s in sts}
    assert function["ReadAlarmStates"]["Resource"] == ["*"]
    assert sorted(function["SeeOtherExecutions"]["Resource"]) == [
        f"arn:aws:states:us-east-1:{ACCOUNT}:mapRun:huntaze-prisma-migration-production-controller/*:*",
        f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:huntaze-prisma-migration-production-controller"]


def test_the_controller_schedule_role_may_only_start_its_state_machine():
    """The schedule's role (preview renders one; production starts by hand): states:StartExecution
    on the state machine, and the release key only for that state machine's encryption
    context; parliament accepts both for those ARNs."""
    import tf_hcl as hcl
    from tf_layout import MODULES_DIR

    (doc,) = [b for t, n, b in hcl.blocks(hcl.load(MODULES_DIR / "controller" / "main.tf"), "data")
              if t == "aws_iam_policy_document" and n == "schedule"]
    start, key = doc["statement"]
    assert (start["actions"], start["resources"]) == (["states:StartExecution"], ["${local.state_machine_arn}"])
    assert key["actions"] == ["kms:GenerateDataKey", "kms:Decrypt"] and key["resources"] == ["${var.kms_key_arn}"]
    [condition] = key["condition"]
    assert (condition["variable"], condition["values"]) == ("kms:EncryptionContext:aws:states:stateMachineArn",
                                                            ["${local.state_machine_arn}"])
    arn = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:huntaze-prisma-migration-preview-controller"
    key_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": start["actions"], "Resource": [arn]},
        {"Effect": "Allow", "Action": key["actions"], "Resource": [key_arn],
         "Condition": {"StringEquals": {condition["variable"]: arn}}}]})
    assert parliament.analyze_policy_string(policy).findings == []
