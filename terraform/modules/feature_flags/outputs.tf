output "application_id" {
  description = "AppConfig application ID."
  value       = aws_appconfig_application.this.id
}

output "application_arn" {
  description = "AppConfig application ARN."
  value       = aws_appconfig_application.this.arn
}

output "environment_id" {
  description = "AppConfig environment ID."
  value       = aws_appconfig_environment.this.environment_id
}

output "environment_arn" {
  description = "AppConfig environment ARN."
  value       = aws_appconfig_environment.this.arn
}

output "profile_id" {
  description = "Configuration profile ID."
  value       = aws_appconfig_configuration_profile.this.configuration_profile_id
}

output "profile_arn" {
  description = "Configuration profile ARN."
  value       = aws_appconfig_configuration_profile.this.arn
}

output "deployment_number" {
  description = "Number of the deployment of the current document."
  value       = aws_appconfig_deployment.this.deployment_number
}

output "extension_layer_arn" {
  description = "AppConfig Agent Lambda extension layer for this region and var.extension_architecture."
  value       = local.extension_layer_arn

  precondition {
    condition     = local.extension_layer_arn != null
    error_message = "No AppConfig extension layer is known for region ${local.region} / ${var.extension_architecture}: add it to local.extension_layers in terraform/modules/feature_flags/main.tf (from the AWS AppConfig user guide page on the extension's versions)."
  }
}

output "configuration_arn" {
  description = "ARN the router's role may read with appconfig:StartConfigurationSession / GetLatestConfiguration."
  value       = "arn:${local.partition}:appconfig:${local.region}:${local.account_id}:application/${aws_appconfig_application.this.id}/environment/${aws_appconfig_environment.this.environment_id}/configuration/${aws_appconfig_configuration_profile.this.configuration_profile_id}"
}

output "guard_strategy_id" {
  description = "Id of the guard's all-at-once, no-bake deployment strategy (null without one)."
  value       = one(aws_appconfig_deployment_strategy.guard[*].id)
}
