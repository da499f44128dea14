variable "application_name" {
  description = "CodeDeploy application name (compute platform Lambda)."
  type        = string
}

variable "deployment_config" {
  description = "Deployment configuration: a predefined name (custom = false), or a custom TimeBasedCanary / TimeBasedLinear created under that name."
  type = object({
    name             = string
    custom           = bool
    type             = optional(string)
    percentage       = optional(number)
    interval_minutes = optional(number)
  })
}

variable "deployment_groups" {
  description = "One deployment group per function alias that CodeDeploy shifts, keyed by group name."
  type = map(object({
    function_name = string
    alias_name    = string
  }))
}

variable "alarm_names" {
  description = "CloudWatch alarms that stop and roll back a deployment (at most 10)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
