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
    condition     = can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", local.extension_layer_arn))
    error_message = "The AppConfig extension layer is not a layer version ARN: ${local.extension_layer_arn} (from ${var.extension_layer_arn == null ? "the public parameter" : "var.extension_layer_arn"})."
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

output "strategy_id" {
  description = "Id of the release's flag deployment strategy (what a ramp and the controller deploy with)."
  value       = aws_appconfig_deployment_strategy.this.id
}

output "strategy_arn" {
  description = "ARN of the release's flag deployment strategy."
  value       = aws_appconfig_deployment_strategy.this.arn
}
