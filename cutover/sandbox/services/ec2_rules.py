"""EC2 (signing name ``ec2``, query protocol): a security group rule's description, put
back into moto's answers.

moto keeps the ``Description`` of a rule that references another security group (it is in
the ``UserIdGroupPairs`` entry the rule was authorized with) but answers it only for a
rule with an IP range: DescribeSecurityGroupRules then shows no description, and Terraform
sees every ``aws_vpc_security_group_ingress_rule`` with a ``referenced_security_group_id``
as changed. This layer adds ``description`` to each rule of moto's answer that lacks it
(AuthorizeSecurityGroupIngress/Egress and DescribeSecurityGroupRules); everything else is
moto's, unchanged.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from ..state import SandboxState
from ..wire import Request, Response

AMENDED = ("DescribeSecurityGroupRules", "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress")


class SecurityGroupRules:
    signing_name = "ec2"

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def handle(self, request: Request) -> Response | None:
        return None

    def amend(self, request: Request, answer: Response) -> Response:
        if answer.status != 200 or request.action not in AMENDED:
            return answer
        root = ET.fromstring(answer.body)
        namespace = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
        tag = (lambda name: f"{{{namespace}}}{name}") if namespace else (lambda name: name)
        descriptions = self._descriptions()
        changed = False
        for item in root.iter(tag("item")):
            rule_id = item.findtext(tag("securityGroupRuleId"))
            if rule_id in descriptions and item.find(tag("description")) is None:
                ET.SubElement(item, tag("description")).text = descriptions[rule_id]
                changed = True
        if not changed:
            return answer
        if namespace:
            ET.register_namespace("", namespace)
        return Response(answer.status, ET.tostring(root, encoding="utf-8", xml_declaration=True), answer.headers)

    def _descriptions(self) -> dict[str, str]:
        """Rule id -> the description moto keeps with the referenced group and does not answer."""
        from moto.ec2.models import ec2_backends

        backend: Any = ec2_backends[self.state.account_id][self.state.region]
        found = {}
        for groups in list(backend.groups.values()):
            for group in list(groups.values()):
                for rule in [*group.ingress_rules, *group.egress_rules]:
                    if rule.source_group.get("Description") and not rule.description:
                        found[rule.id] = rule.source_group["Description"]
        return found
