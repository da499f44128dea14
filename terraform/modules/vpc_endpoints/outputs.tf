output "endpoint_ids" {
  description = "VPC endpoint id per service (created or found)."
  value = merge(
    { for s, e in aws_vpc_endpoint.interface : s => e.id },
    { for e in aws_vpc_endpoint.dynamodb : "dynamodb" => e.id },
    { for s, e in data.aws_vpc_endpoint.existing : s => e.id },
  )
}
