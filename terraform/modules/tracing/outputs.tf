output "group_arn" {
  description = "ARN of the X-Ray group of canary traces."
  value       = aws_xray_group.this.arn
}

output "sampling_rule_arn" {
  description = "ARN of the sampling rule of the first canary service (null when there is none); see sampling_rule_arns for all."
  value       = length(var.canary_service_names) > 0 ? aws_xray_sampling_rule.canary[var.canary_service_names[0]].arn : null
}

output "sampling_rule_arns" {
  description = "ARNs of the canary sampling rules, keyed by service name."
  value       = { for k, r in aws_xray_sampling_rule.canary : k => r.arn }
}
