"""The production release against the local AWS emulator: a whole plan, then no drift.

`make plan` without credentials plans the whole release against moto's server. Here
the resources the emulator implements are applied for real and planned again: the
second plan must be empty for them (no perpetual diff from the modules). The emulator
does not implement everything (see SUPPORTED), so the rest stays out of the apply.
"""

from __future__ import annotations

import io
import shutil

import pytest
from applied import SUPPORTED
from cutover.generator.terraform.emulator import LocalAWS, prepare_backend
from cutover.generator.terraform.run import emulator_backend, plan_environment, with_emulator
from cutover.generator.terraform.wrapper import Terraform, find_terraform
from cutover.generator.workspace import Layout, load_plan
from tf_layout import ENVS_DIR, PLUGIN_MIRROR, REPO_ROOT

pytestmark = [pytest.mark.terraform, pytest.mark.moto]

# What the emulator implements faithfully (tests/terraform/applied.py SUPPORTED). Left out,
# with the reason:
# - the Lambda functions (and what hangs off them: aliases, event-invoke configs, the
#   schedule): moto's GetFunction returns no DeadLetterConfig and no LoggingConfig, so
#   every refresh would show a diff that real AWS does not;
# - the AppConfig configuration profile: moto does not return its KmsKeyIdentifier;
# - AppConfig environments and deployments, composite alarms and query definitions, and
#   everything that depends on them (the dashboard names the composite alarm): not
#   implemented by the emulator.


@pytest.fixture(scope="module")
def real_terraform(tmp_path_factory) -> Terraform:
    if find_terraform() is None:
        pytest.skip("terraform is not installed (https://developer.hashicorp.com/terraform/install)")
    if not PLUGIN_MIRROR.is_dir():
        pytest.skip(f"no provider mirror at {PLUGIN_MIRROR} (set CUTOVER_TF_PLUGIN_MIRROR)")
    if not (REPO_ROOT / "build" / "functions" / "router.zip").is_file():
        pytest.skip("no build/ (run `make build`; `make test` does)")
    return Terraform.discover(cache_dir=tmp_path_factory.mktemp("tf-cache"))


def test_make_plan_shows_the_whole_release_against_the_emulator(real_terraform, tmp_path):
    out = io.StringIO()
    plan = load_plan(Layout(REPO_ROOT), "production")
    result = plan_environment(
        ENVS_DIR / "production", backend=dict(plan.backend), saved_plan=tmp_path / "p.tfplan",
        use_emulator=True, terraform=real_terraform, cache_dir=tmp_path, out=out,
    )
    text = out.getvalue()
    assert result.target == "emulator" and result.has_changes
    assert "PLAN AGAINST THE LOCAL AWS EMULATOR" in text
    assert "THE PLAN ABOVE RAN AGAINST THE LOCAL AWS EMULATOR, NOT AWS" in text
    for address in (
        "module.user_read_control.aws_lambda_function.this",
        "module.user_read_candidate.aws_lambda_alias.this",
        "module.user_read_shadow.aws_lambda_function_event_invoke_config.this",
        "module.feature_flags.aws_appconfig_deployment.this",
        "module.alarms.aws_cloudwatch_composite_alarm.rollback",
        "module.code_deploy.aws_codedeploy_deployment_group.this",
        "module.tracing.aws_xray_group.this",
    ):
        assert f"# {address}" in text, f"{address} is not in the plan"


def test_a_second_plan_after_applying_what_the_emulator_supports_is_empty(applied_release):
    # GIVEN a copy of the production root with what the emulator implements applied
    # (applied.py: SUPPORTED and a few roles more, in a copy; the checked-in root stays untouched)
    # WHEN the supported resources are planned again
    second = applied_release.terraform.run(
        applied_release.env_dir, "plan", "-detailed-exitcode", "-input=false", "-no-color",
        *(f"-target={t}" for t in SUPPORTED), ok_codes=(0, 2))
    # THEN there is nothing to do: no perpetual diff from the modules
    assert second.returncode == 0, f"drift after apply:\n{second.stdout[-4000:]}"


def _create_the_router_in_the_emulator(aws, region: str) -> None:
    """The router function and its `live` alias as the canary phase left them.

    Terraform cannot apply them here (their policy reads the flags' environment, which
    moto lacks), so they are created with the same calls and imported into state.
    """
    import boto3

    client = boto3.client("lambda", endpoint_url=aws.endpoint, region_name=region,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    version = client.create_function(
        FunctionName="huntaze-mock-read", Runtime="python3.12", Handler="router.handler.lambda_handler",
        Role=f"arn:aws:iam::{aws.account_id}:role/huntaze-mock-read", Publish=True,
        Code={"ZipFile": (REPO_ROOT / "build" / "functions" / "router.zip").read_bytes()},
        Architectures=["arm64"], MemorySize=256, Timeout=10,
    )["Version"]
    client.create_alias(FunctionName="huntaze-mock-read", Name="live", FunctionVersion=version)


def test_completing_the_release_keeps_the_entry_and_serves_the_candidate_code(real_terraform, tmp_path):
    """From canary to complete: the function and alias clients call stay (updated in place,
    now running the candidate's code); the shadow wiring and canary traces go; nothing is
    replaced."""
    import json

    from cutover import cli

    # GIVEN the production release applied in its canary phase (what the emulator supports),
    # with the router function and its alias in state
    root = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "config", root / "config")
    shutil.copytree(REPO_ROOT / "terraform" / "modules", root / "terraform" / "modules")
    shutil.copytree(REPO_ROOT / "build", root / "build")
    assert cli.main(["--root", str(root), "render", "--env", "production"]) == 0
    env_dir = root / "terraform" / "envs" / "production"
    backend = dict(load_plan(Layout(root), "production").backend)
    applied_now = [*SUPPORTED, "module.user_read_candidate.aws_lambda_function.this"]
    with LocalAWS(region=str(backend["region"])) as aws:
        prepare_backend(aws, str(backend["bucket"]), str(backend["region"]))
        tf = with_emulator(real_terraform, aws, tmp_path / "data")
        tf.init(env_dir, backend=emulator_backend(backend))
        tf.run(env_dir, "apply", "-auto-approve", "-input=false", "-no-color",
               *(f"-target={t}" for t in applied_now))
        _create_the_router_in_the_emulator(aws, str(backend["region"]))
        tf.run(env_dir, "import", "-input=false", "-no-color",
               "module.user_read_control.aws_lambda_function.this", "huntaze-mock-read")
        tf.run(env_dir, "import", "-input=false", "-no-color",
               "module.user_read_control.aws_lambda_alias.this", "huntaze-mock-read/live")
        # WHEN the spec says the release is complete
        spec = root / "config" / "production.release.yaml"
        spec.write_text(spec.read_text().replace("phase: canary", "phase: complete").replace("    enabled: true\n    schedule:", "    enabled: false\n    schedule:")
                        .replace("      percent: 1\n", "      percent: 100\n"))
        assert cli.main(["--root", str(root), "render", "--env", "production"]) == 0
        tf.run(env_dir, "plan", "-input=false", "-no-color", f"-out={tmp_path / 'complete.tfplan'}")
        changes = json.loads(tf.run(env_dir, "show", "-json", str(tmp_path / "complete.tfplan")).stdout)
    by_address = {c["address"]: c["change"] for c in changes["resource_changes"]}
    actions = {a: c["actions"] for a, c in by_address.items()}
    # THEN the function clients call and its alias are updated in place, never destroyed
    assert actions["module.user_read_control.aws_lambda_function.this"] == ["update"]
    assert actions["module.user_read_control.aws_lambda_alias.this"] in (["no-op"], ["update"])
    entry = by_address["module.user_read_control.aws_lambda_function.this"]["after"]
    assert entry["function_name"] == "huntaze-mock-read"
    assert entry["handler"] == "candidate.handler.lambda_handler"
    assert entry["publish"] is True  # a new version, for CodeDeploy to shift the alias to
    assert entry["vpc_config"][0]["subnet_ids"] == ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
    assert entry["environment"][0]["variables"]["CUTOVER_DB_HOST"].startswith("huntaze-proxy.")
    # ... what was applied of the old path's extras is deleted, and nothing is replaced
    retired = ("module.user_read_shadow.", "module.tracing.", "module.guard.",
               "module.alarms.aws_cloudwatch_metric_alarm.this[")
    deleted = sorted(a for a, act in actions.items() if act == ["delete"])
    assert deleted and all(a.startswith(retired) for a in deleted), deleted
    assert "module.user_read_shadow.aws_dynamodb_table.ledger[0]" in deleted
    for kept in ("module.user_read_control.aws_iam_role.this", "module.user_read_control.aws_cloudwatch_log_group.this",
                 "module.feature_flags.aws_appconfig_application.this"):
        assert actions[kept] != ["delete"], f"{kept} must stay"
    replaced = sorted(a for a, act in actions.items() if "delete" in act and "create" in act)
    assert replaced == [], f"replaced instead of kept: {replaced}"
