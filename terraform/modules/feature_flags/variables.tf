variable "application_name" {
  description = "AppConfig application name."
  type        = string
}

variable "environment_name" {
  description = "AppConfig environment name."
  type        = string
}

variable "profile_name" {
  description = "Name of the AWS.AppConfig.FeatureFlags configuration profile."
  type        = string
}

variable "description" {
  description = "Description shown on the application, environment and profile."
  type        = string
  default     = "Managed by cutover"
}

variable "document_path" {
  description = "Path of the rendered AWS.AppConfig.FeatureFlags document (JSON)."
  type        = string
}

variable "kept_documents_path" {
  description = "Path of a JSON file {\"documents\": [...]} holding every flag document a ramp or a rollback may deploy; each becomes a hosted version that stays."
  type        = string
}

variable "guard_strategy_name" {
  description = "Name of the all-at-once, no-bake strategy the guard function and `cutover rollback` deploy with (null: none)."
  type        = string
  default     = null
}

variable "controller_enabled" {
  description = "The controller deploys the flags step by step: Terraform deploys the document only when this changes (and on the first apply)."
  type        = bool
  default     = false
}

variable "strategy" {
  description = "AppConfig deployment strategy for flag changes."
  type = object({
    name               = string
    growth_type        = string
    growth_factor      = number
    duration_minutes   = number
    final_bake_minutes = number
  })
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the hosted configuration and deployments."
  type        = string
}

variable "extension_architecture" {
  description = "Architecture of the functions that use the AppConfig Lambda extension (x86_64 or arm64)."
  type        = string
  default     = "x86_64"
}

variable "extension_layer_parameter" {
  description = "SSM public parameter holding the AppConfig Agent Lambda extension layer ARN of the provider's region; {architecture} becomes var.extension_architecture."
  type        = string
  default     = "/aws/service/appconfig/extension/{architecture}/latest"
}

variable "extension_layer_arn" {
  description = "The AppConfig Agent Lambda extension layer to use instead of the public parameter's (null: read the parameter)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
