variable "name_prefix" {
  description = "Prefix of every alarm name (the release name and environment)."
  type        = string
}

variable "release" {
  description = "Release name: the Release dimension of the functions' EMF metrics."
  type        = string
}

variable "metrics_namespace" {
  description = "Namespace of the functions' EMF metrics."
  type        = string
}

variable "paths" {
  description = "Read paths, keyed by path name. router_function and control_function are null once the release is complete."
  type = map(object({
    alias_name         = string
    candidate_function = string
    router_function    = optional(string)
    control_function   = optional(string)
    canary_percent     = number
    shadow_enabled     = bool
  }))
}

variable "guardrails" {
  description = "Thresholds and evaluation settings, from the spec's guardrails."
  type = object({
    error_rate_pct           = number
    p95_regression_pct       = number
    shadow_diff_pct          = number
    canary_share_min_ratio   = number
    canary_share_max_ratio   = number
    min_samples              = number
    period_seconds           = number
    evaluation_periods       = number
    datapoints_to_alarm      = number
    missing_data_error_rate  = string
    missing_data_latency     = string
    missing_data_shadow_diff = string
    missing_data_canary      = string
  })
}

variable "notification_topic_arns" {
  description = "Extra SNS topics notified on alarm, besides the topic this module creates."
  type        = list(string)
  default     = []
}

variable "notification_emails" {
  description = "Email addresses subscribed to the module's topic."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the SNS topic."
  type        = string
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
