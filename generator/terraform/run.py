"""Plan an environment (against AWS, the local emulator or a running local sandbox) and
apply exactly that saved plan.

``cutover plan --env E`` calls plan_environment; ``cutover apply --env E`` calls
apply_environment. A small JSON record beside the saved plan says where the plan was made,
so a plan made against the emulator is never applied, and a plan made against the sandbox
(``cutover sandbox up``: its state file, ``sandbox_target.find``) is applied to that same
sandbox only, never to AWS; a plan made against AWS is never applied to a sandbox.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO

from cutover.generator.terraform import flag_guard, sandbox_target
from cutover.generator.terraform.emulator import (
    DEFAULT_ACCOUNT_ID,
    EmulatorError,
    LocalAWS,
    RunningEmulator,
    has_aws_credentials,
    prepare_backend,
)
from cutover.generator.terraform.toolchain import ToolchainError, require_terraform
from cutover.generator.terraform.wrapper import DEFAULT_CACHE_DIR, Terraform, TerraformError
from cutover.runtime import live

Target = Literal["emulator", "aws", "sandbox"]
RECORD_SUFFIX = ".target.json"
# Backend settings that point at a real account; dropped from the overrides under the emulator.
REAL_ACCOUNT_BACKEND_KEYS = frozenset(
    {"profile", "shared_credentials_files", "shared_config_files", "assume_role", "role_arn",
     "assume_role_with_web_identity", "endpoints", "allowed_account_ids"}
)


class ApplyRefused(RuntimeError):
    """The saved plan must not be applied; the CLI exits with `exit_code`."""

    exit_code = 2


class FlagDeploymentInProgress(ApplyRefused):
    """A flag deployment deploys or bakes: apply the same plan again once it is done."""

    exit_code = 3


@dataclass(frozen=True)
class PlanResult:
    env: str
    target: Target
    saved_plan: Path
    record: Path
    has_changes: bool
    endpoint: str | None = None  # the emulator's, while it ran
    account_id: str | None = None


def record_path(saved_plan: Path) -> Path:
    """Where the record of a saved plan lives: `<plan>.target.json` beside it."""
    return saved_plan.with_name(saved_plan.name + RECORD_SUFFIX)


def banner(title: str, detail: str) -> str:
    rule = "=" * max(72, len(title) + 4, len(detail) + 4)
    return f"\n{rule}\n  {title}\n  {detail}\n{rule}\n"


def plan_environment(
    env_dir: Path,
    *,
    backend: Mapping[str, Any],
    saved_plan: Path,
    use_emulator: bool | None = None,
    env: str | None = None,
    terraform: Terraform | None = None,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    emulator_account_id: str = DEFAULT_ACCOUNT_ID,
    out: TextIO | None = None,
    sandbox: sandbox_target.SandboxTarget | None = None,
) -> PlanResult:
    """Init `env_dir` with `backend` (-backend-config values) and save a plan to `saved_plan`.

    `sandbox` (a running local sandbox of this environment) wins unless the emulator is
    asked for. `use_emulator` None decides by itself: the emulator when no AWS credentials
    are found. `emulator_account_id` is the account moto pretends to be.
    """
    out = out or sys.stdout
    env = env or env_dir.name
    terraform = terraform or require_terraform(cache_dir)
    if sandbox is not None and not use_emulator:
        return _plan_on_sandbox(terraform, env_dir, backend, saved_plan, env=env, sandbox=sandbox,
                                cache_dir=cache_dir, out=out)
    if use_emulator is None:
        use_emulator = not has_aws_credentials()
        reason = "no AWS credentials found"
    else:
        reason = "emulator requested"
    record = record_path(saved_plan)
    record.unlink(missing_ok=True)
    saved_plan.unlink(missing_ok=True)
    saved_plan.parent.mkdir(parents=True, exist_ok=True)
    data_dir = (cache_dir / "data" / f"{env}-{'emulator' if use_emulator else 'aws'}").resolve()

    if use_emulator:
        result = _plan_on_emulator(terraform, env_dir, backend, saved_plan, env=env, reason=reason,
                                   data_dir=data_dir, account_id=emulator_account_id, out=out)
    else:
        result = _plan_on_aws(terraform, env_dir, backend, saved_plan, env=env, data_dir=data_dir, out=out)
    _write_record(result, env, data_dir)
    out.write(f"saved plan: {saved_plan} (target={result.target}, record={record})\n")
    if result.target == "emulator":  # said again after a long plan, where the reader now is
        out.write(banner(
            "THE PLAN ABOVE RAN AGAINST THE LOCAL AWS EMULATOR, NOT AWS",
            f"env={env}: `make apply` refuses it; plan with AWS credentials to apply",
        ))
    return result


def _plan_on_emulator(terraform: Terraform, env_dir: Path, backend: Mapping[str, Any], saved_plan: Path, *,
                      env: str, reason: str, data_dir: Path, account_id: str, out: TextIO) -> PlanResult:
    if not backend.get("bucket") or not backend.get("region"):
        raise ValueError(
            f"env={env}: planning against the emulator needs backend bucket and region "
            f"to create the state bucket there; got backend={dict(backend)}"
        )
    with LocalAWS(region=str(backend["region"]), account_id=account_id) as aws:
        prepare_backend(aws, str(backend["bucket"]), str(backend["region"]),
                        lock_table=backend.get("dynamodb_table"))
        out.write(banner(
            f"PLAN AGAINST THE LOCAL AWS EMULATOR (moto on 127.0.0.1:{aws.port})",
            f"env={env}: {reason}; nothing here touches AWS",
        ))
        has_changes = _init_and_plan(
            with_emulator(terraform, aws, data_dir), env_dir,
            emulator_backend(backend), saved_plan, out,
        )
        return PlanResult(env, "emulator", saved_plan, record_path(saved_plan), has_changes, aws.endpoint)


def _prepared(saved_plan: Path, cache_dir: Path, env: str, where: str) -> Path:
    record_path(saved_plan).unlink(missing_ok=True)
    saved_plan.unlink(missing_ok=True)
    saved_plan.parent.mkdir(parents=True, exist_ok=True)
    return (cache_dir / "data" / f"{env}-{where}").resolve()


def sandbox_emulator(sandbox: sandbox_target.SandboxTarget) -> RunningEmulator:
    """The sandbox seen as an endpoint with fake credentials (the emulator's settings)."""
    return RunningEmulator(sandbox.endpoint, sandbox.region, sandbox.account_id, Path(sandbox.log))


def _plan_on_sandbox(terraform: Terraform, env_dir: Path, backend: Mapping[str, Any], saved_plan: Path, *,
                     env: str, sandbox: sandbox_target.SandboxTarget, cache_dir: Path, out: TextIO) -> PlanResult:
    if not backend.get("bucket") or not backend.get("region"):
        raise ValueError(f"env={env}: planning against the sandbox needs backend bucket and region; "
                         f"got backend={dict(backend)}")
    data_dir = _prepared(saved_plan, cache_dir, env, "sandbox")
    aws = sandbox_emulator(sandbox)
    prepare_backend(aws, str(backend["bucket"]), str(backend["region"]), lock_table=backend.get("dynamodb_table"))
    out.write(banner(f"PLAN AGAINST THE LOCAL SANDBOX ({sandbox.endpoint}, pid {sandbox.pid})",
                     f"env={env}: a running `cutover sandbox`; nothing here touches AWS"))
    has_changes = _init_and_plan(with_emulator(terraform, aws, data_dir), env_dir, emulator_backend(backend),
                                 saved_plan, out)
    result = PlanResult(env, "sandbox", saved_plan, record_path(saved_plan), has_changes, sandbox.endpoint,
                        sandbox.account_id)
    _write_record(result, env, data_dir, sandbox)
    out.write(f"saved plan: {saved_plan} (target=sandbox, record={result.record})\n")
    out.write(banner("THE PLAN ABOVE RAN AGAINST THE LOCAL SANDBOX, NOT AWS",
                     f"env={env}: `make apply ENV={env}` applies it to that sandbox only"))
    return result


def _plan_on_aws(terraform: Terraform, env_dir: Path, backend: Mapping[str, Any], saved_plan: Path, *,
                 env: str, data_dir: Path, out: TextIO) -> PlanResult:
    account_id, region = _caller_account(backend)
    out.write(banner(
        f"PLAN AGAINST AWS account {account_id} region {region}",
        f"env={env}: this plan reads the real account; apply it with `make apply ENV={env}`",
    ))
    tf = dataclasses.replace(terraform, data_dir=data_dir)
    has_changes = _init_and_plan(tf, env_dir, backend, saved_plan, out)
    return PlanResult(env, "aws", saved_plan, record_path(saved_plan), has_changes, None, account_id)


def _write_record(result: PlanResult, env: str, data_dir: Path,
                  sandbox: sandbox_target.SandboxTarget | None = None) -> None:
    """Beside the saved plan: where it was planned, so `apply` can refuse an emulator plan
    and apply a sandbox plan to that sandbox only."""
    result.record.write_text(json.dumps({
        **({"sandbox": {"endpoint": sandbox.endpoint, "pid": sandbox.pid}} if sandbox else {}),
        "target": result.target,
        "env": env,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "account_id": result.account_id,
        "data_dir": str(data_dir),
        "plan_sha256": _sha256(result.saved_plan),
    }, indent=2) + "\n")


def apply_environment(
    env_dir: Path,
    *,
    saved_plan: Path,
    env: str | None = None,
    terraform: Terraform | None = None,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    out: TextIO | None = None,
    appconfig: Any = None,
) -> None:
    """Apply exactly `saved_plan`; raise ApplyRefused unless it was planned against AWS,
    and FlagDeploymentInProgress while a flag deployment of its environment runs."""
    out = out or sys.stdout
    env = env or env_dir.name
    record = _read_record(saved_plan, env)
    if record["target"] == "sandbox":
        _apply_on_sandbox(env_dir, saved_plan, record, env=env, terraform=terraform, cache_dir=cache_dir, out=out,
                          appconfig=appconfig)
        return
    if record["target"] != "aws":
        raise ApplyRefused(
            f"env={env}: refusing to apply {saved_plan}: it was planned against the local "
            "AWS emulator, and the local emulator does not implement AppConfig environments "
            f"and deployments; run `make plan ENV={env}` with AWS credentials, review, then "
            f"`make apply ENV={env}`"
        )
    if not has_aws_credentials():
        raise ApplyRefused(
            f"env={env}: no AWS credentials found; set them (AWS_PROFILE, environment "
            f"variables or ~/.aws) and run `make apply ENV={env}` again"
        )
    _refuse_a_sandbox_endpoint(env_dir, env)
    terraform = terraform or require_terraform(cache_dir)
    out.write(banner(
        f"APPLY TO AWS account {record.get('account_id') or 'unknown'}",
        f"env={env}: saved plan {saved_plan} made {record.get('created_at')}",
    ))
    tf = dataclasses.replace(terraform, data_dir=Path(record["data_dir"]))
    _refuse_during_a_flag_deployment(tf, env_dir, saved_plan, env, appconfig)
    tf.apply(env_dir, saved_plan, stream=out)


def _refuse_a_sandbox_endpoint(env_dir: Path, env: str) -> None:
    """A plan made against AWS must not reach a sandbox through an exported AWS_ENDPOINT_URL."""
    import os

    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    running = sandbox_target.find(env_dir.parents[2], env) if len(env_dir.parents) > 2 else None
    if endpoint and running is not None and endpoint.rstrip("/") == running.endpoint.rstrip("/"):
        raise ApplyRefused(
            f"env={env}: this plan was made against AWS but AWS_ENDPOINT_URL points at the local sandbox "
            f"({endpoint}); unset it to apply to AWS, or `make plan ENV={env}` again to plan against the sandbox")


def _apply_on_sandbox(env_dir: Path, saved_plan: Path, record: dict[str, Any], *, env: str,
                      terraform: Terraform | None, cache_dir: Path, out: TextIO, appconfig: Any) -> None:
    planned = record.get("sandbox") or {}
    running = sandbox_target.find(env_dir.parents[2], env) if len(env_dir.parents) > 2 else None
    if running is None or running.endpoint != planned.get("endpoint") or running.pid != planned.get("pid"):
        raise ApplyRefused(
            f"env={env}: {saved_plan} was planned against a local sandbox ({planned.get('endpoint')}) that is "
            f"no longer running; a sandbox plan is never applied to AWS: `make plan ENV={env}` again")
    terraform = terraform or require_terraform(cache_dir)
    aws = sandbox_emulator(running)
    out.write(banner(f"APPLY TO THE LOCAL SANDBOX ({running.endpoint}, pid {running.pid}), NOT AWS",
                     f"env={env}: saved plan {saved_plan} made {record.get('created_at')}"))
    tf = with_emulator(terraform, aws, Path(record["data_dir"]))
    if appconfig is None:
        import boto3

        appconfig = boto3.client("appconfig", region_name=running.region, endpoint_url=running.endpoint,
                                 aws_access_key_id="testing", aws_secret_access_key="testing")
    _refuse_during_a_flag_deployment(tf, env_dir, saved_plan, env, appconfig)
    tf.apply(env_dir, saved_plan, stream=out)


def _refuse_during_a_flag_deployment(tf: Terraform, env_dir: Path, saved_plan: Path, env: str,
                                     appconfig: Any) -> None:
    show = json.loads(tf.run(env_dir, "show", "-json", "-no-color", str(saved_plan)).stdout or "{}")
    planned = flag_guard.planned_flag_deployment(show)
    if planned is None:
        return
    region, application, environment = planned
    if appconfig is None:
        import boto3

        appconfig = boto3.client("appconfig", region_name=region)
    running = live.deployment_in_progress(appconfig, application, environment)
    if running is not None:
        raise FlagDeploymentInProgress(flag_guard.refusal(env, application, environment, running))


def plan_command(env_dir: Path, *, backend: Mapping[str, Any], saved_plan: Path,
                 use_emulator: bool | None = None, **options: Any) -> int:
    """`cutover plan`: plan_environment with its errors printed; the process exit code."""
    try:
        plan_environment(env_dir, backend=backend, saved_plan=saved_plan,
                         use_emulator=use_emulator, **options)
    except TerraformError as error:
        print(f"cutover: {error}", file=sys.stderr)
        return 1
    except (ToolchainError, EmulatorError, ValueError) as error:
        print(f"cutover: {error}", file=sys.stderr)
        return 2
    return 0


def apply_command(env_dir: Path, *, saved_plan: Path, **options: Any) -> int:
    """`cutover apply`: apply_environment with its errors printed; the process exit code."""
    try:
        apply_environment(env_dir, saved_plan=saved_plan, **options)
    except ApplyRefused as refused:
        print(f"cutover: {refused}", file=sys.stderr)
        return refused.exit_code
    except TerraformError as error:
        print(f"cutover: {error}", file=sys.stderr)
        return 1
    except ToolchainError as error:
        print(f"cutover: {error}", file=sys.stderr)
        return 2
    return 0


def emulator_backend(backend: Mapping[str, Any]) -> dict[str, Any]:
    """The -backend-config values for the emulator: the same state key, path-style S3."""
    values = {k: v for k, v in backend.items() if k not in REAL_ACCOUNT_BACKEND_KEYS}
    values["use_path_style"] = True
    return values


def with_emulator(terraform: Terraform, aws: RunningEmulator, data_dir: Path) -> Terraform:
    return dataclasses.replace(
        terraform,
        env={**terraform.env, **aws.env()},
        unset=(*terraform.unset, *aws.unset()),
        data_dir=data_dir,
    )


def _init_and_plan(
    tf: Terraform, env_dir: Path, backend: Mapping[str, Any], saved_plan: Path, out: TextIO
) -> bool:
    out.write(f"terraform init -chdir={env_dir} (data dir {tf.data_dir})\n")
    tf.init(env_dir, backend=dict(backend) if backend else True, reconfigure=True)
    return tf.plan(env_dir, saved_plan, stream=out)


def _caller_account(backend: Mapping[str, Any]) -> tuple[str, str]:
    import boto3
    import botocore.exceptions

    session = boto3.session.Session()
    region = session.region_name or str(backend.get("region") or "unknown")
    try:
        account_id = session.client("sts").get_caller_identity()["Account"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        # shown, not fatal: terraform reports the real problem
        account_id = f"unknown ({type(error).__name__})"
    return account_id, region


def _read_record(saved_plan: Path, env: str) -> dict[str, Any]:
    record = record_path(saved_plan)
    if not saved_plan.is_file():
        raise ApplyRefused(f"env={env}: no saved plan at {saved_plan}; run `make plan ENV={env}`")
    if not record.is_file():
        raise ApplyRefused(
            f"env={env}: {saved_plan} has no record of where it was planned ({record}); "
            f"run `make plan ENV={env}` again"
        )
    data = json.loads(record.read_text())
    if data.get("plan_sha256") != _sha256(saved_plan) or data.get("env") != env:
        raise ApplyRefused(
            f"env={env}: {record} does not describe {saved_plan} (other plan or environment); "
            f"run `make plan ENV={env}` again"
        )
    return data


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
