variable "name" {
  description = "State machine name (1-80 of [a-zA-Z0-9-_]); also names its role, log group and schedule."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,80}$", var.name))
    error_message = "name must be 1-80 characters of [a-zA-Z0-9-_] (Step Functions, and the role named after it)."
  }
}

variable "definition_path" {
  description = "Path of the rendered ASL definition (controller.asl.json) whose placeholders templatefile() fills in."
  type        = string
}

variable "function_arn" {
  description = "Unqualified ARN of the controller function every judgement calls."
  type        = string
}

variable "application_id" {
  description = "AppConfig application id of the flags."
  type        = string
}

variable "environment_id" {
  description = "AppConfig environment id the controller deploys to."
  type        = string
}

variable "environment_arn" {
  description = "ARN of that AppConfig environment (the role's StartDeployment)."
  type        = string
}

variable "profile_id" {
  description = "Feature flag configuration profile id."
  type        = string
}

variable "profile_arn" {
  description = "ARN of that configuration profile (the role's StartDeployment)."
  type        = string
}

variable "strategy_id" {
  description = "Id of the release's flag deployment strategy (all at once, with the spec's bake)."
  type        = string
}

variable "strategy_arn" {
  description = "ARN of that deployment strategy (the role's StartDeployment)."
  type        = string
}

variable "kms_key_arn" {
  description = "The release key: encrypts the state machine, its log group and the flag deployments."
  type        = string
}

variable "topic_arn" {
  description = "SNS topic the state machine notifies when the controller ends on a failure."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the state machine's log group (a CloudWatch Logs retention value)."
  type        = number
  default     = 365
}

variable "schedule" {
  description = "EventBridge schedule expression that starts an execution with input {\"startedBy\":\"schedule\"} (null: none)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
