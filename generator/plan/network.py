"""VPC endpoints: how the functions in a VPC reach DynamoDB and X-Ray (one module call per VPC).

A Lambda function in a VPC reaches AWS APIs only through a NAT gateway or VPC endpoints
(docs/aws-rules.md, Lambda). The spec says which per database
(`database.vpc_endpoints.mode`); read paths in the same VPC share one call.
"""

from __future__ import annotations

from cutover.generator.plan.modules import UNSET, ModuleCall, VpcEndpointsArgs, vpc_endpoints
from cutover.generator.spec.model import ReleaseSpec


def vpc_endpoint_calls(spec: ReleaseSpec, prefix: str) -> list[ModuleCall]:
    by_vpc: dict[str, dict[str, object]] = {}
    for path in spec.read_paths:
        db = path.database
        if db is None or db.vpc_endpoints.mode == "nat":
            continue
        ep = db.vpc_endpoints
        entry = by_vpc.setdefault(ep.vpc_id or "", {
            "mode": ep.mode, "services": {"xray"}, "route_table_ids": set(), "subnet_ids": set(), "sgs": set()})
        if spec.phase != "complete" and path.shadow.enabled:
            entry["services"].add("dynamodb")  # the shadow ledger
        entry["route_table_ids"].update(ep.route_table_ids)
        entry["subnet_ids"].update(db.subnet_ids)
        entry["sgs"].update(db.security_group_ids)
    calls = []
    for vpc_id, entry in sorted(by_vpc.items()):
        create = entry["mode"] == "create"
        args = VpcEndpointsArgs(
            name_prefix=f"{prefix}-{vpc_id}"[:255],
            mode=entry["mode"],
            vpc_id=vpc_id,
            services=sorted(entry["services"]),
            # only `create` makes endpoints here; the others leave these to the module's default
            route_table_ids=sorted(entry["route_table_ids"]) if create else UNSET,
            subnet_ids=sorted(entry["subnet_ids"]) if create else UNSET,
            client_security_group_ids=sorted(entry["sgs"]) if create else UNSET,
        )
        calls.append(ModuleCall(
            at=vpc_endpoints(vpc_id),
            comment=f"How the candidate in {vpc_id} reaches {', '.join(sorted(entry['services']))} ({entry['mode']}).",
            args=args,
        ))
    return calls
