"""What AWS owns and a release only names, put into the in-process moto before an apply.

The ids must be the spec's own (``vpc-0a1b...``): moto draws random ids, so its id
functions are replaced for the duration of each create.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CIDR = "10.42.0.0/16"


def seed_public_parameters(region: str, account_id: str) -> None:
    """The AppConfig agent layer's public parameter, seeded as the plan emulator seeds it
    (emulator.seed_public_parameters), and the layer version it names (CreateFunction
    checks that a layer exists). Once only: a second call finds them."""
    from moto.ssm.models import ssm_backends

    from cutover.generator.terraform import emulator

    parameters = emulator.public_parameters(region, account_id)
    if any(name in ssm_backends[account_id][region]._parameters for name in parameters):
        return
    emulator.seed_public_parameters(region, account_id)
    for arn in parameters.values():
        seed_layer(region, account_id, arn)


def seed_layer(region: str, account_id: str, arn: str) -> None:
    """The layer a public parameter names (AWS publishes the AppConfig agent as a layer of its
    own account; the parameter the sandbox seeds names one in the sandbox's account, which
    CreateFunction checks exists)."""
    import base64
    import io
    import zipfile

    from moto.awslambda.models import lambda_backends

    backend = lambda_backends[account_id][region]
    if backend.layers_versions_by_arn(arn) is not None:
        return
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("extensions/appconfig-agent", "#!/bin/sh\n")
    arch = "arm64" if arn.split(":layer:")[1].split(":")[0].endswith("Arm64") else "x86_64"
    backend.publish_layer_version({
        "LayerName": arn.split(":layer:")[1].split(":")[0], "Description": "AppConfig agent (sandbox stand-in)",
        "Content": {"ZipFile": base64.b64encode(buffer.getvalue()).decode()},
        "CompatibleArchitectures": [arch]})


@contextmanager
def _ids(module: Any, function: str, value: str) -> Iterator[None]:
    saved = getattr(module, function)
    setattr(module, function, lambda *a, **k: value)
    try:
        yield
    finally:
        setattr(module, function, saved)


def seed_network(region: str, account_id: str, network: dict[str, Any]) -> None:
    """``network``: vpc_id, subnet_ids, security_group_ids, route_table_ids (any may be absent)."""
    from moto.ec2.models import ec2_backends, route_tables, security_groups, subnets, vpcs

    ec2 = ec2_backends[account_id][region]
    vpc_id = network.get("vpc_id") or "vpc-0sandbox000000000"
    if vpc_id not in ec2.vpcs:
        with _ids(vpcs, "random_vpc_id", vpc_id):
            ec2.create_vpc(CIDR)
    zones = [z.name for z in ec2.describe_availability_zones()]
    for n, subnet_id in enumerate(network.get("subnet_ids") or []):
        if subnet_id not in {s.id for s in ec2.describe_subnets()}:
            with _ids(subnets, "random_subnet_id", subnet_id):
                ec2.create_subnet(vpc_id, f"10.42.{n}.0/24", availability_zone=zones[n % len(zones)])
    for group_id in network.get("security_group_ids") or []:
        if group_id not in {g.id for g in ec2.describe_security_groups()}:
            with _ids(security_groups, "random_security_group_id", group_id):
                ec2.create_security_group(f"sandbox-{group_id}", "seeded by the sandbox", vpc_id=vpc_id)
    for table_id in network.get("route_table_ids") or []:
        if table_id not in ec2.route_tables:
            with _ids(route_tables, "random_route_table_id", table_id):
                ec2.create_route_table(vpc_id)


def network_of(root: Path, env: str) -> dict[str, Any]:
    """The network a release spec names (its database's subnets and security groups, the
    VPC endpoints' VPC and route tables), from config/<env>.release.yaml."""
    from cutover.generator.workspace import Layout, load_env_spec

    spec, _ = load_env_spec(Layout(root), env)
    found: dict[str, Any] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("vpc_id", "subnet_ids", "security_group_ids", "route_table_ids") and value:
                    found.setdefault(key, value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(spec.model_dump())
    return found
