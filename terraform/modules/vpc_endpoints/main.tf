# How functions in a VPC reach the AWS services they call: a Lambda function in a VPC
# has no route to AWS APIs except through a NAT gateway or VPC endpoints ("Giving
# Lambda functions access to resources in an Amazon VPC", docs/aws-rules.md).
# DynamoDB takes a gateway endpoint (a route, no charge); X-Ray and the others take
# interface endpoints (PrivateLink, private DNS) in the functions' subnets.

data "aws_region" "current" {}

locals {
  region    = data.aws_region.current.id # region name in provider 5.x and 6.x
  create    = var.mode == "create"
  gateway   = contains(var.services, "dynamodb")
  interface = toset([for s in var.services : s if s != "dynamodb"])
}

################################################################################
# create
################################################################################

resource "aws_vpc_endpoint" "dynamodb" {
  count = local.create && local.gateway ? 1 : 0

  vpc_id            = var.vpc_id
  service_name      = "com.amazonaws.${local.region}.dynamodb"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = var.route_table_ids

  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(var.route_table_ids) > 0
      error_message = "A DynamoDB gateway endpoint needs the route tables of the functions' subnets."
    }
  }
}

resource "aws_security_group" "endpoints" {
  count = local.create && length(local.interface) > 0 ? 1 : 0

  name        = "${var.name_prefix}-endpoints"
  description = "Interface endpoints of ${var.name_prefix}: HTTPS from the functions only."
  vpc_id      = var.vpc_id

  tags = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "https" {
  for_each = local.create && length(local.interface) > 0 ? toset(var.client_security_group_ids) : toset([])

  security_group_id            = aws_security_group.endpoints[0].id
  description                  = "HTTPS from the functions' security group ${each.value}"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443

  tags = var.tags
}

resource "aws_vpc_endpoint" "interface" {
  for_each = local.create ? local.interface : toset([])

  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.${local.region}.${each.value}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = var.subnet_ids
  security_group_ids  = [aws_security_group.endpoints[0].id]
  private_dns_enabled = true

  tags = var.tags
}

################################################################################
# existing: the plan fails when the VPC lacks one (the data source finds nothing)
################################################################################

data "aws_vpc_endpoint" "existing" {
  for_each = local.create ? toset([]) : toset(var.services)

  vpc_id       = var.vpc_id
  service_name = "com.amazonaws.${local.region}.${each.value}"
  state        = "available"
}
