output "application_name" {
  description = "Name of the CodeDeploy application."
  value       = aws_codedeploy_app.this.name
}

output "deployment_config_name" {
  description = "Deployment configuration the groups use (custom or predefined)."
  value       = var.deployment_config.custom ? aws_codedeploy_deployment_config.this[0].id : var.deployment_config.name
}

output "deployment_group_names" {
  description = "Deployment group names, keyed like var.deployment_groups."
  value       = { for k, g in aws_codedeploy_deployment_group.this : k => g.deployment_group_name }
}

output "service_role_arn" {
  description = "ARN of the CodeDeploy service role."
  value       = aws_iam_role.this.arn
}
